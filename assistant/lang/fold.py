"""Diacritic-folded tokens for the lexical leg and for matching text loosely."""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\w+", re.UNICODE)

# Function words that carry no topic; dropping them keeps OR queries focused.
STOPWORDS = frozenset(
    """
    a an and are as at be by can do does for from has have how i in is it its of on or that the
    their there these this to was were what when where which who whom why will with
    att av de den det dem din du eller en ett for fran har hon hur i inom jag kan med men mot
    nar och om pa sig sin ska som till under var vad vem vilka vilken vilket vid ar ni oss
    """.split()
)


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
