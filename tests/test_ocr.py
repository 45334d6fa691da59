"""Table-driven tests of Swedish OCR repair (assistant.lang.diacritics; wordfreq lists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.lang.diacritics import DAMAGE_THRESHOLD, is_damaged, repair_swedish, swedish_damage

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
BLEKINGE = CORPUS / "blekinge-integrationsstrategi-2023-2026.txt"
CLEAN = [
    CORPUS / "kronoberg-sok-rapport-2019-2024.md",
    CORPUS / "lansstyrelserna-integration-2021.txt",
]


@pytest.mark.parametrize(
    ("damaged", "repaired"),
    [
        ("forsakringskassan", "försäkringskassan"),
        ("manniskor", "människor"),
        ("6kar", "ökar"),
        ("fér", "för"),
        ("dr", "är"),
        ("&r", "är"),
        ("dven", "även"),
        ("hdlsa", "hälsa"),
        ("vdlkomna", "välkomna"),
        ("uppehdllstillstand", "uppehållstillstånd"),
        ("uppehdlistillstand", "uppehållstillstånd"),
        ("etableringsersattningen", "etableringsersättningen"),
        ("Arbetsférmedlingen", "Arbetsförmedlingen"),
        ("Olofstrom", "Olofström"),
        # known words that a diacritic variant far outnumbers
        ("for", "för"),
        ("ar", "är"),
        ("pa", "på"),
        ("sa", "så"),
        ("nar", "när"),
        # known words that stay: the variant is not much commoner
        ("man", "man"),
        ("var", "var"),
        ("har", "har"),
        ("lag", "lag"),
        ("Karlskrona", "Karlskrona"),
        # case pattern is kept; acronyms get no OCR guesses
        ("FORSAKRINGSKASSAN", "FÖRSÄKRINGSKASSAN"),
        ("Forandring", "Förändring"),
        ("IOP", "IOP"),
        ("x", "x"),
    ],
)
def test_repair_word(damaged: str, repaired: str) -> None:
    assert repair_swedish(damaged) == repaired


@pytest.mark.parametrize(
    ("damaged", "repaired"),
    [
        (
            "Forsakringskassan betalar ut etableringsersattningen som Arbetsférmedlingen "
            "beslutat om",
            "Försäkringskassan betalar ut etableringsersättningen som Arbetsförmedlingen "
            "beslutat om",
        ),
        (
            "| dagens varld &r migration vanligt; andelen aldre 6kar (2021).",
            "I dagens värld är migration vanligt; andelen äldre ökar (2021).",
        ),
        (
            "Vi dr dven ett land,\n  som ska vara ledande  i arbetet -- for hallbar tillvaxt!\r\n",
            "Vi är även ett land,\n  som ska vara ledande  i arbetet -- för hållbar tillväxt!\r\n",
        ),
        ("Nyanlända: 36 manader, 2 500 kr/man.", "Nyanlända: 36 månader, 2 500 kr/man."),
    ],
)
def test_repair_sentence(damaged: str, repaired: str) -> None:
    assert repair_swedish(damaged) == repaired


@pytest.mark.parametrize(
    "clean",
    [
        "Länsstyrelsen ska stödja kommunerna i arbetet med mottagande av nyanlända.",
        "Vi har en man och en kvinna här, var är de?",
        "Kommunerna ansvarar för samhällsorientering och svenska för invandrare.",
        "Integration is a two-way process that requires effort from everyone.",
        "The report was published for the county administrative boards in 2021.",
        "",
        "123 -- 456\n\n",
    ],
)
def test_clean_text_unchanged(clean: str) -> None:
    assert repair_swedish(clean) == clean


def test_repair_keeps_everything_but_letters() -> None:
    text = BLEKINGE.read_text(encoding="utf-8")
    repaired = repair_swedish(text)
    assert len(repaired) == len(text)
    kept = [(a, b) for a, b in zip(text, repaired, strict=True) if not (a.isalpha() or a in "&|6")]
    assert all(a == b for a, b in kept)
    assert repaired.count("\n") == text.count("\n")


def test_damage_separates_blekinge_from_clean_texts() -> None:
    damaged = swedish_damage(BLEKINGE.read_text(encoding="utf-8"))
    clean = [swedish_damage(path.read_text(encoding="utf-8")) for path in CLEAN]
    assert damaged > 5 * DAMAGE_THRESHOLD
    assert max(clean) < DAMAGE_THRESHOLD / 3
    assert is_damaged(BLEKINGE.read_text(encoding="utf-8"))
    assert not any(is_damaged(path.read_text(encoding="utf-8")) for path in CLEAN)


@pytest.mark.parametrize(("text", "damage"), [("", 0.0), ("123 !", 0.0), ("for ar pa", 1.0)])
def test_damage_edges(text: str, damage: float) -> None:
    assert swedish_damage(text) == damage


DAMAGED_DOC = (
    "# Ansvarsfordelning\n\n"
    "Forsakringskassan betalar ut etableringsersattningen som Arbetsformedlingen beslutat om. "
    "Lansstyrelsen beslutar om fordelningen mellan kommunerna. De nyanlanda far hjalp pa "
    "servicekontoren med blanketter och ansokningar. Kommunerna ska erbjuda svenska for "
    "invandrare och samhallsorientering till nyanlanda. Det 6vergripande malet ar att alla "
    "ska fa en god start i lanet.\n"
)


def test_repaired_document_keeps_its_original_in_chunks_index_and_json(
        tmp_path: Path) -> None:
    from assistant.config import load_settings
    from assistant.engine import Engine
    from assistant.index.builder import build_index
    from assistant.model.embed import HashEmbedder
    from assistant.serialize import hit_json

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "skadad.md").write_text(DAMAGED_DOC, encoding="utf-8")
    settings = load_settings(env={}, corpus_dir=corpus, index_dir=tmp_path / "index",
                             model="hash", model_dir=tmp_path / "models")
    report = build_index(settings, HashEmbedder())
    assert any("å/ä/ö restored" in p for p in report.problems["skadad.md"])
    engine = Engine(settings, HashEmbedder())
    # The repaired form and the OCR form ("6vergripande") are both found by the lexical leg.
    for query in ("Försäkringskassan betalar", "6vergripande malet"):
        hit = engine.search([query], k=1)[0][0]
        assert hit.ranks.get("lexical") == 1
    data = hit_json(hit)
    assert data["ocr_repaired"] is True
    assert "Försäkringskassan betalar ut etableringsersättningen" in data["text"]
    assert "Forsakringskassan betalar ut etableringsersattningen" in data["original_text"]
    assert len(data["original_text"]) == len(data["text"])  # same offsets in both forms


def test_ocr_repair_command_reads_a_file_or_stdin(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from assistant.cli import main

    source = tmp_path / "skadad.txt"
    source.write_text("Forsakringskassan betalar ut\netableringsersattningen.\n", encoding="utf-8")
    assert main(["ocr-repair", str(source)]) == 0
    assert capsys.readouterr().out == "Försäkringskassan betalar ut\netableringsersättningen.\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("De nyanlanda far hjalp pa servicekontoren."))
    assert main(["ocr-repair", "--lang", "sv", "-"]) == 0
    assert capsys.readouterr().out == "De nyanlända får hjälp på servicekontoren.\n"
    assert main(["ocr-repair", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
