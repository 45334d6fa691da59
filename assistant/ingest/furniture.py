"""Pure text clean-up of what is not the text: page numbers, running headers and footers,
tables-of-contents lines, web navigation remnants, logo text and OCR debris."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from assistant.ingest.normalize import (
    EDGE_PUNCT,
    LIGATURES,
    ONE_LETTER_WORDS,
    collapse_whitespace,
    is_word,
    letter_count,
)
from assistant.lang import lexicon

__all__ = [
    "clean_ocr_line",
    "drop_repeated_stacks",
    "is_boilerplate",
    "is_debris",
    "is_page_number",
    "is_toc_line",
    "letters_key",
    "strip_running_lines",
]

# --- page furniture ---------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    rf"^[-–—(\[]?\s*(?:(?:{lexicon.alternation('page_labels')})\s*)?\d{{1,4}}"
    rf"(?:\s*(?:{lexicon.alternation('page_of')}|/)\s*\d{{1,4}}|\s*\(\d{{1,4}}\))?\s*[-–—)\]]?$",
    re.IGNORECASE,
)
# Judgement calls, set on the corpus's PDFs and OCR'd scans (tests/test_normalize.py pins them):
RUNNING_EDGE = 3  # lines at the top and bottom of a page where running headers and footers stand
STACK_WORDS = 3  # a logo's stacked lines have at most this many words each
LIGATURE_SHARE = 0.3  # a token this much ligature glyphs is picture texture read as text
DEBRIS_SHARE = 0.5  # a line with less than this share of word letters and digits is debris
_TOC_LINE = re.compile(r"^.*?\S\s*(?:\.{3,}|…{2,}|(?:\. ?){4,}|·{3,}|_{4,})\s*\.?\s*\d{1,4}\s*$")
_BOILERPLATE = re.compile(
    rf"^(?:{lexicon.alternation('navigation')}|mailto:\S+)$", re.IGNORECASE)


def is_page_number(line: str) -> bool:
    """True for a line that is only a page number: "12", "- 12 -", "Sida 3 av 10", "3 (16)"."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def is_toc_line(line: str) -> bool:
    """True for a table-of-contents line with a dot leader: "Inledning ........ 4"."""
    return bool(_TOC_LINE.match(line.strip()))


def is_boilerplate(line: str) -> bool:
    """True for web navigation remnants such as "Skip to Content"."""
    return bool(_BOILERPLATE.match(line.strip()))


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", collapse_whitespace(line).lower())


