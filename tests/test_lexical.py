"""Folding and query terms."""

from __future__ import annotations

import pytest

from assistant.index.store import fts_match
from assistant.lang.fold import fold, query_terms, tokens


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Försäkringskassan", "forsakringskassan"), ("  Å  ä\nÖ é ", "a a o e"),
     ("ÅRSREDOVISNING", "arsredovisning")],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_tokens_and_terms() -> None:
    assert tokens("Vem betalar ut etablerings-ersättning?") == [
        "vem", "betalar", "ut", "etablerings", "ersattning"]
    assert query_terms("Who pays the establishment benefit? Who?") == [
        "pays", "establishment", "benefit"]


@pytest.mark.parametrize(
    ("words", "prefix_min", "match"),
    [
        (["betalar", "ersattning", "ut", "betalar"], 5, '"betalar"* OR "ersattning"* OR "ut"'),
        (["betalar", "ut"], 8, '"betalar" OR "ut"'),
        ([], 5, ""),
    ],
)
def test_fts_match_prefixes_long_words(words: list[str], prefix_min: int, match: str) -> None:
    assert fts_match(words, prefix_min) == match


def test_every_language_has_a_refusal_and_question_cues() -> None:
    # Adding a language means adding a folder: these lists make its questions answerable.
    from assistant.lang import lexicon

    for language in lexicon.languages():
        for name in ("refusal", "question_cues", "detect_codes", "question_words"):
            assert lexicon.entries(name, language), f"data/{language}/{name}.txt is missing"


def test_an_absent_list_matches_nothing() -> None:
    import re

    from assistant.lang import lexicon

    assert re.search(rf"\b(?:{lexicon.alternation('no_such_list')})\b", "any text") is None
    assert lexicon.words("no_such_list") == frozenset()
