"""Folding and query terms."""

from __future__ import annotations

import pytest

from assistant.lang.fold import fold, query_terms, tokens
from assistant.retrieval.search import FusionParams, word_query


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
    ("compounds", "expected"),
    [
        ("split", ("lexical", '"betalar"* OR "ersattning"* OR "ut"')),
        ("none", ("lexical", 'text : ("betalar"* OR "ersattning"* OR "ut")')),
        ("ngrams", ("ngrams", '"ala" OR "bet" OR "eta" OR "lar" OR "tal" OR "att" OR "ers" OR '
                              '"ing" OR "nin" OR "rsa" OR "sat" OR "tni" OR "ttn"')),
    ],
)
def test_word_query_prefixes_long_words(compounds: str, expected: tuple[str, str]) -> None:
    params = FusionParams(compounds=compounds)
    assert word_query(["betalar", "ersattning", "ut", "betalar"], params) == expected
    assert word_query([], params)[1] == ""


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
