"""One immutable segment of an index: written once (`SegmentBuilder`), then only read
(`Segment`). A segment folder holds::

    store.sqlite          documents and chunks (texts and metadata, no vectors), and an FTS5
                          table over each chunk's folded words and compound parts
    chunks.faiss          inner-product index over chunk vectors (float16 codes, flat or
                          HNSW: see vectors.py); id = local chunk row
    sentences.faiss       the same over sentence vectors; id = local sentence row
    sentence_chunks.npy   the local chunk row of each sentence (int32)

Rows are local positions: a document's chunks (and sentences) are one contiguous run, in
order. Vectors live only in the FAISS files, which are memory-mapped read-only.

New segments hold documents of one language (`LanguageSegments`): a search restricted to a
language (every search is, per language, see retrieval/legs.py) then takes or skips whole
segments and walks each graph unrestricted, instead of scanning a mixed segment's codes
exactly where the language is a small share of it (vectors.py; bench/RESULTS.md, issue 15).
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexCorruptError
from assistant.index.commits import REBUILD_HINT, new_segment_folder, seal_segment
from assistant.index.doctable import DocTable, located, spans
from assistant.index.storage import DocumentFacts, StoredDocument
from assistant.index.vectors import finished, flat, read_ahead
from assistant.lang.compounds import compound_terms
from assistant.lang.fold import fold
from assistant.types import Chunk, DocInfo, Sentence

STORE = "store.sqlite"
CHUNK_VECTORS = "chunks.faiss"
SENTENCE_VECTORS = "sentences.faiss"
SENTENCE_CHUNKS = "sentence_chunks.npy"
FILES = (STORE, CHUNK_VECTORS, SENTENCE_VECTORS, SENTENCE_CHUNKS)

_SCHEMA = """
CREATE TABLE documents (
    doc TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, title TEXT NOT NULL, language TEXT NOT NULL,
    publisher TEXT, year INTEGER, type TEXT, region TEXT, form TEXT, pages INTEGER,
    problems TEXT NOT NULL, chunk_lo INTEGER NOT NULL, chunk_hi INTEGER NOT NULL,
    sent_lo INTEGER NOT NULL, sent_hi INTEGER NOT NULL
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, doc TEXT NOT NULL, ordinal INTEGER NOT NULL,
    section TEXT NOT NULL, page_start INTEGER, page_end INTEGER, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL, sentences TEXT NOT NULL,
    original TEXT, abbreviations TEXT NOT NULL
);
CREATE VIRTUAL TABLE lexical USING fts5(text, compounds,
                                         tokenize = 'unicode61 remove_diacritics 2');
