"""Folding: the fast forms give exactly what the definition gives."""

from __future__ import annotations

import unicodedata

import pytest

from assistant.lang.fold import fold


def _by_definition(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@pytest.mark.parametrize("text", [
    "Etableringsersättning betalas ut av Försäkringskassan",
    "ÅÄÖ åäö Éé naïve café", "ﬁnancial ½ ﬃ", "İstanbul", "\u212a Kelvin", "x\u0301y",
    "ẞ ǅ ŉ Ꭰ", "tab\tnew\nline\u00a0nbsp  twice", "plain ascii, Upper Case", "", "   ",
    "Ω\u0342\u0345 ᾯ", "한국어 テスト 中文",
])
def test_fold_is_nfkd_without_combining_marks(text: str) -> None:
    assert fold(text) == _by_definition(text)
    assert fold(text) == _by_definition(text)  # the table filled in by the first call
