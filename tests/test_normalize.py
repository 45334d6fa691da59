"""Table-driven tests of the pure text clean-up in assistant.ingest.normalize."""

from __future__ import annotations

import unicodedata

import pytest

from assistant.ingest.furniture import (
    clean_ocr_line,
    drop_repeated_stacks,
    is_boilerplate,
    is_debris,
    is_page_number,
    is_toc_line,
    strip_running_lines,
)
from assistant.ingest.normalize import (
    clean_chars,
    collapse_whitespace,
    decode,
    dehyphenate,
    is_word,
    join_lines,
)
from assistant.ingest.paragraphs import (
    Paragraph,
    classify,
    drop_toc,
    is_title_like,
    logo_walls,
    numbered_heading,
    paragraphs,
    strip_bullet,
)

# --- characters and whitespace ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (unicodedata.normalize("NFD", "Försäkringskassan"), "Försäkringskassan"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("20\u00a0000 kr", "20 000 kr"),
        ("etablerings\u00adersättning", "etableringsersättning"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("page\fnext", "page\n\nnext"),
    ],
)
def test_clean_chars(raw: str, expected: str) -> None:
    assert clean_chars(raw) == expected


def test_clean_chars_is_nfc() -> None:
    assert unicodedata.is_normalized("NFC", clean_chars(unicodedata.normalize("NFD", "åäö")))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a \t b\n\nc  ", "a b c"),
        ("", ""),
        ("ett", "ett"),
    ],
)
def test_collapse_whitespace(raw: str, expected: str) -> None:
    assert collapse_whitespace(raw) == expected


def test_decode_replaces_invalid_utf8_and_says_so() -> None:
    assert decode("å".encode()) == ("å", False)
    assert decode("\ufeffå".encode()) == ("å", False)
    text, replaced = decode(b"caf\xe9")
    assert replaced and text == "caf\ufffd"


# --- hyphenation and wrapping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("etablerings-\nersättning", "etableringsersättning"),
        ("betalar ut etablerings-\n  ersättningen", "betalar ut etableringsersättningen"),
        ("hälso-\noch sjukvård", "hälso- och sjukvård"),
        ("utrikes-\neller inrikes födda", "utrikes- eller inrikes födda"),
        ("hälso-\nsjuk- och tandvård", "hälso- sjuk- och tandvård"),
        ("personer 20-\n64 år", "personer 20-64 år"),
        ("personer 20-64 år", "personer 20-64 år"),
        ("betalar LMA-\nersättning", "betalar LMA-ersättning"),
        ("(TIA-\nmedel)", "(TIA-medel)"),
        ("Blekinge-\nKronoberg", "Blekinge-Kronoberg"),
        ("kunskaps-, praxis- och", "kunskaps-, praxis- och"),
        ("ingen\nbindestreck", "ingen\nbindestreck"),
    ],
)
def test_dehyphenate(raw: str, expected: str) -> None:
    assert dehyphenate(raw) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Forsakringskassan betalar ut", "etableringsersattningen."], "Forsakringskassan betalar "
         "ut etableringsersattningen."),
        (["  indraget  ", "och   mer "], "indraget och mer"),
        (["bered-", "ningsgruppen"], "beredningsgruppen"),
    ],
)
def test_join_lines(lines: list[str], expected: str) -> None:
    assert join_lines(lines) == expected


WRAPPED = (
    "Forsakringskassan betalar ut etableringsersattningen som Arbetsformedlingen beslutat om\n"
    "samt beslutar om och betalar ut etableringstillagg och bostadsersattning till individen.\n"
    "Myndigheten tillhandahaller individuell information pa olika sprak genom tidsbokning hos\n"
    "Forsakringskassans kundcenter.\n"
    "Statens servicecenter har servicekontor i Karlskrona, Karlshamn och Solvesborg dar\n"
    "individer kan fa hjalp med olika fragor.\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a blank line always breaks; wrapped lines join
        ("Ett stycke som\nfortsätter här.\n\nEtt annat.", ["Ett stycke som fortsätter här.",
                                                          "Ett annat."]),
        # a short line that ends a sentence, before a capital, ends the paragraph
        (WRAPPED, [
            "Forsakringskassan betalar ut etableringsersattningen som Arbetsformedlingen beslutat "
            "om samt beslutar om och betalar ut etableringstillagg och bostadsersattning till "
            "individen. Myndigheten tillhandahaller individuell information pa olika sprak genom "
            "tidsbokning hos Forsakringskassans kundcenter.",
            "Statens servicecenter har servicekontor i Karlskrona, Karlshamn och Solvesborg dar "
            "individer kan fa hjalp med olika fragor.",
        ]),
        # a heading line without a blank line after it
        ("9 Ansvarsfordelning\n" + WRAPPED.split("Myndigheten")[0].rstrip(),
         ["9 Ansvarsfordelning", WRAPPED.split("\nMyndigheten")[0].replace("\n", " ")]),
        # unwrapped text (one paragraph per line, as on web pages): every line is a paragraph
        ("Rubrik\n\n" + "Lång rad. " * 30 + "\n" + "Nästa rad. " * 30,
         ["Rubrik", ("Lång rad. " * 30).strip(), ("Nästa rad. " * 30).strip()]),
        # a sentence cut by a blank line (a figure beside the text) is put back together
        ("Det ar darfor viktigt att alla aktorer i lanet arbetar\n\natt vi utvecklar en vag.",
         ["Det ar darfor viktigt att alla aktorer i lanet arbetar att vi utvecklar en vag."]),
        ("", []),
    ],
)
def test_paragraphs(text: str, expected: list[str]) -> None:
    assert [p.text for p in paragraphs(text)] == expected