"""


def lexical_text(chunk: Chunk) -> str:
    """What the lexical leg indexes for a chunk, folded: its section headings and text, the
    text as extracted when OCR repair changed it (both forms are searchable), and the long
    forms of the abbreviations it uses."""
    long_forms = (long for _, long in chunk.abbreviations)
    return fold(" ".join((*chunk.section, chunk.text, chunk.original or "", *long_forms)))


class SegmentBuilder:
    """Writes one new segment into ``seg-N.tmp/``; `finish` seals it."""

    def __init__(self, index_dir: Path, dim: int) -> None:

        self.dim = dim
        self.tmp = new_segment_folder(index_dir)
        self.chunk_index = flat(dim)
        self.sentence_index = flat(dim)
        self.db = sqlite3.connect(self.tmp / STORE)
        self.db.executescript(_SCHEMA)
        self.chunk_row = 0
        self.sentence_chunks: list[np.ndarray] = []
        self.documents: list[str] = []
        self.languages: set[str] = set()

    @property
    def sentences(self) -> int:
        """Sentences written so far."""
        return int(self.sentence_index.ntotal)

    def add(self, document: StoredDocument,
            lexical: Sequence[tuple[str, str]] | None = None) -> None:
        """Write a document's chunks, sentence map, vectors and catalog facts; `lexical`, the
        chunks' lexical rows (`Segment.lexical_rows`) where a merge has them already."""
        chunk_lo, sent_lo = self.chunk_row, self.sentences
        for i, chunk in enumerate(document.chunks):
            self._add_chunk(chunk, None if lexical is None else lexical[i])
            self.sentence_chunks.append(np.full(len(chunk.sentences), self.chunk_row, np.int32))
            self.chunk_row += 1
        if len(document.chunks):
            self.chunk_index.add(np.ascontiguousarray(document.chunk_vectors, dtype=np.float32))
        if len(document.sentence_vectors):
            self.sentence_index.add(
                np.ascontiguousarray(document.sentence_vectors, dtype=np.float32))
        info = document.info
        self.db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (info.doc, document.fingerprint, info.title, info.language, info.publisher,
             info.year, info.type, info.region, info.form, document.pages,
             json.dumps(document.problems), chunk_lo, self.chunk_row, sent_lo, self.sentences))
        self.documents.append(info.doc)
        self.languages.add(info.language)

    def _add_chunk(self, chunk: Chunk, lexical: tuple[str, str] | None) -> None:
        """One chunk row and its lexical row (folded text, compound parts)."""
        self.db.execute(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (self.chunk_row, chunk.id, chunk.doc, chunk.ordinal, json.dumps(chunk.section),
             chunk.page_start, chunk.page_end, chunk.start, chunk.end, chunk.text,
             json.dumps([[s.start, s.end, s.page, list(s.section), s.lead]
                         for s in chunk.sentences]),
             chunk.original, json.dumps(chunk.abbreviations)),
        )
        if lexical is None:
            text = lexical_text(chunk)
            lexical = text, " ".join(compound_terms(text))
        self.db.execute("INSERT INTO lexical(rowid, text, compounds) VALUES (?, ?, ?)",
                        (self.chunk_row, *lexical))

    def finish(self) -> dict[str, Any]:
        """Write the vector files, seal the folder; the segment's entry for a commit point."""
        import faiss

        self.db.commit()
        self.db.close()
        faiss.write_index(finished(self.chunk_index), str(self.tmp / CHUNK_VECTORS))
        faiss.write_index(finished(self.sentence_index), str(self.tmp / SENTENCE_VECTORS))
        chunks = (np.concatenate(self.sentence_chunks) if self.sentence_chunks
                  else np.zeros(0, np.int32))
        with (self.tmp / SENTENCE_CHUNKS).open("wb") as fh:
            np.save(fh, chunks)
        name, files = seal_segment(self.tmp, FILES)
        return {"name": name, "docs": self.documents, "deleted": [],
                "chunks": self.chunk_row, "sentences": self.sentences,
                "languages": sorted(self.languages), "files": files}

    def abort(self) -> None:
        """Drop the unfinished segment."""
        import shutil

        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class LanguageSegments:
    """New segments written side by side, one per document language. A segment is sealed
    once it holds `limit` chunks (never, when None); its language's next document starts
    another."""

    def __init__(self, index_dir: Path, dim: int, limit: int | None = None) -> None:
        self.index_dir = index_dir
        self.dim = dim
        self.limit = limit
        self.open: dict[str, SegmentBuilder] = {}
        self.sealed: list[dict[str, Any]] = []  # entries, in the order they were sealed

    def add(self, document: StoredDocument,
            lexical: Sequence[tuple[str, str]] | None = None) -> str:
        """Write a document into its language's segment (see `SegmentBuilder.add`); that
        segment's name."""
        language = document.info.language
        builder = self.open.get(language)
        if builder is None:
            builder = self.open[language] = SegmentBuilder(self.index_dir, self.dim)
        builder.add(document, lexical)
        name = builder.tmp.name.removesuffix(".tmp")
        if self.limit is not None and builder.chunk_row >= self.limit:
            self.sealed.append(self.open.pop(language).finish())
        return name

    def finish(self) -> list[dict[str, Any]]:
        """Seal the open segments; the entries of every segment sealed since the last call."""
        for language in list(self.open):  # in the order they were started (insertion order)
            self.sealed.append(self.open.pop(language).finish())
        entries, self.sealed = self.sealed, []
        return entries

    def abort(self) -> None:
        """Drop the unfinished segments (sealed ones are the caller's to drop)."""
        for builder in self.open.values():
            builder.abort()
        self.open.clear()


