"""Diacritic-folded tokens for the lexical leg and for matching text loosely."""

from __future__ import annotations

import re
import unicodedata

from assistant.lang import lexicon

_TOKEN = re.compile(r"\w+", re.UNICODE)

# Function words that carry no topic; dropping them keeps OR queries focused.
STOPWORDS = lexicon.words("stopwords")


def fold(text: str) -> str:
    """Lower-case, strip combining marks (å→a, ö→o, é→e) and collapse whitespace."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


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
