"""Loading documents: one loader per format, tiny fixtures, generated PDFs and the real corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fpdf import FPDF

from assistant.errors import IngestError, UnsupportedFormatError
from assistant.ingest import SUPPORTED_SUFFIXES, catalog, load_document
from assistant.ingest.catalog import CATALOG_FILE, read_catalog, write_entry
from assistant.ingest.furniture import is_page_number, is_toc_line
from assistant.ingest.text import Outline
from assistant.types import Document

DATA = Path(__file__).parent / "data"
CORPUS = Path(__file__).resolve().parent.parent / "corpus"
BLEKINGE = "blekinge-integrationsstrategi-2023-2026.txt"
KRONOBERG = "kronoberg-sok-rapport-2019-2024.md"
HEADER = "Integrationsstrategi Blekinge 2023-2026"


def _texts(document: Document, kind: str | None = None) -> list[str]:
    return [b.text for b in document.blocks if kind is None or b.kind == kind]


def _all_text(document: Document) -> str:
    return "\n".join(_texts(document))


# --- PDF --------------------------------------------------------------------------------------

PAGES = [
    ("1 Inledning", "Strategin beskriver hur länets aktörer samverkar kring mottagande och "
     "etablering av nyanlända. Den gäller för åren 2023 till 2026 och följs upp varje år av "
     "beredningsgruppen."),
    ("2 Ansvarsfördelning", "Försäkringskassan betalar ut etableringsersättningen som "
     "Arbetsförmedlingen beslutat om samt beslutar om och betalar ut etableringstillägg och "
     "bostadsersättning till individen. Kommunerna ska erbjuda svenska för invandrare och "
     "samhällsorientering till nyanlända."),
    None,  # a page with no text layer, as a scanned page would be
    ("3 Uppföljning", "Uppföljningen samordnas av Länsstyrelsen som återrapporterar till "
     "Integrationsrådet samt till regeringen genom myndighetens årsredovisning."),
]


def _write_pdf(path: Path, pages: list[tuple[str, str] | None]) -> Path:
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        if page is None:
            continue
        heading, body = page
        pdf.set_font("Helvetica", size=9)
        pdf.set_xy(20, 10)
        pdf.cell(0, 5, HEADER)
        pdf.set_font("Helvetica", "B", 14)
        pdf.set_xy(20, 30)
        pdf.cell(0, 8, heading)
        pdf.set_font("Helvetica", size=11)
        pdf.set_xy(20, 45)
        pdf.multi_cell(170, 6, body)
        pdf.set_font("Helvetica", size=9)
        pdf.set_xy(100, 280)
        pdf.cell(10, 5, str(number))
    pdf.output(str(path))
    return path


@pytest.fixture
def pdf_document(tmp_path: Path) -> Document:
    return load_document(_write_pdf(tmp_path / "strategi.pdf", PAGES), "strategi.pdf")


def test_pdf_keeps_page_numbers_and_sections(pdf_document: Document) -> None:
    assert pdf_document.doc == "strategi.pdf"
    assert pdf_document.pages == 4
    assert pdf_document.title == "1 Inledning"
    summary = [(b.kind, b.page, b.section) for b in pdf_document.blocks]
    assert summary == [
        ("heading", 1, ("1 Inledning",)),
        ("paragraph", 1, ("1 Inledning",)),
        ("heading", 2, ("2 Ansvarsfördelning",)),
        ("paragraph", 2, ("2 Ansvarsfördelning",)),
        ("heading", 4, ("3 Uppföljning",)),
        ("paragraph", 4, ("3 Uppföljning",)),
    ]


def test_pdf_joins_wrapped_lines_into_one_paragraph(pdf_document: Document) -> None:
    assert pdf_document.blocks[3].text == PAGES[1][1]  # type: ignore[index]


def test_pdf_drops_running_header_and_page_numbers(pdf_document: Document) -> None:
    text = _all_text(pdf_document)
    assert HEADER not in text
    assert not any(is_page_number(t) for t in _texts(pdf_document))
    assert all(not b.text.endswith((" 1", " 2", " 4")) for b in pdf_document.blocks)


def test_pdf_reports_a_page_without_text(pdf_document: Document) -> None:
    assert pdf_document.problems == ("page 3: no text extracted — scanned?",)
    assert 3 not in {b.page for b in pdf_document.blocks}


def test_pdf_with_no_text_at_all_is_reported_page_by_page(tmp_path: Path) -> None:
    document = load_document(_write_pdf(tmp_path / "scan.pdf", [None, None]), "scan.pdf")
    assert document.blocks == ()
    assert document.pages == 2
    assert [p.split(":")[0] for p in document.problems] == ["page 1", "page 2"]
    assert all("no text extracted" in p for p in document.problems)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a valid PDF: the file is empty"),
        (b"this is not a pdf at all", "not a valid PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "not a valid PDF"),
    ],
)
def test_broken_pdf_is_an_ingest_error(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason) as info:
        load_document(path, "broken.pdf")
    assert str(info.value).startswith("broken.pdf: ")


def test_password_protected_pdf_is_an_ingest_error(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 5, "Sekretess")
    pdf.set_encryption(owner_password="ägare", user_password="hemligt")
    pdf.output(str(tmp_path / "locked.pdf"))
    with pytest.raises(IngestError, match="locked.pdf: the PDF is password-protected"):
        load_document(tmp_path / "locked.pdf", "locked.pdf")


def test_truncated_pdf_is_an_ingest_error(tmp_path: Path) -> None:
    whole = _write_pdf(tmp_path / "whole.pdf", PAGES).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    try:
        document = load_document(path, "cut.pdf")
    except IngestError as exc:
        assert "cut.pdf" in str(exc)
    else:  # pypdf may recover what it can; then nothing may be silently lost
        assert document.pages is not None
        pages_with_text = {b.page for b in document.blocks}
        missing = set(range(1, document.pages + 1)) - pages_with_text
        assert all(any(p.startswith(f"page {n}:") for p in document.problems) for n in missing)


# --- Markdown, HTML, plain text fixtures ------------------------------------------------------


def test_markdown_fixture() -> None:
    document = load_document(DATA / "sample.md", "sample.md")
    assert document.title == "Regional överenskommelse"
    assert document.pages is None and document.problems == ()
    headings = [(b.text, b.section) for b in document.blocks if b.kind == "heading"]
    assert headings == [
        ("Regional överenskommelse", ("Regional överenskommelse",)),
        ("Rapport om resultat 2019–2024",
         ("Regional överenskommelse", "Rapport om resultat 2019–2024")),
        ("Sammanfattning", ("Sammanfattning",)),
        ("Styrgrupper", ("Sammanfattning", "Styrgrupper")),
        ("Utgångsläget 2018", ("Sammanfattning", "Styrgrupper", "Utgångsläget 2018")),
        ("Ansvarsfördelning", ("Ansvarsfördelning",)),
    ]
    text = _all_text(document)
    for gone in ("<sup>", "**", "![", "bild1.png", "Innehåll", "..........", "REGIONAL", "|---"):
        assert gone not in text
    assert "etablering. Arbetet har lett till en gemensam struktur." in text
    assert "Etableringsersättningen betalas av Försäkringskassan." in text
    assert "Arbete | 45 %" in _texts(document, "paragraph")
    assert _texts(document, "item") == [
        "Arbetsmarknadssamverkan med ansvar för arbetsmarknad.",
        "Ledningsgruppen för samordning av hälso- och sjukvård.",
        "Som har lett till bättre samordning.",
    ]
    assert all(b.page is None for b in document.blocks)


def test_html_fixture() -> None:
    document = load_document(DATA / "sample.html", "sample.html")
    assert document.title == "Etablering av nyanlända"
    text = _all_text(document)
    for gone in ("spårning", "font-family", "Startsida", "Kontakta oss", "Sök på webbplatsen",
                 "Relaterade sidor", "Aktivera JavaScript", "Box 123", "sidan laddad",
                 "Hoppa till innehållet"):
        assert gone not in text
    assert [(b.text, b.section) for b in document.blocks if b.kind == "heading"] == [
        ("Etablering av nyanlända", ("Etablering av nyanlända",)),
        ("Ersättningar", ("Etablering av nyanlända", "Ersättningar")),
        ("Belopp", ("Etablering av nyanlända", "Ersättningar", "Belopp")),
        ("Samhällsorientering", ("Etablering av nyanlända", "Samhällsorientering")),
    ]
    assert document.blocks[1].text == (
        "Arbetsförmedlingen ansvarar för etableringsprogrammet. "
        "Kommunerna ansvarar för mottagande och bosättning."
    )
    assert _texts(document, "item") == ["Etableringsersättning", "Etableringstillägg"]
    assert "Etableringsersättning | 308 kr per dag" in text


def test_html_without_main_uses_body_and_drops_navigation(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><head><title>Sida</title></head><body><a href='#c'>Skip to content</a>"
        "<nav>Meny</nav><div><h2>Nyheter</h2>Text utan stycke.<p>Ett stycke.</p></div>"
        "</body></html>",
        encoding="utf-8",
    )
    document = load_document(path, "page.htm")
    assert document.title == "Sida"
    assert [(b.kind, b.text) for b in document.blocks] == [
        ("heading", "Nyheter"), ("paragraph", "Text utan stycke."), ("paragraph", "Ett stycke."),
    ]


def test_text_fixture() -> None:
    document = load_document(DATA / "sample.txt", "sample.txt")
    assert document.title == "1 Inledning"
    assert [(b.kind, b.text, b.section) for b in document.blocks] == [
        ("heading", "1 Inledning", ("1 Inledning",)),
        ("paragraph", "Strategin beskriver hur länets aktörer samverkar kring mottagande och "
         "etablering av nyanlända i länet. Den gäller för åren 2023 till 2026 och följs upp "
         "varje år av beredningsgruppen, som rapporterar till Integrationsrådet.",
         ("1 Inledning",)),
        ("heading", "2 Ansvarsfördelning", ("2 Ansvarsfördelning",)),
        ("paragraph", "Försäkringskassan betalar ut etableringsersättningen som "
         "Arbetsförmedlingen beslutat om samt beslutar om och betalar ut etableringstillägg och "
         "bostadsersättning till individen. Region Blekinge erbjuder hälsoundersökningar och "
         "samverkar i frågor om hälso- och sjukvård med fokus på förebyggande insatser för "
         "personer 20-64 år.", ("2 Ansvarsfördelning",)),
        ("paragraph", "Strategin prioriterar tre samarbetsområden:", ("2 Ansvarsfördelning",)),
        ("item", "Svenska språket", ("2 Ansvarsfördelning",)),
        ("item", "Hälsa", ("2 Ansvarsfördelning",)),
        ("item", "Arbete", ("2 Ansvarsfördelning",)),
        ("paragraph", "Alla områden kompletterar varandra.", ("2 Ansvarsfördelning",)),
        ("heading", "Regional folkhälsoplan", ("2 Ansvarsfördelning", "Regional folkhälsoplan")),
        ("paragraph", "Folkhälsa är ett av de fyra perspektiv som genomsyrar den regionala "
         "utvecklingsstrategin, där en god och jämlik hälsa för alla genom hela livet är ett av "
         "målen.", ("2 Ansvarsfördelning", "Regional folkhälsoplan")),
    ]


def test_invalid_utf8_is_replaced_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Rubrik\n\nKommunerna ansvarar för mottagandet.\n".encode("latin-1"))
    document = load_document(path, "latin1.txt")
    assert "\ufffd" in _all_text(document)
    assert len(document.problems) == 1 and "UTF-8" in document.problems[0]


def test_markdown_invalid_utf8_is_noted(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(b"# Rubrik\n\nF\xf6rs\xe4kringskassan.\n")
    assert "UTF-8" in load_document(path, "bad.md").problems[0]


def test_empty_files_give_empty_documents(tmp_path: Path) -> None:
    for name in ("empty.txt", "empty.md", "empty.html"):
        (tmp_path / name).write_bytes(b"")
        document = load_document(tmp_path / name, name)
        assert document.blocks == () and document.title is None


# --- the suffix table and errors --------------------------------------------------------------


def test_supported_suffixes() -> None:
    assert set(SUPPORTED_SUFFIXES) == {".pdf", ".md", ".markdown", ".html", ".htm", ".txt"}


@pytest.mark.parametrize("name", ["rapport.docx", "bild.png", "README"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedFormatError, match="unsupported file type"):
        load_document(path, name)


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "NOTES.TXT"
    path.write_text("Rubrik\n\nEn mening om etablering.\n", encoding="utf-8")
    assert load_document(path, "NOTES.TXT").blocks[-1].text == "En mening om etablering."


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="missing.txt: cannot read the file"):
        load_document(tmp_path / "missing.txt", "missing.txt")


# --- the real corpus --------------------------------------------------------------------------

CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.suffix in SUPPORTED_SUFFIXES)


@pytest.fixture(scope="module")
def corpus() -> dict[str, Document]:
    return {name: load_document(CORPUS / name, name) for name in CORPUS_FILES}


def test_corpus_has_the_five_documents() -> None:
    assert len(CORPUS_FILES) == 5


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_corpus_file_loads_cleanly(corpus: dict[str, Document], name: str) -> None:
    document = corpus[name]
    assert document.doc == name and document.problems == ()
    assert len(document.blocks) >= 4
    for block in document.blocks:
        assert block.text == block.text.strip() and "\n" not in block.text
        assert not is_page_number(block.text), block
        assert not is_toc_line(block.text), block
        assert block.kind in ("heading", "item", "paragraph")
        assert block.page is None
    for block in document.blocks:
        if block.kind == "heading":
            assert block.section[-1] == block.text


def test_blekinge_sections(corpus: dict[str, Document]) -> None:
    document = corpus[BLEKINGE]
    chapters = [b.text for b in document.blocks if b.kind == "heading" and len(b.section) == 1]
    assert chapters == [
        "1 Varfor Blekinge behoéver integration",
        "2 Integrationsstrategi som plattform fér samarbete",
        "3 Malgrupp",
        "4 Mal och syfte",
        "5 Principer",
        "6 Fokusomraden",
        "7 Strategiska delmal fér fokusomraden",
        "8 Organisation och struktur av samarbete",
        "9 Ansvarsférdelning",
        "10 Handlingsplan",
        "11 Uppfdljning och revidering",
    ]
    assert document.title == chapters[0]
    sections = {b.section for b in document.blocks}
    assert ("2 Integrationsstrategi som plattform fér samarbete", "Agenda 2030") in sections
    assert ("7 Strategiska delmal fér fokusomraden",
            "2. Strategiskt mal for omradet Hdlsa") in sections


def test_blekinge_paragraph_is_whole_and_under_its_chapter(corpus: dict[str, Document]) -> None:
    sentence = (
        "Forsakringskassan betalar ut etableringsersattningen som Arbetsférmedlingen beslutat om "
        "samt beslutar om och betalar ut etableringstillagg"
    )
    blocks = [b for b in corpus[BLEKINGE].blocks if sentence in b.text]
    assert len(blocks) == 1
    assert blocks[0].kind == "paragraph"
    assert blocks[0].section == ("9 Ansvarsférdelning",)
    assert blocks[0].text.startswith("Forsakringskassan betalar ut")


def test_blekinge_debris_and_table_of_contents_are_gone(corpus: dict[str, Document]) -> None:
    document = corpus[BLEKINGE]
    texts = _texts(document)
    for debris in ("k7", "e®e", "ﬂ", "MAI-EH", "vk wnN e", "O 0O O O O O", "Ron%eby", "|"):
        assert not any(debris in t for t in texts), debris
    assert not any(t in ("b", "s", "10", "14", "15", "16") for t in texts)
    # the table of contents at the end has proper diacritics; none of it may survive
    assert not any("Varför Blekinge behöver" in t for t in texts)
    assert not any(t.startswith("11 Uppföljning") for t in texts)
    # real short lines stay: list items and their introductions
    items = _texts(document, "item")
    for item in ("Svenska spraket", "Halsa", "Arbete", "Utbildning", "Jamstalld halsa"):
        assert item in items
    assert "Barnrattsperspektivet genomsyrar vart arbete" in items
    # the colophon survives the wall of partner logos before it
    assert "Diarienummer: 1539-2023-1" in texts
    assert "SWEDISH PUBLIC EMPLOYMENT SERVICE" not in texts


def test_kronoberg_sections_follow_markdown_headings(corpus: dict[str, Document]) -> None:
    document = corpus[KRONOBERG]
    assert document.title == (
        "Strategisk överenskommelse för samverkan inom mottagande, etablering och integration "
        "i Kronoberg"
    )
    sections = {b.section for b in document.blocks}
    assert ("Inledning", "Önskat framtida läge") in sections
    assert ("Utveckling och resultat", "Styrgrupper") in sections
    assert ("Bilaga 1 b", "Principer för samverkan") in sections
    assert not any(s and s[0] == "Innehåll" for s in sections)
    text = _all_text(document)
    for gone in ("<sup>", "</sup>", "**", ".....", "STRATEGISK ÖVERENSKOMMELSE FÖR SAMVERKAN"):
        assert gone not in text
    assert "Länets strategiska överenskommelse (SÖK) löper under perioden 2019–2025." in text


def test_web_page_remnants_are_gone(corpus: dict[str, Document]) -> None:
    finland = corpus["finland-integration-decision-makers.txt"]
    assert "Skip to Content" not in _all_text(finland)
    # "null " before a line (an empty template field) is one page's quirk and is kept as is
    assert "null Study on municipalities’ integration programmes begins" in _texts(finland)
    lansstyrelserna = corpus["lansstyrelserna-integration-2021.txt"]
    assert lansstyrelserna.title == "Så gick arbetet med integration under 2021"
    assert ("Ensamkommande barn och unga",) in {b.section for b in lansstyrelserna.blocks}


def test_plain_paragraphs_without_headings(corpus: dict[str, Document]) -> None:
    oecd = corpus["oecd-smaland-blekinge-migrant-integration.txt"]
    assert oecd.title is None
    assert [b.kind for b in oecd.blocks] == ["paragraph"] * 4
    assert all(b.section == () for b in oecd.blocks)


@pytest.mark.parametrize(("headings", "paths"), [
    # A numbered series closes its earlier member, whatever levels the converter gave them.
    ([(2, "Delmål 1 – Tidig upptäckt"), (3, "Så här har det gått"), (4, "Delmål 2 – Stöd")],
     [("Delmål 1 – Tidig upptäckt",), ("Delmål 1 – Tidig upptäckt", "Så här har det gått"),
      ("Delmål 2 – Stöd",)]),
    # A repeated title is a sibling, not a child.
    ([(1, "Hälsa"), (2, "Utgångsläget 2018"), (3, "Utgångsläget 2018")],
     [("Hälsa",), ("Hälsa", "Utgångsläget 2018"), ("Hälsa", "Utgångsläget 2018")]),
    # A shallower heading still closes everything below it.
    ([(2, "Bilaga 1 a"), (3, "Hälsa"), (1, "Bilaga 1 b")],
     [("Bilaga 1 a",), ("Bilaga 1 a", "Hälsa"), ("Bilaga 1 b",)]),
    # Different series, or no number, nest as the levels say.
    ([(1, "Kapitel 1"), (2, "Delmål 1"), (3, "Mål")],
     [("Kapitel 1",), ("Kapitel 1", "Delmål 1"), ("Kapitel 1", "Delmål 1", "Mål")]),
])
def test_outline_repairs_sibling_levels(headings: list[tuple[int, str]],
                                        paths: list[tuple[str, ...]]) -> None:
    outline = Outline()
    assert [outline.open(level, title) for level, title in headings] == paths


def test_catalog_entries_are_written_in_the_bundled_catalogs_look(tmp_path: Path) -> None:
    path = tmp_path / CATALOG_FILE
    path.write_text(json.dumps({"_about": "Katalog för “tester”.", "documents": {}}),
                    encoding="utf-8")
    write_entry(tmp_path, "a.md", {"title": "Tolkstöd i Västra Götaland", "year": 2024,
                                   "region": None, "type": "service"})
    write_entry(tmp_path, "b.md", {"title": "B\u2028\tc"})
    write_entry(tmp_path, "c.md", {"title": "C"})
    write_entry(tmp_path, "c.md", None)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["_about"] == "Katalog för “tester”."
    assert read_catalog(tmp_path) == {
        "a.md": {"title": "Tolkstöd i Västra Götaland", "year": 2024, "region": None,
                 "type": "service"},
        "b.md": {"title": "B\u2028\tc"}}
    # as json.dumps writes it with two-space indents and letters as they are
    assert text == json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    assert "Tolkstöd i Västra Götaland" in text


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the catalog module parses JSON from now on."""
    parses = [0]
    real = catalog.orjson.loads

    def counted(data: bytes | str) -> object:
        parses[0] += 1
        return real(data)

    monkeypatch.setattr(catalog.orjson, "loads", counted)
    return parses


