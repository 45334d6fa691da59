"""The data that flows between pipeline steps: Document → Chunk → Hit."""

from __future__ import annotations

from dataclasses import dataclass, field

BLOCK_SEPARATOR = "\n\n"
"""What joins a document's blocks into its text: chunk and sentence offsets count it."""

Section = tuple[str, ...]
"""Heading path of a passage, outermost heading first; empty before the first heading."""


@dataclass(frozen=True)
class Block:
    """A paragraph (or heading, or list item) of normalised text from one page."""

    text: str
    page: int | None = None
    section: Section = ()
    kind: str = "paragraph"  # "paragraph" | "heading" | "item"


@dataclass(frozen=True)
class Document:
    """A parsed file: its blocks in reading order and what went wrong while parsing it."""

    doc: str  # path relative to the corpus folder, "/"-separated
    blocks: tuple[Block, ...]
    title: str | None = None  # first heading, if the format has one
    pages: int | None = None  # page count for paged formats
    problems: tuple[str, ...] = ()  # e.g. "page 3: no text extracted — scanned?"
    # The blocks' text as extracted, when a repair (OCR) changed it; same length and offsets.
    original_text: str | None = None


@dataclass(frozen=True)
class DocInfo:
    """Catalog facts about a document, from the catalog file or derived from its text."""

    doc: str
    title: str
    language: str
    publisher: str | None = None
    year: int | None = None
    type: str | None = None  # strategy | report | service
    region: str | None = None
    form: str | None = None


@dataclass(frozen=True)
class Sentence:
    """A sentence of a chunk: character span within the chunk text, its page and section."""

    start: int
    end: int
    page: int | None = None
    section: Section = ()
    lead: str | None = None  # for a list item: the sentence that introduces the list


@dataclass(frozen=True)
class Chunk:
    """A heading-aware, sentence-aligned passage: the unit that is embedded and returned."""

    id: str  # "<doc>#<ordinal>"
    doc: str
    ordinal: int
    section: Section
    page_start: int | None
    page_end: int | None
    start: int  # character offsets into the document's joined block text
    end: int
    text: str
    sentences: tuple[Sentence, ...] = ()
    original: str | None = None  # the text before automatic OCR repair, when repair changed it
    # (short, long) forms of the abbreviations the document defines and this chunk uses
    abbreviations: tuple[tuple[str, str], ...] = ()

    def sentence_texts(self) -> list[str]:
        """The text of each sentence, in order."""
        return [self.text[s.start : s.end] for s in self.sentences]


@dataclass(frozen=True)
class Filters:
    """Restrictions on which documents a search may return; None means any."""

    type: str | None = None
    language: str | None = None
    doc: str | None = None
    year: int | None = None
    region: str | None = None

    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return all(v is None for v in vars(self).values())


@dataclass(frozen=True)
class Hit:
    """A chunk returned by search, with its fused score and best-matching sentences."""

    chunk: Chunk
    info: DocInfo
    score: float
    highlights: tuple[str, ...] = ()
    ranks: dict[str, int] = field(default_factory=dict)  # rank in each retrieval leg, 1-based


@dataclass(frozen=True)
class DocStatus:
    """A corpus document as the catalog lists it: its facts, its size in the index, its state."""

    info: DocInfo
    status: str  # queued | indexing | indexed | failed | removing
    pages: int | None = None
    chunks: int = 0
    problems: tuple[str, ...] = ()  # per-page warnings, e.g. "page 3: no text extracted"
    error: str | None = None  # why indexing failed


@dataclass(frozen=True)
class Turn:
    """An earlier exchange of a conversation: what was asked and what was answered."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class Citation:
    """A quoted sentence (or run of sentences) of a retrieved chunk, numbered as in the answer."""

    n: int
    hit: Hit
    quote: str  # verbatim from the chunk text, whitespace collapsed
    start: int  # character span of the quote within the chunk text
    end: int
    page: int | None  # page and section of the quoted sentence itself
    section: Section


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: a short quoted answer with its citations, or an honest refusal."""

    question: str
    resolved_question: str  # the question as searched, with follow-ups resolved
    language: str  # "sv" or "en": the language the answer is written in
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    closest: tuple[Hit, ...] = ()
    # "answer": quoted sentences stated as the answer; "passages": passages that may answer it,
    # no sentence stated as the answer; "refusal": the documents do not answer it
    mode: str = "answer"
