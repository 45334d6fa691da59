"""Markdown loader: `#` headings give section paths; markup, footnote marks and images go."""

from __future__ import annotations

import html
import re
from collections import Counter

from assistant.ingest.furniture import is_page_number, is_toc_line, letters_key
from assistant.ingest.normalize import clean_chars, collapse_whitespace, decode, dehyphenate
from assistant.ingest.text import INVALID_UTF8, build_blocks
from assistant.types import Document

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.IGNORECASE)
_FOOTNOTE_SUP = re.compile(r"<sup>\s*[\d*†‡,\s]{1,12}\s*</sup>", re.IGNORECASE)
_FOOTNOTE_REF = re.compile(r"\[\^[^\]]+\](?!:)")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_STRONG = re.compile(r"\*{2,3}|_{2,3}")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_RESULT_MARK = re.compile(r"^[»•–]\s*")


def _link(match: re.Match[str]) -> str:
    text, url = match.group(1).strip(), match.group(2).strip()
    return text or ("" if url.startswith("#") else url)


def inline(text: str) -> str:
    """Plain text of a line of Markdown: no emphasis, links, images, footnote marks or tags."""
    text = _IMAGE.sub("", text)
    text = _FOOTNOTE_SUP.sub("", text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _LINK.sub(_link, text)
    text = _AUTOLINK.sub(r"\1", text)
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = _TAG.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _STRONG.sub("", text)
    text = _EMPHASIS.sub(r"\1", text)
    return collapse_whitespace(html.unescape(text))


def parse_markdown(text: str) -> list[tuple[str, int, str]]:
    """(kind, heading level, text) of each heading, list item and paragraph, in reading order."""
    out: list[tuple[str, int, str]] = []
    para: list[str] = []
    item: list[str] | None = None

    def flush() -> None:
        nonlocal para, item
        if item is not None:
            out.append(("item", 0, dehyphenate("\n".join(item))))
        elif para:
            out.append(("paragraph", 0, dehyphenate("\n".join(para))))
        para, item = [], None

    fence: str | None = None
    for line in _COMMENT.sub("", clean_chars(text)).split("\n"):
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                flush()
            else:
                para.append(line)
            continue
        if match := _FENCE.match(line):
            flush()
            fence = match.group(1)
            continue
        if not line.strip():
            flush()
            continue
        if match := _ATX.match(line):
            flush()
            out.append(("heading", len(match.group(1)), match.group(2) or ""))
            continue
        if (match := _SETEXT.match(line)) and len(para) == 1 and item is None:
            out.append(("heading", 1 if match.group(1)[0] == "=" else 2, para[0]))
            para = []
            continue
        if _RULE.match(line):
            flush()
            continue
        if line.lstrip().startswith("|"):
            flush()
            if not _TABLE_RULE.match(line):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                out.append(("paragraph", 0, " | ".join(c for c in cells if c)))
            continue
        if match := _ITEM.match(line):
            flush()
            item = [match.group(2)]
            continue
        line = re.sub(r"^\s*>\s?", "", line)  # a block quote reads as plain text
        if item is not None:
            item.append(line)
        else:
            para.append(line)
    flush()
    return out


def tidy(parts: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """Clean inline markup and drop furniture: TOC lines, page numbers, repeated running heads."""
    cleaned = []
    for kind, level, raw in parts:
        text = inline(raw)
        if kind == "heading":
            text = text.rstrip(":").rstrip()
        else:
            text = _RESULT_MARK.sub("", text)
        if not text or is_page_number(text) or is_toc_line(text):
            continue
        cleaned.append((kind, level, text))
    # a running header is a block of text (no sentence) printed again on later pages
    counts = Counter(
        letters_key(text)
        for kind, _, text in cleaned
        if kind == "paragraph" and not text.endswith((".", "!", "?", ":"))
    )
    out: list[tuple[str, int, str]] = []
    for kind, level, text in cleaned:
        if kind == "paragraph" and counts.get(letters_key(text), 0) >= 2:
            continue
        first = text[:1]
        prev = out[-1] if out else None
        if (
            prev
            and prev[0] != "heading"
            and kind == "paragraph"
            and first.isalpha()
            and first.islower()
            and not text.startswith(("http", "www."))
            and not prev[2].endswith((".", "!", "?", ":", ";"))
        ):
            out[-1] = (prev[0], 0, f"{prev[2]} {text}")  # a sentence cut by a stray blank line
            continue
        out.append((kind, level, text))
    return out


def parse(data: bytes, doc: str) -> Document:
    """Load a Markdown (.md, .markdown) file's bytes."""
    text, replaced = decode(data)
    parts = tidy(parse_markdown(text))
    blocks, title = build_blocks((kind, level, text, None) for kind, level, text in parts)
    h1 = next((text for kind, level, text in parts if kind == "heading" and level == 1), None)
    return Document(
        doc=doc,
        blocks=blocks,
        title=h1 or title,
        problems=(INVALID_UTF8,) if replaced else (),
    )
