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
