"""Pure text clean-up of characters and words: Unicode, odd spaces, word shapes, hyphenation
and line wrapping. Page furniture and OCR debris are in ``furniture``, paragraphs and headings
in ``paragraphs``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.lang import lexicon

__all__ = [
    "EDGE_PUNCT",
    "LIGATURES",
    "HYPHENS",
    "ONE_LETTER_WORDS",
    "clean_chars",
    "collapse_whitespace",
    "decode",
    "dehyphenate",
    "is_word",
    "join_lines",
    "letter_count",
    "wrap_width",
]

# --- characters -------------------------------------------------------------------------------

_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")  # soft hyphen, zero-width marks
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)


def decode(data: bytes) -> tuple[str, bool]:
    """Decode UTF-8 (BOM allowed); on invalid bytes use replacement characters and say so."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", errors="replace"), True


def clean_chars(text: str) -> str:
    """NFC-normalise and tidy characters: line ends, odd spaces, invisible and control marks."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _SPACES.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    return _CONTROL.sub("", text)


def collapse_whitespace(text: str) -> str:
    """Turn every run of whitespace into one space and trim the ends."""
    return " ".join(text.split())


# --- words ------------------------------------------------------------------------------------

EDGE_PUNCT = "\"'“”‘’«»()[]{}.,;:!?*…"
_WORD_SHAPE = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*-?$")
_VOWELS = set("aeiouyåäöæøéèêëáàâíìîïóòôõúùûü")
ONE_LETTER_WORDS = lexicon.words("one_letter_words")


def letter_count(token: str) -> int:
    return sum(ch.isalpha() for ch in token)


def is_word(token: str) -> bool:
    """True if a token looks like a real word (letters, sane case, a vowel), punctuation aside."""
    core = token.strip(EDGE_PUNCT)
    if len(core) == 1:
        return core.lower() in ONE_LETTER_WORDS
    if not _WORD_SHAPE.match(core):
        return False
    latin = any(ch.lower() <= "ɏ" for ch in core)  # other scripts (Arabic, Cyrillic) pass
    if latin and not _VOWELS & set(core.lower()):
        return False
    parts = [p for p in re.split(r"[-'’]", core) if p]
    return all(
        p.islower() or p.isupper() or (p[0].isupper() and p[1:].islower()) or p.lower() == p
        for p in parts
    )


# --- hyphenation and wrapping -----------------------------------------------------------------

HYPHENS = "-‐‑"
_LINE_HYPHEN = re.compile(rf"(\S*?)([^\W_])[{HYPHENS}][ \t]*\n[ \t]*(\S+)")
# After "hälso-" these words mean the hyphen is a real, suspended one: "hälso- och sjukvård".
_SUSPENDING = lexicon.words("suspending_words")


def _hyphen_join(match: re.Match[str]) -> str:
    head, last, nxt = match.group(1), match.group(2), match.group(3)
    word = (head + last).strip(EDGE_PUNCT)
    if nxt.lower().strip(",") in _SUSPENDING or nxt.rstrip(",").endswith(tuple(HYPHENS)):
        return f"{head}{last}- {nxt}"
    if last.isdigit() or nxt[0].isdigit() or (len(word) > 1 and word.isupper()):
        return f"{head}{last}-{nxt}"  # "20-64", "LMA-ersättning"
    if nxt[0].isupper():
        return f"{head}{last}-{nxt}"  # "Blekinge-Kronoberg"
    return f"{head}{last}{nxt}"


def dehyphenate(text: str) -> str:
    """Rejoin words split by a hyphen at a line break; keep real and suspended hyphens."""
    return _LINE_HYPHEN.sub(_hyphen_join, text)


def join_lines(lines: Sequence[str]) -> str:
    """Join the lines of one paragraph: rejoin hyphenated words, then collapse whitespace."""
    return collapse_whitespace(dehyphenate("\n".join(line.strip() for line in lines)))


# The wrap width is this percentile of line lengths: a few long lines (URLs, tables) do not
# set it (judgement call).
WRAP_PERCENTILE = 0.9


def wrap_width(lines: Sequence[str]) -> int:
    """The width text was wrapped at: the 90th percentile of non-blank line lengths."""
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    if not lengths:
        return 0
    return lengths[min(len(lengths) - 1, int(len(lengths) * WRAP_PERCENTILE))]