def test_paragraphs_count_lines_and_unwrapped_neighbours_are_not_alone() -> None:
    wrapped = paragraphs("Rubrik\n\nen rad som\nfortsätter.")
    assert [(p.lines, p.alone) for p in wrapped] == [(1, True), (2, True)]
    unwrapped = paragraphs("Tre personer i stadsmiljö\n" + "Text. " * 40 + "\n\nRubrik\n\n" +
                           "Mer. " * 40)
    assert [p.alone for p in unwrapped] == [False, False, True, True]


# --- page furniture ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("12", True),
        ("  7 ", True),
        ("- 12 -", True),
        ("Sida 3 av 10", True),
        ("Page 4 of 9", True),
        ("3 (16)", True),
        ("3/16", True),
        ("9 Ansvarsfordelning", False),
        ("2023 till 2026", False),
        ("12345", False),
        ("", False),
    ],
)
def test_is_page_number(line: str, expected: bool) -> None:
    assert is_page_number(line) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Inledning ........ 4", True),
        ("Forum för mottagande, etablering och integration.....\t10", True),
        ("<b>SAMMANFATTNING</b> .....\t<b>3</b>".replace("<b>", "").replace("</b>", ""), True),
        ("Bakgrund . . . . . . 7", True),
        ("Bakgrund …… 7", True),
        ("Slutsats.", False),
        ("Det är 4 procent... ungefär 5", False),
        ("Inledning 4", False),
    ],
)
def test_is_toc_line(line: str, expected: bool) -> None:
    assert is_toc_line(line) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Skip to Content", True),
        ("Hoppa till innehållet", True),
        ("mailto:blekinge@lansstyrelsen.se", True),
        ("Skip to content if you want", False),
        ("Kontakt: blekinge@lansstyrelsen.se", False),
    ],
)
def test_is_boilerplate(line: str, expected: bool) -> None:
    assert is_boilerplate(line) is expected


def test_strip_running_lines_removes_headers_and_page_footers_only() -> None:
    pages = [
        "Integrationsstrategi Blekinge\n1 Inledning\nText om inledning.\nSida 1",
        "Integrationsstrategi Blekinge\n2 Ansvar\nText om ansvar.\nSida 2",
        "",
        "Integrationsstrategi Blekinge\n3 Uppföljning\nText om uppföljning.\nSida 4",
    ]
    assert strip_running_lines(pages) == [
        "1 Inledning\nText om inledning.",
        "2 Ansvar\nText om ansvar.",
        "",
        "3 Uppföljning\nText om uppföljning.",
    ]


def test_strip_running_lines_keeps_a_single_page_whole() -> None:
    assert strip_running_lines(["Rubrik\nText.\n1"]) == ["Rubrik\nText.\n1"]


def test_drop_repeated_stacks_removes_a_logo_printed_twice() -> None:
    lines = ["Text.", "", "Lansstyrelsen", "Blekinge", "", "Mer text.", "", "Lansstyrelsen",
             "Blekinge", "", "Blekinge"]
    assert drop_repeated_stacks(lines) == ["Text.", "", "", "Mer text.", "", "", "Blekinge"]