_CHUNK_COLUMNS = ('row, id, doc, ordinal, section, page_start, page_end, start, "end", text, '
                  "sentences, original, abbreviations")


def _chunk(r: tuple[Any, ...]) -> Chunk:
    sentences = tuple(Sentence(a, b, p, tuple(s), lead) for a, b, p, s, lead in json.loads(r[10]))
    return Chunk(r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6], r[7], r[8], r[9],
                 sentences, r[11], tuple((a, b) for a, b in json.loads(r[12])))


def held_documents(folder: Path) -> set[str]:
    """Every document a segment folder holds, tombstoned or not (what `commits.prune` weighs
    for the erasure guarantee)."""
    db = sqlite3.connect(f"file:{folder / STORE}?mode=ro", uri=True)
    try:
        return {doc for (doc,) in db.execute("SELECT doc FROM documents")}
    finally:
        db.close()


class _Vectors:
    """A segment's FAISS indexes and sentence map, mapped read-only (`ahead`: a server's)."""

    def __init__(self, folder: Path, ahead: bool = False) -> None:
        import faiss

        def mapped(name: str) -> Any:
            if ahead:
                read_ahead(folder / name)
            return faiss.read_index(str(folder / name),
                                    faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)

        try:
            self.chunks, self.sentences = mapped(CHUNK_VECTORS), mapped(SENTENCE_VECTORS)
            self.sentence_chunk = np.load(folder / SENTENCE_CHUNKS, mmap_mode="r")
        except (RuntimeError, ValueError, OSError) as exc:
            raise IndexCorruptError(f"{folder}: cannot read its vectors ({exc}); "
                                    f"{REBUILD_HINT}") from exc