def strip_running_lines(pages: Sequence[str], edge: int = RUNNING_EDGE) -> list[str]:
    """Remove lines repeated near the top or bottom of most pages (running headers, footers)."""
    zones: list[list[str]] = []
    for page in pages:
        lines = [line for line in page.split("\n") if line.strip()]
        zones.append(lines[:edge] + lines[-edge:])
    counts = Counter(key for zone in zones for key in {_furniture_key(line) for line in zone})
    text_pages = sum(1 for zone in zones if zone)
    needed = max(2, (text_pages + 1) // 2)
    running = {key for key, n in counts.items() if n >= needed}
    if not running:
        return list(pages)
    out = []
    for page in pages:
        lines = page.split("\n")
        nonblank = [i for i, line in enumerate(lines) if line.strip()]
        zone = set(nonblank[:edge] + nonblank[-edge:])
        out.append(
            "\n".join(
                line
                for i, line in enumerate(lines)
                if i not in zone or _furniture_key(line) not in running
            )
        )
    return out


def letters_key(text: str) -> str:
    """The letters of a text, lower-cased: repeated logo text and page furniture compare equal
    whatever their spacing, digits and punctuation."""
    return "".join(ch for ch in text.lower() if ch.isalpha())


def _stack_key(lines: Sequence[str]) -> str:
    return letters_key(" ".join(lines))


def drop_repeated_stacks(lines: Sequence[str], max_words: int = STACK_WORDS) -> list[str]:
    """Drop stacks of short lines (a logo's text) set off by blank lines and seen twice or more."""
    stacks: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        if j - i >= 2 and all(len(line.split()) <= max_words for line in lines[i:j]):
            stacks.append((i, j))
        i = j
    counts = Counter(_stack_key(lines[a:b]) for a, b in stacks)
    drop = {
        k for a, b in stacks if counts[_stack_key(lines[a:b])] >= 2 for k in range(a, b)
    }
    return [line for k, line in enumerate(lines) if k not in drop]


# --- OCR debris -------------------------------------------------------------------------------

_OCR_BULLET = re.compile(r"^(\s*)[e¢o©]\s+(?=[A-ZÅÄÖ])")  # "•" read as "e", "¢", "o" or "©"
_PIPE_AS_I = re.compile(r"(?:^|(?<=[.!?]\s))\|(?=\s+[^\W\d_])")
_JUNK_CHARS = set("®©¥¢£¤~^\\<>=|¦¬`™#")
_LEGIT_SYMBOLS = {"-", "–", "—", "/", "...", "…", "•", "*", "»"}
_LEGIT_CHARS = set("%§&+€$")
_KEEP_LEADING = {"-", "–", "—", "•", "*", "»", "§", "§§"}


def _is_address(token: str) -> bool:
    return "://" in token or "@" in token or token.startswith("www.")


def _is_junk(token: str) -> bool:
    if _is_address(token):
        return False
    ligatures = sum("\ufb00" <= ch <= "\ufb06" for ch in token)
    if ligatures >= 2 and ligatures > LIGATURE_SHARE * letter_count(token):
        return True  # "ﬂ.ﬂﬂﬁlﬁ": OCR reads ligature glyphs into the texture of a picture
    if any(ch in _JUNK_CHARS for ch in token):
        return True
    if any(ch.isalnum() or ch in _LEGIT_CHARS for ch in token):
        return False
    return token not in _LEGIT_SYMBOLS


def _strippable_lead(token: str) -> bool:
    if token in _KEEP_LEADING:
        return False
    core = token.strip(EDGE_PUNCT)
    if not any(ch.isalnum() for ch in token):
        return True
    return letter_count(core) == 1 and len(core) == 1 and core.lower() not in ONE_LETTER_WORDS


def _caps_run(tokens: Sequence[str]) -> int:
    """How many leading all-capital tokens are figure text glued before lowercase prose."""
    n = 0
    while n < len(tokens) and is_word(tokens[n]) and tokens[n].strip(EDGE_PUNCT).isupper():
        n += 1
    if n == 0 or n >= len(tokens) or len(tokens) - n < 3:
        return 0
    letters = sum(letter_count(t) for t in tokens[:n])
    following = tokens[n].strip(EDGE_PUNCT)
    if not is_word(following):
        return 0
    hyphenated = n == 1 and bool(re.fullmatch(r"[^\W\d_]{2,}-[^\W\d_]{2,}", tokens[0]))
    if following[:1].islower() and ((n >= 2 and letters >= 5) or letters >= 8 or hyphenated):
        return n  # "FOR ALLA vuxnas möjligheter"; one acronym ("UNHCR and") stays
    if n == 1 and letters >= 8 and len(tokens) >= 6:
        return n  # "GODHALSAOCH En stor del av ..."
    return 0


def clean_ocr_line(line: str) -> str:
    """Repair one OCR'd line: "|" read for "I", "e" for a bullet, junk tokens from figures."""
    indent = line[: len(line) - len(line.lstrip())]
    body = line.strip()
    if not body:
        return ""
    candidates = len(_PIPE_AS_I.findall(body))
    if candidates and candidates == body.count("|"):
        body = _PIPE_AS_I.sub("I", body)
    body = _OCR_BULLET.sub(r"\1• ", body)
    raw = body.split()
    if len(raw) > 1 and raw[0].isdigit() and _is_junk(raw[1]):
        raw = raw[1:]  # a number printed on an icon, read together with the icon's debris
    tokens = [t for t in raw if not _is_junk(t)]
    while tokens and _strippable_lead(tokens[0]):
        tokens.pop(0)
    tokens = tokens[_caps_run(tokens) :]
    return (indent + " ".join(tokens).translate(LIGATURES)) if tokens else ""


def is_debris(line: str) -> bool:
    """True for a line of logo or figure debris: no real word, or mostly symbols."""
    tokens = line.split()
    if not tokens:
        return False
    word_letters = sum(
        len(t) if _is_address(t) else letter_count(t)
        for t in tokens
        if _is_address(t) or (letter_count(t) >= 2 and is_word(t))
    )
    if word_letters == 0:
        return True
    digits = sum(ch.isdigit() for ch in line)
    nonspace = sum(not ch.isspace() for ch in line)
    return (word_letters + digits) / nonspace < DEBRIS_SHARE