# --- OCR debris -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("Halsa", True),
        ("arbete,", True),
        ("ARBETSFORMEDLINGEN", True),
        ("LMA-ersattning", True),
        ("i", True),
        ("k7", False),
        ("vk", False),
        ("wnN", False),
        ("e®e", False),
        ("e", False),
        ("6kar", False),
    ],
)
def test_is_word(token: str, expected: bool) -> None:
    assert is_word(token) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("k7", True),
        ("e®e", True),
        ("s", True),
        ("b", True),
        ("vk wnN e", True),
        ("O 0O O O O O", True),
        ("7~ N\\", True),
        ("TIL&T/", True),
        ("Ron%eby", True),
        ("&", True),
        ("Halsa", False),
        ("Arbete", False),
        ("Svenska spraket", False),
        ("10 Handlingsplan", False),
        ("Antal 2019 2020 2021", False),
        ("Kontakt: blekinge@lansstyrelsen.se", False),
        ("ett tillfdlligt uppehdllstillstand som ger vuxna rdtt att arbeta", False),
        ("مرحبا بكم في السويد", False),
        ("Добро пожаловать в Швецию", False),
        ("", False),
    ],
)
def test_is_debris(line: str, expected: bool) -> None:
    assert is_debris(line) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("| dagens globaliserade varld", "I dagens globaliserade varld"),
        ("erfarenhetsutbyten. | dagsldget finns", "erfarenhetsutbyten. I dagsldget finns"),
        ("|!!| | att vi utvecklar", "att vi utvecklar"),
        ("| a | b |", "a b"),
        ("e Individen i centrum", "• Individen i centrum"),
        ("e gynnas av.", "gynnas av."),
        ("T G Kunskaper i det svenska", "Kunskaper i det svenska"),
        ("FOR ALLA vuxnas mojligheter i ett nytt land", "vuxnas mojligheter i ett nytt land"),
        ("ﬂ.ﬂﬂﬁlﬁ MAI-EH utbildning, ekonomisk tillväxt", "utbildning, ekonomisk tillväxt"),
        ("17 ﬁﬂ'ﬂ'fﬁg'iﬂmi att na konkreta resultat", "att na konkreta resultat"),
        ("/\\ ,‘ / bristande kunskap", "bristande kunskap"),
        ("GODHALSAOCH En stor del av asylsökande", "En stor del av asylsökande"),
        ("h‘ \" har hoga ambitioner", "har hoga ambitioner"),
        (" Forsakringskassan betalar ut", " Forsakringskassan betalar ut"),
        ("andel (%), Blekinge, 2021", "andel (%), Blekinge, 2021"),
        ("§ 37 i lagen", "§ 37 i lagen"),
        ("den ﬁnansiella ramen", "den finansiella ramen"),
        ("A new approach", "A new approach"),
        ("SFI erbjuds", "SFI erbjuds"),
        ("UNHCR and IOM work on resettlement", "UNHCR and IOM work on resettlement"),
        ("ULEITIESS  har svara psykiska", "har svara psykiska"),
        ("en eﬀektiﬁerad process", "en effektifierad process"),
        ("se https://example.se/a?b=c", "se https://example.se/a?b=c"),
        ("k7", "k7"),
        ("", ""),
    ],
)
def test_clean_ocr_line(line: str, expected: str) -> None:
    assert clean_ocr_line(line) == expected


# --- headings, items, tables of contents ------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("9 Ansvarsfordelning", ((9,), False)),
        ("7 Strategiska delmal fér fokusomraden", ((7,), False)),
        ("11 Uppfdljning och revidering", ((11,), False)),
        ("2.3 Something", ((2, 3), False)),
        ("1. Strategiskt mal for omradet Halsa", ((1,), True)),
        ("1 INLEDNING", ((1,), False)),
        ("10", None),
        ("1 Kolada, utrikes fodda vuxna invanare, 20-64 ar, andel, Blekinge, 2021", None),
        ("2021 hade kommunen fler invånare", None),
        ("3 Mål.", None),
        ("Inledning", None),
    ],
)
def test_numbered_heading(line: str, expected: tuple[tuple[int, ...], bool] | None) -> None:
    assert numbered_heading(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Halsa", True),
        ("Agenda 2030", True),
        ("Regional folkhälsoplan", True),
        ("Utvecklingsmedel §37 och §37a", True),
        ("Informationsverige.se", True),
        ("Varför behövs integration?", True),
        ("Läs rapporten om lägesbilder.", False),
        ("Strategin prioriterar fem samarbetsomraden:", False),
        ("individen star i centrum", False),
        ("ANSTANDIGA ARBETSVILLKOR", False),
        ("Fungerande samarbetsstruktur mellan offentliga aktorer ar avgorande for", False),
        ("En mening som har alldeles för många ord för att vara en rubrik alls", False),
        ("12", False),
        ("• Punkt", False),
        ("", False),
    ],
)
def test_is_title_like(line: str, expected: bool) -> None:
    assert is_title_like(line) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("• Individen i centrum", "Individen i centrum"),
        ("- Vi vet vart vi vänder oss", "Vi vet vart vi vänder oss"),
        ("- » Vilket ledde till", "Vilket ledde till"),
        ("1. Andelen ska öka.", "Andelen ska öka."),
        ("a) första", "första"),
        ("Vanlig text", None),
        ("-5 grader", None),
    ],
)
def test_strip_bullet(line: str, expected: str | None) -> None:
    assert strip_bullet(line) == expected


