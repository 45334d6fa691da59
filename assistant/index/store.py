"""The FAISS + SQLite store: the segments a commit point lists, read as one index
(`SegmentStore`); the first implementation of `assistant.index.storage` (the writer is
`assistant.index.writer`).

Row ids are opaque to callers: a segment's number shifted left by 32 bits plus the chunk's
local row in that segment, so a row keeps its id for as long as its segment lives. Searches
run per segment and are merged by score; tombstoned documents' rows are filtered out with
selectors computed once per segment and restriction, not per query.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexMismatchError
from assistant.index.commits import open_commit, segment_number
from assistant.index.segment import (
    Segment,
    lexical_text,
)
from assistant.index.storage import DocumentFacts, StoredDocument
from assistant.index.vectors import search
from assistant.types import Chunk, DocInfo

__all__ = ["SHIFT", "SegmentStore", "fts_match", "lexical_text", "open_store", "set_search_threads"]

SHIFT = 32
_CACHED_SELECTORS = 256  # restrictions remembered per store (one per language and filter)


def set_search_threads(threads: int) -> None:
    """How many threads FAISS searches with (one is faster at this size, see bench/)."""
    import faiss

    faiss.omp_set_num_threads(threads)


def fts_match(words: Iterable[str], prefix_min: int) -> str:
    """The FTS5 OR-query for passages holding any of the folded words: words of `prefix_min`
    letters or more as prefixes; both columns, so also a compound's parts."""
    words = dict.fromkeys(words)
    return " OR ".join(f'"{w}"*' if len(w) >= prefix_min else f'"{w}"' for w in words)


def _bitmap(rows: np.ndarray, size: int) -> Any:
    """A FAISS selector of some rows out of `size`: one bit per row, so a membership test is
    a shift and a mask (a hash set's look-up costs more in an HNSW walk)."""
    import faiss

    bits = np.zeros(size, dtype=bool)
    bits[rows] = True
    packed = np.packbits(bits, bitorder="little")
    selector = faiss.IDSelectorBitmap(size, faiss.swig_ptr(packed))
    selector.packed = packed  # the selector reads this buffer: keep it alive with it
    return selector


def open_store(index_dir: Path, model: str | None = None, lazy: bool = False) -> SegmentStore:
    """The newest commit of an index folder that checks (see `open_commit`); when `model` is
    given, it must be the model the index was built with. With `lazy`, each segment's vectors
    are opened when first used (a build's previous commit; see `Segment`)."""
    path, body = open_commit(index_dir)
    built_with = (body.get("build") or {}).get("model")
    if model is not None and built_with != model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with model {built_with!r} but the settings "
            f"ask for {model!r}; run `assistant index` to rebuild it with the configured model")
    return SegmentStore(index_dir, body, lazy)


