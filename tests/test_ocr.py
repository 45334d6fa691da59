"""Table-driven tests of Swedish OCR repair in assistant.ocr (uses wordfreq's bundled lists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ocr import DAMAGE_THRESHOLD, is_damaged, repair_swedish, swedish_damage

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
        ("Iag", "låg"),
        ("Iagt", "lågt"),
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
