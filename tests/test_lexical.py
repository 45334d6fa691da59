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