def test_an_entry_written_is_read_back_without_parsing_the_catalog_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CATALOG_FILE).write_text(json.dumps({"documents": {"a.md": {"title": "A"}}}),
                                         encoding="utf-8")
    before = read_catalog(tmp_path)
    parses = _counting_parses(monkeypatch)
    write_entry(tmp_path, "b.md", {"title": "B"})
    assert read_catalog(tmp_path) == {"a.md": {"title": "A"}, "b.md": {"title": "B"}}
    assert parses[0] == 1  # the write's own read of a file this fresh; the read after, none
    assert before == {"a.md": {"title": "A"}}  # what a caller held is not changed under it
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_catalog_changed_by_hand_is_read_again(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / CATALOG_FILE
    path.write_text(json.dumps({"documents": {"a.md": {"title": "A"}}}), encoding="utf-8")
    old = path.stat().st_mtime_ns - 10 * catalog._RACY_NS
    os.utime(path, ns=(old, old))
    assert read_catalog(tmp_path) == {"a.md": {"title": "A"}}
    parses = _counting_parses(monkeypatch)
    assert read_catalog(tmp_path) == {"a.md": {"title": "A"}}
    assert parses[0] == 0  # an old file, unchanged since its read: remembered
    path.write_text(json.dumps({"documents": {"a.md": {"title": "Z"}}}), encoding="utf-8")
    assert read_catalog(tmp_path) == {"a.md": {"title": "Z"}}
    # changed in place again at once, the same size and (put back) the same time: a read that
    # fresh was not remembered, so the change is seen
    fresh = path.stat().st_mtime_ns
    path.write_text(json.dumps({"documents": {"a.md": {"title": "Y"}}}), encoding="utf-8")
    os.utime(path, ns=(fresh, fresh))
    assert read_catalog(tmp_path) == {"a.md": {"title": "Y"}}
