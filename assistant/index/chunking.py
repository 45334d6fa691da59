"""Split a parsed document into heading-aware, sentence-aligned chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import BLOCK_SEPARATOR, Block, Chunk, Document, Section, Sentence

# Abbreviations after which a full stop does not end a sentence (Swedish and English).
_ABBREVIATIONS = {
    "t.ex", "bl.a", "s.k", "m.m", "d.v.s", "dvs", "osv", "o.s.v", "jfr", "ca", "resp", "kap",
    "nr", "p.g.a", "pga", "fr.o.m", "t.o.m", "ang", "e.g", "i.e", "vs", "mr", "mrs", "prof",
    "inkl", "exkl", "milj", "tel", "f.d", "sid",
}
_ENUMERATOR = re.compile(r"\(?(\d{1,3}|[a-zA-Z])[.)]")
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before
# whitespace and a capital letter, digit, bullet or opening quote.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)\]]?\s+(?=[\"“‘(\[]?[A-ZÅÄÖÉÜ0-9•–-])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a paragraph, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()]
        last_word = before.rsplit(None, 1)[-1] if before.strip() else ""
        if last_word.rstrip(".!?").lower() in _ABBREVIATIONS and last_word.endswith("."):
            continue
        if _ENUMERATOR.fullmatch(before.strip()):  # "1." or "a)" stays with its item
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [_trim(text, a, b) for a, b in spans if text[a:b].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@dataclass(frozen=True)
class _Piece:
    """A sentence located in the document's joined text."""

    start: int
    end: int
    words: int
    page: int | None
    section: Section
    heading: bool
    lead: str | None = None
    opens_paragraph: bool = False  # the first sentence of a body paragraph (not a list item)
    paragraph_words: int = 0  # when it opens one: the words of the whole paragraph


def document_text(doc: Document) -> str:
    """The document's blocks joined: the text chunk offsets refer to."""
    return BLOCK_SEPARATOR.join(b.text for b in doc.blocks)


def _pieces(blocks: tuple[Block, ...]) -> list[_Piece]:
    pieces: list[_Piece] = []
    offset = 0
    lead = None  # the sentence ending in ":" that introduces the list being read
    previous: Block | None = None  # to tell a new paragraph from one cut by a page break
    for block in blocks:
        # Headings and list items are one piece each; a heading opens its section's chunk,
        # so the passage carries its own title (some answers live in headings).
        whole = block.kind in ("heading", "item")
        spans = [(0, len(block.text))] if whole else split_sentences(block.text)
        item_lead = lead if block.kind == "item" else None
        opens = _opens_paragraph(block, previous)
        for n, (a, b) in enumerate(spans):
            words = len(block.text[a:b].split())
            if words:
                pieces.append(_Piece(offset + a, offset + b, words, block.page, block.section,
                                     block.kind == "heading", item_lead, n == 0 and opens,
                                     len(block.text.split()) if n == 0 and opens else 0))
        if block.kind != "item":
            last = block.text[spans[-1][0]:spans[-1][1]] if spans else ""
            lead = " ".join(last.split()) if last.rstrip().endswith(":") else None
        offset += len(block.text) + len(BLOCK_SEPARATOR)
        previous = block
    return pieces


def _opens_paragraph(block: Block, previous: Block | None) -> bool:
    """A body paragraph that starts something new, not the rest of one cut by a page break."""
    if block.kind != "paragraph":
        return False
    ended = (previous is None or previous.kind != "paragraph"
             or previous.text.rstrip().endswith((".", "!", "?", ":", ")")))
    return ended and not block.text.lstrip()[:1].islower()


def chunk_document(
    doc: Document,
    target_words: int = 90,
    max_words: int = 140,
    overlap_sentences: int = 1,
    min_words: int = 25,
) -> list[Chunk]:
    """Group a document's sentences into chunks that never cross a top-level section.

    A chunk closes when it reaches ``target_words``, before it would pass ``max_words``,
    or, once it holds ``min_words``, at a change of section (so a heading followed by a short
    list still makes one useful passage) or before a paragraph that would not fit whole (so a
    paragraph that answers one thing is not cut across two chunks; short paragraphs are still
    packed together, since in reports they often lean on each other).
    A chunk cut inside a paragraph repeats its last ``overlap_sentences`` sentences in the
    next one.
    """
    text = document_text(doc)
    pieces = _pieces(doc.blocks)
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    words = 0
    for piece in pieces:
        if current:
            section_change = piece.section != current[-1].section
            top_change = piece.section[:1] != current[0].section[:1]
            full = words >= target_words or words + piece.words > max_words
            # bench/RESULTS.md "Paragraph-aligned chunks": also closing at every paragraph of
            # 25 or 50 words was measured, and lost more on the seed sets than it gained
            paragraph = piece.opens_paragraph and words + piece.paragraph_words > target_words
            if full or top_change or ((section_change or paragraph) and words >= min_words):
                groups.append(current)
                carry = overlap_sentences and not (section_change or piece.opens_paragraph)
                keep = current[-overlap_sentences:] if carry else []
                if sum(p.words for p in keep) + piece.words > max_words:
                    keep = []
                current = list(keep)
                words = sum(p.words for p in current)
        current.append(piece)
        words += piece.words
    if current:
        groups.append(current)
    return [_make_chunk(doc.doc, i, group, text, doc.original_text)
            for i, group in enumerate(groups)]


def _make_chunk(doc: str, ordinal: int, group: list[_Piece], text: str,
                original: str | None = None) -> Chunk:
    start, end = group[0].start, group[-1].end
    pages = [p.page for p in group if p.page is not None]
    sentences = tuple(
        Sentence(p.start - start, p.end - start, p.page, p.section, p.lead) for p in group
    )
    return Chunk(
        id=f"{doc}#{ordinal}",
        doc=doc,
        ordinal=ordinal,
        # The section of its first body sentence: headings merged in above it only lead there.
        section=next((p.section for p in group if not p.heading), group[0].section),
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        start=start,
        end=end,
        text=text[start:end],
        sentences=sentences,
        original=original[start:end] if original and original[start:end] != text[start:end]
        else None,
    )