class Segment:
    """Read access to one segment: SQLite read-only, FAISS and the sentence map memory-mapped.

    With `lazy`, the vectors are opened on first use, and so is the table of its documents:
    reading a large segment's HNSW graphs takes 70-90 ms (1M chunks: bench/RESULTS.md, issue
    15), and a build that keeps the segment as it is needs neither; a targeted build asks
    for the documents it names (`located`) and the counts (`counts`), which SQLite answers
    without reading every document. A server opens everything at once: a later build's
    `prune` may remove the folder of a segment it still serves, and only files already
    mapped stay readable then."""

    def __init__(self, folder: Path, entry: dict[str, Any], dim: int, lazy: bool = False) -> None:
        self.folder = folder
        self.name = folder.name
        self.dim = dim
        self.deleted = frozenset(entry.get("deleted", ()))
        self.db = sqlite3.connect(f"file:{folder / STORE}?mode=ro", uri=True,
                                  check_same_thread=False)
        self._vectors_read: _Vectors | None = None
        self._table_read: DocTable | None = None
        self._counts: tuple[int, int] | None = None
        self._lock = threading.Lock()
        if not lazy:  # a server's: it will search every segment's codes
            self._vectors_read = _Vectors(folder, ahead=True)
            self._table_read = DocTable(self.db, self.deleted)

    @property
    def _table(self) -> DocTable:
        """The document table, read on first use (by whichever thread comes first)."""
        if self._table_read is None:
            with self._lock:
                if self._table_read is None:
                    self._table_read = DocTable(self.db, self.deleted)
        return self._table_read

    @property
    def docs(self) -> dict[str, DocInfo]:
        """Catalog facts of the live documents, in row order."""
        return self._table.docs

    @property
    def doc_rows(self) -> dict[str, tuple[int, int, int, int]]:
        """(chunk_lo, chunk_hi, sent_lo, sent_hi) of each live document."""
        return self._table.doc_rows

    @property
    def live_chunks(self) -> int:
        return self._table.live_chunks

    @property
    def dead_rows(self) -> frozenset[int]:
        """Local chunk rows of tombstoned documents."""
        return self._table.dead_rows

    def located(self, names: Iterable[str]) -> dict[str, DocumentFacts]:
        """Facts of those of `names` that are live documents here, looked up by name."""
        wanted = sorted(set(names) - self.deleted)
        if not wanted:
            return {}
        if self._table_read is not None:
            return {doc: self._table_read.document(doc) for doc in wanted
                    if doc in self._table_read.docs}
        return located(self.db, wanted)

    def fingerprints(self) -> dict[str, str]:
        """The live documents' content fingerprints, by name."""
        return {doc: sha for doc, sha in self.db.execute("SELECT doc, fingerprint FROM documents")
                if doc not in self.deleted}

    def counts(self) -> tuple[int, int]:
        """Live (chunks, sentences): every row less the tombstoned documents' spans (summed
        once: a targeted build's report and its writer both ask)."""
        if self._counts is None:
            chunks, sentences = self.db.execute(
                "SELECT sum(chunk_hi - chunk_lo), sum(sent_hi - sent_lo) FROM documents"
            ).fetchone()
            for c_lo, c_hi, s_lo, s_hi in spans(self.db, self.deleted):
                chunks, sentences = chunks - (c_hi - c_lo), sentences - (s_hi - s_lo)
            self._counts = (chunks or 0, sentences or 0)
        return self._counts

    @property
    def vectors(self) -> _Vectors:
        """The vector files, opened on first use (by whichever thread comes first)."""
        if self._vectors_read is None:
            with self._lock:
                if self._vectors_read is None:
                    self._vectors_read = _Vectors(self.folder)
        return self._vectors_read

    @property
    def chunk_index(self) -> Any:
        return self.vectors.chunks

    @property
    def sentence_index(self) -> Any:
        return self.vectors.sentences

    @property
    def sentence_chunk(self) -> np.ndarray:
        return self.vectors.sentence_chunk

    def size(self, sentences: bool) -> int:
        """Rows of the chunk (or sentence) index, tombstoned ones included."""
        return int((self.sentence_index if sentences else self.chunk_index).ntotal)

    def rows(self, docs: Iterable[str], sentences: bool) -> np.ndarray:
        """Local chunk (or sentence) rows of some of this segment's live documents."""
        spans = sorted(self.doc_rows[d][2:] if sentences else self.doc_rows[d][:2]
                       for d in docs if d in self.doc_rows)
        parts = [np.arange(lo, hi, dtype=np.int64) for lo, hi in spans]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def documents(self) -> dict[str, DocumentFacts]:
        """Facts of the segment's live documents."""
        table = self._table
        return {doc: table.document(doc) for doc in table.facts}

    def chunks(self, rows: list[int]) -> dict[int, Chunk]:
        """Chunks by local row."""
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self.db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE row IN ({marks})", rows)
        return {r[0]: _chunk(r) for r in found}

    def row_doc(self, row: int) -> str:
        """The document of a local chunk row."""
        table = self._table
        return table.chunk_docs[bisect.bisect_right(table.chunk_starts, row) - 1]

    def stored(self, doc: str) -> StoredDocument:
        """A live document with its chunks and vectors (vectors read back from FAISS)."""
        c_lo, c_hi, s_lo, s_hi = self.doc_rows[doc]
        sha, pages, problems = self._table.facts[doc]
        chunks = self.chunks(list(range(c_lo, c_hi)))
        return StoredDocument(
            info=self.docs[doc], fingerprint=sha, pages=pages, problems=problems,
            chunks=tuple(chunks[r] for r in range(c_lo, c_hi)),
            chunk_vectors=self._vectors(self.chunk_index, c_lo, c_hi),
            sentence_vectors=self._vectors(self.sentence_index, s_lo, s_hi))

    def lexical_rows(self, doc: str) -> list[tuple[str, str]]:
        """The lexical rows (folded text, compound parts) of a live document's chunks, in
        order: a merge copies them instead of splitting every compound again."""
        c_lo, c_hi, _, _ = self.doc_rows[doc]
        return self.db.execute(
            "SELECT text, compounds FROM lexical WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
            (c_lo, c_hi)).fetchall()

    def _vectors(self, index: Any, lo: int, hi: int) -> np.ndarray:
        if hi == lo:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(index.reconstruct_n(lo, hi - lo), dtype=np.float32)

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of a local chunk row's sentences (one contiguous run)."""
        lo, hi = np.searchsorted(self.sentence_chunk, [row, row + 1])
        return self._vectors(self.sentence_index, int(lo), int(hi))

    def close(self) -> None:
        """Release the SQLite connection (the mapped files go with the object)."""
        self.db.close()