class SegmentStore:
    """Read access to the segments of one commit point."""

    def __init__(self, index_dir: Path, body: dict[str, Any], lazy: bool = False) -> None:
        self.index_dir = index_dir
        self.commit = body
        self.name: str = body["commit"]
        self.build: Mapping[str, Any] = body.get("build") or {}
        self.model: str | None = self.build.get("model")
        self.dim = int(body["dim"])
        self.failed: Mapping[str, str] = body.get("failed") or {}
        self.failed_keys: Mapping[str, str] = body.get("failed_keys") or {}
        self.segments: dict[int, Segment] = {}
        try:
            for entry in body["segments"]:
                number = segment_number(entry["name"])
                self.segments[number] = Segment(index_dir / entry["name"], entry, self.dim,
                                                lazy)
        except BaseException:
            self.close()
            raise
        self._docs: dict[str, DocInfo] | None = None
        self._doc_segment: dict[str, int] = {}
        self._size: int | None = None
        if not lazy:  # a server's store
            self._read_documents()
        self._df: dict[tuple[str, int], int] = {}
        self._selectors: dict[tuple[Any, ...], Any] = {}
        self._restrictions: dict[int, tuple[tuple[str, ...], int]] = {}

    def _read_documents(self) -> dict[str, DocInfo]:
        """Every live document's catalog facts and segment (a lazy store's, on first use)."""
        if self._docs is None:
            docs: dict[str, DocInfo] = {}
            for number, segment in self.segments.items():
                docs.update(segment.docs)
                self._doc_segment.update(dict.fromkeys(segment.docs, number))
            self._docs = docs
        return self._docs

    @property
    def docs(self) -> dict[str, DocInfo]:
        return self._read_documents()

    @property
    def doc_segment(self) -> dict[str, int]:
        """The segment number of each live document."""
        self._read_documents()
        return self._doc_segment

    def size(self) -> int:
        """How many chunks the index serves."""
        if self._size is None:
            self._size = sum(s.live_chunks for s in self.segments.values())
        return self._size

    def documents(self, names: Collection[str] | None = None) -> dict[str, DocumentFacts]:
        """Facts of every indexed document, or of those of `names` (looked up by name)."""
        if names is not None:
            return {doc: facts for doc, (_, facts) in self.located(names).items()}
        facts: dict[str, DocumentFacts] = {}
        for segment in self.segments.values():
            facts.update(segment.documents())
        return facts

    def located(self, names: Iterable[str]) -> dict[str, tuple[int, DocumentFacts]]:
        """(segment number, facts) of those of `names` that are indexed, looked up by name:
        what a targeted build needs of a lazy store, without reading every document."""
        wanted = set(names)
        return {doc: (number, facts) for number, segment in self.segments.items()
                for doc, facts in segment.located(wanted).items()}

    def fingerprints(self) -> dict[str, str]:
        """Every indexed document's content fingerprint, by name: what a full build compares
        the corpus with, without reading every document's row."""
        return {doc: sha for segment in self.segments.values()
                for doc, sha in segment.fingerprints().items()}

    def counts(self) -> tuple[int, int]:
        """Live (chunks, sentences) of the whole commit."""
        pairs = [segment.counts() for segment in self.segments.values()]
        return sum(c for c, _ in pairs), sum(s for _, s in pairs)

    def _selector(self, number: int, docs: tuple[str, ...] | None, sentences: bool,
                  docs_key: int) -> tuple[Any, int] | None:
        """(FAISS selector, row count) restricting one segment to the live rows of `docs`, or
        None when no restriction is needed; cached per restriction, so a query pays a
        dictionary look-up, not a pass over the documents."""

        segment = self.segments[number]
        if docs is None and not segment.deleted:
            return None
        key = (number, sentences, docs_key)
        cached = self._selectors.get(key)
        if cached is None or (cached[2] is not docs and cached[2] != docs):  # a collision
            if len(self._selectors) >= _CACHED_SELECTORS:
                self._selectors.clear()
            rows = segment.rows(segment.docs if docs is None else docs, sentences)
            size = segment.size(sentences)
            # a restriction allowing every row (a language's own segment) needs no selector
            selector = _bitmap(rows, size) if 0 < len(rows) < size else None
            cached = self._selectors[key] = (selector, len(rows), docs)
        return cached[:2]

    def _restriction_key(self, docs: tuple[str, ...] | None) -> int:
        """A key for a restriction: the same tuple object as before (the search legs keep
        theirs) is known by identity, without hashing thousands of names per query."""
        if docs is None:
            return 0
        known = self._restrictions.get(id(docs))
        if known is not None and known[0] is docs:
            return known[1]
        if len(self._restrictions) >= _CACHED_SELECTORS:
            self._restrictions.clear()
        self._restrictions[id(docs)] = (docs, hash(docs))
        return hash(docs)

    def _search(self, vector: np.ndarray, k: int, docs: Collection[str] | None,
                sentences: bool) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        query = np.ascontiguousarray(vector[None, :], dtype=np.float32)
        restriction = None if docs is None else (
            docs if isinstance(docs, tuple) else tuple(sorted(docs)))
        docs_key = self._restriction_key(restriction)
        for number, segment in self.segments.items():
            index = segment.sentence_index if sentences else segment.chunk_index
            selected = self._selector(number, restriction, sentences, docs_key)
            selector, count = (None, int(index.ntotal)) if selected is None else selected
            n = min(k, count)
            if n == 0:
                continue
            scores, ids = search(index, query, n, selector, count)
            keep = ids[0] >= 0
            local = ids[0][keep]
            if sentences:
                local = np.asarray(segment.sentence_chunk[local], dtype=np.int64)
            base = number << SHIFT
            found += [(base + int(i), float(s)) for i, s in zip(local.tolist(),
                                                                  scores[0][keep].tolist(),
                                                                  strict=True)]
        found.sort(key=lambda item: (-item[1], item[0]))
        return found[:k]

    def search_chunks(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                      ) -> list[tuple[int, float]]:
        """The k chunk rows closest to a vector, best first (only of `docs` when given)."""
        return self._search(vector, k, docs, sentences=False)

    def search_sentences(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                         ) -> list[tuple[int, float]]:
        """The k closest sentences as (chunk row, score), best first."""
        return self._search(vector, k, docs, sentences=True)

    def _split(self, rows: Iterable[int]) -> dict[int, list[int]]:
        """Rows grouped by segment number, as local rows."""
        grouped: dict[int, list[int]] = {}
        for row in rows:
            grouped.setdefault(int(row) >> SHIFT, []).append(int(row) & ((1 << SHIFT) - 1))
        return grouped

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of a chunk's sentences, in sentence order."""
        return self.segments[row >> SHIFT].sentence_vectors(row & ((1 << SHIFT) - 1))

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by row."""
        result = {}
        for number, local in self._split(rows).items():
            base = number << SHIFT
            result.update({base + r: c for r, c in self.segments[number].chunks(local).items()})
        return result

    def lexical(self, words: Sequence[str], limit: int, prefix_min: int
                ) -> list[tuple[int, float]]:
        """Chunk rows and BM25 scores (higher is better) for passages holding any word; each
        segment scores with its own statistics (bench/segments_bm25.py measures the effect)."""
        match = fts_match(words, prefix_min)
        if not match:
            return []
        found: list[tuple[int, float]] = []
        for number, segment in self.segments.items():
            base, dead = number << SHIFT, segment.dead_rows
            rows = segment.db.execute(
                "SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ? "
                "ORDER BY bm25(lexical) LIMIT ?", (match, limit + len(dead)))
            found += [(base + int(r), -float(s)) for r, s in rows if r not in dead]
        found.sort(key=lambda item: (-item[1], item[0]))
        return found[:limit]

    def document_frequency(self, word: str, prefix_min: int) -> int:
        """How many live chunks `lexical` finds for one word: the sum over the segments less
        tombstoned rows (cached for the life of the store, which is one commit)."""
        key = (word, prefix_min)
        if key not in self._df:
            match, count = fts_match([word], prefix_min), 0
            for segment in self.segments.values():
                if not segment.dead_rows:
                    (n,) = segment.db.execute("SELECT count(*) FROM lexical WHERE lexical "
                                              "MATCH ?", (match,)).fetchone()
                    count += int(n)
                    continue
                rows = segment.db.execute("SELECT rowid FROM lexical WHERE lexical MATCH ?",
                                          (match,))
                count += sum(1 for (r,) in rows if r not in segment.dead_rows)
            self._df[key] = count
        return self._df[key]

    def lexical_texts(self, rows: Iterable[int]) -> dict[int, str]:
        """The folded text the lexical leg indexed for each chunk row."""
        result = {}
        for number, local in self._split(rows).items():
            marks, base = ",".join("?" * len(local)), number << SHIFT
            result.update({base + r: text for r, text in self.segments[number].db.execute(
                f"SELECT rowid, text FROM lexical WHERE rowid IN ({marks})", local)})
        return result

    def chunk_row(self, chunk: Chunk) -> int:
        """The row of a chunk (a document's chunks are stored in ordinal order)."""
        number = self.doc_segment[chunk.doc]
        return (number << SHIFT) + self.segments[number].doc_rows[chunk.doc][0] + chunk.ordinal

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id ("<doc>#<ordinal>"), or None."""
        doc, _, ordinal = chunk_id.rpartition("#")
        if doc not in self.doc_segment or not ordinal.isdigit():
            return None
        number = self.doc_segment[doc]
        lo, hi, _, _ = self.segments[number].doc_rows[doc]
        if lo + int(ordinal) >= hi:
            return None
        row = (number << SHIFT) + lo + int(ordinal)
        chunk = self.chunks([row]).get(row)
        return chunk if chunk is not None and chunk.id == chunk_id else None

    def row_doc(self, row: int) -> str:
        """The document a chunk row belongs to."""
        return self.segments[row >> SHIFT].row_doc(row & ((1 << SHIFT) - 1))

    def stored(self, doc: str) -> StoredDocument:
        """A document with its chunks and vectors (vectors reconstructed from FAISS)."""
        return self.segments[self.doc_segment[doc]].stored(doc)

    def close(self) -> None:
        """Release the segments' SQLite connections."""
        for segment in self.segments.values():
            segment.close()
