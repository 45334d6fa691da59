"""Abbreviations a document defines, and spelling them out where they are used."""

from __future__ import annotations

import pytest

from assistant.index.abbreviations import definitions, is_short_form, long_form, spell_out, used


@pytest.mark.parametrize(("text", "expected"), [
    ("Länets strategiska överenskommelse (SÖK) löper under perioden 2019–2025.",
     {"SÖK": "strategiska överenskommelse"}),
    ("Styrgruppen Arbetsmarknadssamverkan Kronoberg (ASK) har ansvar för arbetsmarknad.",
     {"ASK": "Arbetsmarknadssamverkan Kronoberg"}),
    ("The Public Employment Service (PES) decides. Later the PES (again) pays.",
     {"PES": "Public Employment Service"}),
    # Not definitions: a year, an ordinary capitalised word, letters the words lack.
    ("Lagen trädde i kraft (2013) och gäller.", {}),
    ("Se kapitlet om boende (Bilaga) längre fram.", {}),
    ("Regionen samordnar arbetet (XYZ) i länet.", {}),
    # A definition does not reach back across a sentence end.
    ("Strategiskt arbete pågår. Överenskommelsen (SÖ) gäller.", {}),
])
def test_definitions(text: str, expected: dict[str, str]) -> None:
    assert definitions(text) == expected


@pytest.mark.parametrize(("short", "before", "expected"), [
    ("SÖK", "Länets strategiska överenskommelse", "strategiska överenskommelse"),
    ("ESK", "inom projekten Etableringssamverkan Kronoberg", "Etableringssamverkan Kronoberg"),
    ("SÖK", "inom SÖK-processen", None),  # the short form itself is no long form
    ("AB", "helt andra ord", None),
])
def test_long_form(short: str, before: str, expected: str | None) -> None:
    assert long_form(short, before) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("SÖK", True), ("ESF", True), ("IOP", True), ("Sfi", False), ("Bilaga", False),
    ("A", False), ("ABCDEFGHIJKL", False),
])
def test_is_short_form(text: str, expected: bool) -> None:
    assert is_short_form(text) is expected


DEFINED = {"SÖK": "strategiska överenskommelse", "ESK": "Etableringssamverkan Kronoberg"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Arbetet fram till dess att SÖK:en löper ut.", (("SÖK", "strategiska överenskommelse"),)),
    ("Inom ESK och SÖK-processen.", (("ESK", "Etableringssamverkan Kronoberg"),
                                     ("SÖK", "strategiska överenskommelse"))),
    ("SÖKANDE och SÖKT är andra ord.", ()),
    ("Inget av dem här.", ()),
])
def test_used(text: str, expected: tuple[tuple[str, str], ...]) -> None:
    assert used(text, DEFINED) == expected


def test_spell_out_adds_the_long_form_after_the_first_use_only() -> None:
    text = "SÖK:en löper ut 2025. Efter SÖK kommer en ny."
    assert spell_out(text, used(text, DEFINED)) == (
        "SÖK:en (strategiska överenskommelse) löper ut 2025. Efter SÖK kommer en ny.")


def test_spell_out_leaves_a_text_that_spells_it_out_already() -> None:
    text = "Länets strategiska överenskommelse (SÖK) löper till 2025."
    assert spell_out(text, used(text, DEFINED)) == text
