"""The storage seam: what retrieval, answering and the Library need from a built index, and
what a build needs to write one.

Today's implementation is FAISS + SQLite segments (`assistant.index.store`); another
backend implements the same two protocols. Rows are opaque ints that the store hands out and
takes back; nothing here assumes they are positions, contiguous or dense.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.types import Chunk, DocInfo


@dataclass(frozen=True)
class StoredDocument:
    """A document's catalog facts, chunks and vectors, as written to (or read from) a store."""

    info: DocInfo
    fingerprint: str  # sha256 of the file's bytes and its catalog entry: unchanged → reusable
    pages: int | None
    problems: tuple[str, ...]
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray  # one row per chunk
    sentence_vectors: np.ndarray  # one row per sentence, chunk by chunk


@dataclass(frozen=True)
class DocumentFacts:
    """What the store holds about one document, without its chunks or vectors."""

    info: DocInfo
    fingerprint: str
    pages: int | None
    problems: tuple[str, ...]
    chunks: int
    sentences: int


class IndexStore(Protocol):
    """Read access to one built index."""

    name: str  # which build this is, for messages and reports
    model: str | None  # the embedding model it was built with
    dim: int  # vector size
    build: Mapping[str, Any]  # the settings it was built with (reuse needs them equal)
    failed: Mapping[str, str]  # documents that failed to index, with the reason
    failed_keys: Mapping[str, str]  # what each failure was for (see the builder)
    docs: Mapping[str, DocInfo]  # catalog facts of every indexed document

    def size(self) -> int:
        """How many chunks the index holds."""
        ...

    def documents(self, names: Collection[str] | None = None) -> dict[str, DocumentFacts]:
        """Facts of every indexed document (of those of `names` only, looked up by name, when
        given): pages, problems, chunk and sentence counts."""
        ...

    def search_chunks(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                      ) -> list[tuple[int, float]]:
        """The k chunk rows closest to a vector (inner product), best first; only chunks of
        `docs` when given."""
        ...

    def search_sentences(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                         ) -> list[tuple[int, float]]:
        """The k sentences closest to a vector, best first, each as (its chunk row, score);
        only sentences of `docs` when given."""
        ...

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of a chunk's sentences, in sentence order."""
        ...

    def lexical(self, words: Sequence[str], limit: int, prefix_min: int
                ) -> list[tuple[int, float]]:
        """Chunk rows holding any of the folded words (words of `prefix_min` letters or more
        also as prefixes; a compound also by its parts), with BM25 scores, best first."""
        ...

    def document_frequency(self, word: str, prefix_min: int) -> int:
        """How many chunks `lexical` finds for one word."""
        ...

    def lexical_texts(self, rows: Iterable[int]) -> dict[int, str]:
        """The folded text the lexical search indexed for each chunk row."""
        ...

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by row."""
        ...

    def chunk_row(self, chunk: Chunk) -> int:
        """The row of a chunk."""
        ...

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id ("<doc>#<ordinal>"), or None when the index has none."""
        ...

    def row_doc(self, row: int) -> str:
        """The document a chunk row belongs to."""
        ...

    def stored(self, doc: str) -> StoredDocument:
        """A document with its chunks and vectors (for a build that reuses it)."""
        ...

    def close(self) -> None:
        """Release what the store holds open."""
        ...


class IndexWriter(Protocol):
    """Writes the next build of an index; nothing is served until `commit`."""

    def add(self, document: StoredDocument) -> None:
        """Add a newly embedded document."""
        ...

    def keep(self, doc: str) -> None:
        """Carry an unchanged document over from the index being replaced."""
        ...

    def commit(self, build: Mapping[str, Any]) -> str:
        """Make the new build the one served (documents not added or kept are gone); returns
        its name. `build` says how it was built: settings, model, failures."""
        ...

    def abort(self) -> None:
        """Drop the unfinished build."""
        ...
