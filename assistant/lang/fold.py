"""Diacritic-folded tokens for the lexical leg and for matching text loosely."""

from __future__ import annotations

import re
import unicodedata

from assistant.lang import lexicon

_TOKEN = re.compile(r"\w+", re.UNICODE)

# Function words that carry no topic; dropping them keeps OR queries focused.
STOPWORDS = lexicon.words("stopwords")


class _Marks(dict[int, int | None]):
    """A `str.translate` table that drops combining marks, filled in as characters are met
    (a look-up in C for every character after its first, not a Python call per character)."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_MARKS = _Marks()


def fold(text: str) -> str:
    """Lower-case, strip combining marks (å→a, ö→o, é→e) and collapse whitespace: NFKD, then
    every character whose canonical combining class is not 0 dropped (ASCII has none)."""
    lower = text.lower()
    if lower.isascii():
        return " ".join(lower.split())
    return " ".join(unicodedata.normalize("NFKD", lower).translate(_MARKS).split())


def tokens(text: str) -> list[str]:
    """Folded word tokens of a text, in order."""
    return _TOKEN.findall(fold(text))


def query_terms(text: str) -> list[str]:
    """Distinct folded content words of a query, in first-seen order."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        if token not in STOPWORDS and (len(token) > 1 or token.isdigit()):
            seen.setdefault(token, None)
    return list(seen)
