"""Pure text structure: lines joined into paragraphs, and paragraphs classified as headings,
list items and body text; tables of contents and walls of logos dropped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.ingest.furniture import is_page_number, is_toc_line
from assistant.ingest.normalize import (
    EDGE_PUNCT,
    HYPHENS,
    is_word,
    join_lines,
    letter_count,
    wrap_width,
)
from assistant.lang import lexicon

__all__ = [
    "Paragraph",
    "classify",
    "drop_toc",
    "is_title_like",
    "logo_walls",
    "numbered_heading",
    "paragraphs",
    "strip_bullet",
]

# --- paragraphs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """A run of source lines joined into one paragraph, and how it was set off from others."""

    text: str
    lines: int = 1  # how many source lines were joined
    alone: bool = True  # set off by blank lines (or an unmistakable break) on both sides


_BULLET = re.compile(r"^\s*(?:[•●◦▪▫■□‣⁃∙·*»–—-]|\d{1,2}[.)]|[a-h]\))\s+(?=\S)")
_TERMINAL = tuple(".!?:")
_UNWRAPPED = 160  # wider than any page column: each line is a paragraph of its own
# Judgement calls, set on the layouts of the corpus's PDFs and OCR'd text (tests/test_ingest.py
# and tests/test_normalize.py pin what they do):
WRAP_FILL = 0.9  # a line that left this share of the width unused before the next word ended early
NARROW_COLUMN = 0.6  # a group of lines this much narrower than the page is a column of its own
BODY_WORDS = 8  # a paragraph of at least this many words is running text, not a title or label
TITLE_WORDS = 8  # a title has at most this many words; the document's first line up to
FIRST_TITLE_WORDS = 20
CHAPTER_TITLE_WORDS = 10  # the title of a numbered chapter line has at most this many words
TOC_RUN = 3  # bare chapter lines in a row that make a table of contents
LOGO_RUN, LOGO_WORDS = 5, 4  # a wall of logos: at least LOGO_RUN texts of at most LOGO_WORDS
ITEM_WORDS, ENUMERATED_ITEM_WORDS = 12, 40  # longest list item after a lead-in ending in ":"
FIRST_CHAPTER_STEP, CHAPTER_STEP = 30, 3  # how far a chapter number may jump (first / later)
WORDISH_LETTERS = 0.7  # share of letters that makes an odd token count as a word in a title
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})(\.?)\s+(\S.*)$")


def _first_word(line: str) -> str:
    parts = line.split()
    return parts[0] if parts else ""


def _breaks_before(prev: str, line: str, width: int) -> bool:
    """True where a wrapped text starts a new paragraph on `line` although no blank line came."""
    prev_s, line_s = prev.strip(), line.strip()
    if _BULLET.match(line_s):
        return True
    if prev_s.endswith(_TERMINAL) and (line[:1].isspace() or _NUMBERED.match(line_s)):
        return True  # an indented first line, or a numbered heading after a finished sentence
    if re.search(rf"[^\W\d_][{HYPHENS}]$", prev_s):
        return False
    fits = len(prev_s) + 1 + len(_first_word(line_s)) <= WRAP_FILL * width
    starts = line_s[:1]
    return fits and (prev_s.endswith(_TERMINAL) or starts.isupper() or starts.isdigit())


def _continues(prev: Paragraph, nxt: Paragraph) -> bool:
    """True where a blank line (from a figure beside the text) cut a sentence in two."""
    first = nxt.text[:1]
    long_enough = prev.lines >= 2 or len(prev.text.split()) >= BODY_WORDS
    return (
        long_enough
        and first.isalpha()
        and first.islower()
        and not prev.text.endswith((".", "!", "?", ":", ";"))
        and not _BULLET.match(nxt.text)
    )


def paragraphs(text: str, width: int | None = None) -> list[Paragraph]:
    """Split text into paragraphs: blank lines always break, wrapped lines are joined."""
    lines = text.split("\n")
    width = wrap_width(lines) if width is None else width
    wrapped = 0 < width <= _UNWRAPPED
    groups: list[list[str]] = []
    for line in lines:
        if line.strip():
            if groups and groups[-1]:
                groups[-1].append(line)
            else:
                groups.append([line])
        elif groups and groups[-1]:
            groups.append([])
    out: list[Paragraph] = []
    for group in (g for g in groups if g):
        # a narrower column (text beside a figure) wraps earlier than the page's usual width
        local = max(len(line.strip()) for line in group)
        if len(group) < 3 or local < NARROW_COLUMN * width or local > width:
            local = width
        segments: list[list[str]] = [[group[0]]]
        for prev, line in zip(group, group[1:], strict=False):
            if not wrapped or _breaks_before(prev, line, local):
                segments.append([line])
            else:
                segments[-1].append(line)
        # in wrapped text a clear break counts as a blank line; in unwrapped text it does not
        alone = wrapped or len(segments) == 1
        out.extend(Paragraph(join_lines(seg), len(seg), alone) for seg in segments)
    if not wrapped:
        return [p for p in out if p.text]
    merged: list[Paragraph] = []
    for para in out:
        if merged and _continues(merged[-1], para):
            prev = merged.pop()
            para = Paragraph(f"{prev.text} {para.text}", prev.lines + para.lines, prev.alone)
        merged.append(para)
    return [p for p in merged if p.text]


# --- headings, items, tables of contents ------------------------------------------------------


def strip_bullet(text: str) -> str | None:
    """The text of a list item without its bullet or number, or None if it is no list item."""
    match = _BULLET.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    return re.sub(r"^[»•–-]\s+", "", rest)


# A line ending in one of these is a wrapped sentence, not a title.
_CONNECTORS = lexicon.words("connectors")


def _wordish(token: str) -> bool:
    core = token.strip(EDGE_PUNCT)
    return is_word(token) or (
        core[:1].isalpha() and letter_count(core) >= WORDISH_LETTERS * len(core)
    )


def is_title_like(line: str, max_words: int = TITLE_WORDS) -> bool:
    """True for a short heading-shaped line: capital first, few words, no final period."""
    text = line.strip()
    words = text.split()
    if not words or len(words) > max_words or is_page_number(text) or is_toc_line(text):
        return False
    first = text[0]
    if not (first.isalpha() and first.isupper()) or text.endswith((".", ",", ";", ":")):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 2 and all(ch.isupper() for ch in letters):
        return False  # all-capital lines in these texts are logo and figure text
    if text.count(",") > 1 or _BULLET.match(text) or words[-1].lower() in _CONNECTORS:
        return False
    return sum(_wordish(w) for w in words) >= max(1, (len(words) + 1) // 2)


def numbered_heading(line: str) -> tuple[tuple[int, ...], bool] | None:
    """Numbers of a chapter line ("9 Ansvarsfördelning", "2.3 Mål") and whether they end in "."."""
    match = _NUMBERED.match(line.strip())
    if not match:
        return None
    numbers = tuple(int(n) for n in match.group(1).split("."))
    title = match.group(3)
    capitalised = title[:1].isalpha() and title[:1].isupper()
    if not capitalised or len(title.split()) > CHAPTER_TITLE_WORDS:
        return None
    if title.endswith((".", ",", ";", ":")) or title.count(",") > 1:
        return None
    if sum(is_word(w) for w in title.split()) < (len(title.split()) + 1) // 2:
        return None
    return numbers, bool(match.group(2))


def drop_toc(paras: Sequence[Paragraph]) -> list[bool]:
    """Which paragraphs to keep: dot-leader lines and runs of bare chapter titles are dropped."""
    keep = [not is_toc_line(p.text) for p in paras]
    i = 0
    while i < len(paras):
        j = i
        tops: set[int] = set()
        while j < len(paras) and paras[j].lines == 1:
            numbered = numbered_heading(paras[j].text)
            if numbered is None:
                break
            tops.add(numbered[0][0])
            j += 1
        if j - i >= TOC_RUN and len(tops) >= 2:
            for k in range(i, j):
                keep[k] = False
        i = max(j, i + 1)
    return keep


def logo_walls(
    texts: Sequence[str], run: int = LOGO_RUN, max_words: int = LOGO_WORDS
) -> list[bool]:
    """Which texts to keep: runs of many very short non-sentences (a wall of logos) are dropped."""
    # "Diarienummer: 1539-2023-1" is a colophon's fact, not a logo
    short = [
        len(t.split()) <= max_words and not t.endswith(_TERMINAL) and ": " not in t
        for t in texts
    ]
    keep = [True] * len(texts)
    i = 0
    while i < len(texts):
        j = i
        while j < len(texts) and short[j]:
            j += 1
        if j - i >= run:
            keep[i:j] = [False] * (j - i)
        i = max(j, i + 1)
    return keep


def _is_body(para: Paragraph) -> bool:
    return len(para.text.split()) >= BODY_WORDS or para.text.endswith((".", "!", "?"))


def _short_item(para: Paragraph) -> bool:
    words = len(para.text.split())
    enumerated = bool(re.match(r"^\d{1,2}[.)]\s", para.text))
    return para.lines == 1 and (
        (words <= ITEM_WORDS and not para.text.endswith("."))
        or (enumerated and words <= ENUMERATED_ITEM_WORDS)
    )


def classify(paras: Sequence[Paragraph]) -> list[tuple[str, int, str]]:
    """Kind ("heading", "item", "paragraph"), heading level (0 otherwise) and text of each."""
    n = len(paras)
    items = [False] * n
    for i, para in enumerate(paras):
        if para.text.endswith(":"):
            j = i + 1
            while j < n and _short_item(paras[j]) and not paras[j].text.endswith(":"):
                j += 1
            if j - i - 1 >= 2:
                for k in range(i + 1, j):
                    items[k] = True
    out: list[tuple[str, int, str]] = [("paragraph", 0, p.text) for p in paras]
    last_top, depth = 0, 0
    for i, para in enumerate(paras):
        text = para.text
        bullet = strip_bullet(text)
        numbered = numbered_heading(text) if para.lines == 1 and para.alone else None
        if numbered and not items[i]:
            numbers, _dot = numbered
            top = numbers[0]
            # chapters count upwards; a "chapter" out of step is a footnote or a list
            step = FIRST_CHAPTER_STEP if last_top == 0 else CHAPTER_STEP
            if (len(numbers) == 1 and last_top < top <= last_top + step) or (
                len(numbers) > 1 and top in (last_top, last_top + 1)
            ):
                last_top, depth = top, len(numbers)
                out[i] = ("heading", depth, text)
                continue
        if bullet is not None and not (numbered and not items[i]):
            out[i] = ("item", 0, bullet)
        elif items[i]:
            out[i] = ("item", 0, text)
    # unnumbered headings: decided back to front, since a heading may introduce another heading
    levels = [0] * n
    depth = 0
    depths = []
    for kind, level, _ in out:
        if kind == "heading":
            depth = level
        depths.append(depth)
    for i in range(n - 1, -1, -1):
        para = paras[i]
        if out[i][0] != "paragraph" or para.lines != 1:
            continue
        title = re.sub(r"^\d{1,2}\.\s+", "", para.text)
        nxt = paras[i + 1] if i + 1 < n else None
        introduces = nxt is not None and (
            _is_body(nxt) or out[i + 1][0] in ("heading", "item") or levels[i + 1] > 0
        )
        first = i == 0 and is_title_like(title, max_words=FIRST_TITLE_WORDS)
        if para.alone and ((is_title_like(title) and introduces) or first):
            levels[i] = depths[i] + 1
    return [
        ("heading", levels[i], text) if levels[i] else (kind, level, text)
        for i, (kind, level, text) in enumerate(out)
    ]
