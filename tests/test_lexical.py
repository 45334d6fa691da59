"""Folding and query terms."""

from __future__ import annotations

import pytest

from assistant.lexical import fold, query_terms, tokens
from assistant.search import fts_query


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


def test_fts_query_prefixes_long_terms() -> None:
    assert fts_query("Vem betalar ersättning", prefix_min=5) == '"betalar"* OR "ersattning"*'
    assert fts_query("vad är det", prefix_min=5) == ""
