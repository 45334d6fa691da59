"""Plain-text loader: paragraphs, detected headings (numbered chapters too) and section paths."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.ingest.furniture import (
    clean_ocr_line,
    drop_repeated_stacks,
    is_boilerplate,
    is_debris,
    is_page_number,
)
from assistant.ingest.normalize import clean_chars, decode
from assistant.ingest.paragraphs import Paragraph, classify, drop_toc, logo_walls, paragraphs
from assistant.lang import lexicon
from assistant.types import Block, Document, Section

INVALID_UTF8 = "invalid UTF-8: undecodable bytes were replaced with U+FFFD"
_TOC_TITLES = lexicon.words("toc_titles")


class Outline:
    """The heading path at the current point of a document, outermost heading first."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    @property
    def path(self) -> Section:
        """The current section path."""
        return tuple(title for _, title in self._stack)

    def close(self, level: int) -> None:
        """End every open section at `level` or deeper."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()

    def open(self, level: int, title: str) -> Section:
        """Start a section at `level`; returns the path including it.

        Converted reports often give sibling headings different levels ("## Delmål 1" then
        "#### Delmål 2"); a heading that continues a numbered series of an open section, or
        repeats its title, closes that section instead of nesting inside it.
        """
        series = _series(title)
        for open_level, open_title in self._stack:
            if open_title.casefold() == title.casefold() or (
                series and _series(open_title) == series
            ):
                level = min(level, open_level)
                break
        self.close(level)
        self._stack.append((level, title))
        return self.path


_NUMBERED = re.compile(r"(\D{2,60}?)\s*\d+\b")


def _series(title: str) -> str | None:
    """The label of a numbered heading ("delmål" for "Delmål 2 – Andelen …"), else None."""
    match = _NUMBERED.match(title)
    return " ".join(match.group(1).casefold().split()) if match else None


def is_toc_title(title: str) -> bool:
    """True for the heading of a table of contents ("Innehåll", "Contents")."""
    return title.strip().strip(":").lower() in _TOC_TITLES


def build_blocks(
    roles: Iterable[tuple[str, int, str, int | None]],
) -> tuple[tuple[Block, ...], str | None]:
    """Blocks with section paths from (kind, level, text, page) in reading order, and the title."""
    roles = list(roles)
    walls = logo_walls([text if kind == "paragraph" else "." for kind, _, text, _ in roles])
    outline = Outline()
    blocks: list[Block] = []
    title = None
    for (kind, level, text, page), keep in zip(roles, walls, strict=True):
        if not keep:
            continue
        if kind == "heading":
            if is_toc_title(text):
                outline.close(level)
                continue
            if blocks and blocks[-1].kind == "heading" and blocks[-1].text == text:
                continue  # the same heading twice in a row (a page's teaser and its title)
            section = outline.open(level, text)
            title = title or text
        else:
            section = outline.path
        blocks.append(Block(text=text, page=page, section=section, kind=kind))
    return tuple(blocks), title


def _is_label(line: str) -> bool:
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters) and len(line.split()) <= 4


def _drop_figure_labels(lines: list[str | None]) -> list[str | None]:
    """Drop all-capital short lines next to debris (None): the text of a logo or an icon."""
    changed = True
    while changed:
        changed = False
        filled = [i for i, line in enumerate(lines) if line != ""]
        for a, i in enumerate(filled):
            line = lines[i]
            if line is None or not _is_label(line):
                continue
            near = [filled[k] for k in (a - 1, a + 1) if 0 <= k < len(filled)]
            if any(lines[k] is None for k in near):
                lines[i] = None
                changed = True
    return lines


def clean_lines(text: str) -> list[str]:
    """Lines of extracted or OCR'd text with debris, page numbers and navigation removed."""
    out: list[str | None] = []  # None marks debris, "" a blank or a neutral dropped line
    for raw in drop_repeated_stacks(text.split("\n")):
        if not raw.strip():
            out.append("")
            continue
        line = clean_ocr_line(raw)
        shrunk = len(line.split()) < len(raw.split())
        if not line.strip() or is_debris(line) or (shrunk and _is_label(line)):
            out.append(None)
        elif is_page_number(line) or is_boilerplate(line):
            out.append("")
        else:
            out.append(line)
    # removed debris leaves no gap: the text around it may be one paragraph
    return [line for line in _drop_figure_labels(out) if line is not None]


def roles_of(
    paras: Sequence[Paragraph], pages: Sequence[int | None]
) -> list[tuple[str, int, str, int | None]]:
    """Classify paragraphs (tables of contents dropped) and pair them with their pages."""
    keep = drop_toc(paras)
    kept = [p for p, k in zip(paras, keep, strict=True) if k]
    kept_pages = [pg for pg, k in zip(pages, keep, strict=True) if k]
    return [(*role, pg) for role, pg in zip(classify(kept), kept_pages, strict=True)]


def parse_text(text: str, doc: str, problems: Sequence[str] = ()) -> Document:
    """A Document from the plain text of a file."""
    lines = clean_lines(clean_chars(text))
    paras = paragraphs("\n".join(lines))
    blocks, title = build_blocks(roles_of(paras, [None] * len(paras)))
    return Document(doc=doc, blocks=blocks, title=title, problems=tuple(problems))


def parse(data: bytes, doc: str) -> Document:
    """Load a plain-text (.txt) file's bytes."""
    text, replaced = decode(data)
    return parse_text(text, doc, [INVALID_UTF8] if replaced else [])