def _paras(*texts: str) -> list[Paragraph]:
    return [Paragraph(t) for t in texts]


BODY = "Forsakringskassan betalar ut etableringsersattningen som Arbetsformedlingen beslutat om."


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # numbered chapters nest by their numbering; a title line under one nests below it
        (["1 Inledning", BODY, "Agenda 2030", BODY, "2 Ansvar", BODY, "2.1 Kommunerna", BODY],
         [("heading", 1), ("paragraph", 0), ("heading", 2), ("paragraph", 0), ("heading", 1),
          ("paragraph", 0), ("heading", 2), ("paragraph", 0)]),
        # a footnote that looks like a chapter ("1 Kolada") after chapter 2 is no heading
        (["1 Inledning", BODY, "2 Ansvar", BODY, "1 Kolada utrikes fodda", BODY],
         [("heading", 1), ("paragraph", 0), ("heading", 1), ("paragraph", 0),
          ("paragraph", 0), ("paragraph", 0)]),
        # short lines after a line ending in ":" are list items, not headings
        (["1 Fokus", "Strategin prioriterar fem omraden:", "Svenska spraket", "Halsa", "Arbete",
          "Alla omraden kompletterar varandra."],
         [("heading", 1), ("paragraph", 0), ("item", 0), ("item", 0), ("item", 0),
          ("paragraph", 0)]),
        # ... but a single title line after ":" that introduces text is a heading
        (["foljande policydokument:", "Agenda 2030", BODY],
         [("paragraph", 0), ("heading", 1), ("paragraph", 0)]),
        # bulleted lines are items; a lone number is never a heading
        (["Principer:", "• Individen i centrum", "• Barnrattsperspektivet"],
         [("paragraph", 0), ("item", 0), ("item", 0)]),
        (["10", BODY], [("paragraph", 0), ("paragraph", 0)]),
        # a title-shaped line that introduces no text (a logo's name) is no heading
        (["Undertecknade parter", "Forsakringskassan", "Migrationsverket"],
         [("heading", 1), ("paragraph", 0), ("paragraph", 0)]),
        # enumerated sub-goals under chapter 7 are headings one level down
        (["7 Strategiska delmal", "1. Strategiskt mal for omradet Svenska", BODY,
          "2. Strategiskt mal for omradet Halsa", BODY],
         [("heading", 1), ("heading", 2), ("paragraph", 0), ("heading", 2), ("paragraph", 0)]),
    ],
)
def test_classify(texts: list[str], expected: list[tuple[str, int]]) -> None:
    assert [(kind, level) for kind, level, _ in classify(_paras(*texts))] == expected


def test_classify_needs_a_line_standing_alone() -> None:
    roles = classify([Paragraph("Tre personer i stadsmiljo", alone=False), Paragraph(BODY)])
    assert [kind for kind, _, _ in roles][1:] == ["paragraph"]
    assert classify([Paragraph("x"), Paragraph("Rubrik", alone=False), Paragraph(BODY)])[1][0] \
        == "paragraph"


def test_classify_strips_bullets_from_items() -> None:
    assert classify(_paras("Principer:", "• Barnrattsperspektivet", "• Jamstalldhet"))[1] == (
        "item", 0, "Barnrattsperspektivet"
    )


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # a table of contents without page numbers: a run of bare chapter titles
        (["Sista stycket.", "1 Varför integration", "2 Plattform", "3 Målgrupp"],
         [True, False, False, False]),
        (["Innehåll", "Inledning ........ 4", "Bakgrund ........ 7", BODY],
         [True, False, False, True]),
        # chapter and sub-chapters with no text between are no table of contents
        (["2 Bakgrund", "2.1 Syfte", "2.2 Mål", BODY], [True, True, True, True]),
        (["1 Inledning", BODY, "2 Ansvar", BODY], [True, True, True, True]),
    ],
)
def test_drop_toc(texts: list[str], expected: list[bool]) -> None:
    assert drop_toc(_paras(*texts)) == expected


def test_logo_walls() -> None:
    texts = ["Intro.", "Forsakringskassan", "Migrationsverket", "Region Blekinge",
             "Statens servicecenter", "Karlshamns kommun", BODY, "Agenda 2030", BODY]
    assert logo_walls(texts) == [True] + [False] * 5 + [True] * 3
    colophon = ["Blekinge", "Publicerad: 2023", "Diarienummer: 1539-2023-1", "Kontakt: x@y.se",
                "Bilder: Mostphotos"]
    assert all(logo_walls(colophon))
    assert logo_walls(["Ett", "Två", "Tre", "Fyra"]) == [True] * 4
