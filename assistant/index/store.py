"""The FAISS + SQLite store: one generation's files, read (`GenerationStore`) and written
(`GenerationWriter`); the first implementation of `assistant.index.storage`.

A generation folder holds, besides its manifest (`assistant.index.generations`)::

    store.sqlite     documents, chunks, sentences (with their vectors), and an FTS5 table
                     over each chunk's folded words and compound parts
    chunks.faiss     inner-product index over chunk vectors; id = chunk row
    sentences.faiss  inner-product index over sentence vectors; id = sentence row

Rows are positions: a document's chunks (and sentences) are one contiguous run, in order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexCorruptError, IndexMismatchError
from assistant.index.generations import (
    REBUILD_HINT,
    new_generation,
    open_generation,
    publish_generation,
)
from assistant.index.storage import DocumentFacts, StoredDocument
from assistant.lang.compounds import compound_terms
from assistant.lang.fold import fold
from assistant.types import Chunk, DocInfo, Sentence

STORE = "store.sqlite"
CHUNK_VECTORS = "chunks.faiss"
SENTENCE_VECTORS = "sentences.faiss"

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
    "end" INTEGER NOT NULL, text TEXT NOT NULL, sentences TEXT NOT NULL, vector BLOB NOT NULL,
    original TEXT, abbreviations TEXT NOT NULL
);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, chunk_row INTEGER NOT NULL, idx INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE VIRTUAL TABLE lexical USING fts5(text, compounds,
                                         tokenize = 'unicode61 remove_diacritics 2');
"""


def set_search_threads(threads: int) -> None:
    """How many threads FAISS searches with (one is faster at this size, see bench/)."""
    import faiss

    faiss.omp_set_num_threads(threads)


def lexical_text(chunk: Chunk) -> str:
    """What the lexical leg indexes for a chunk, folded: its section headings and text, the
    text as extracted when OCR repair changed it (both forms are searchable), and the long
    forms of the abbreviations it uses."""
    long_forms = (long for _, long in chunk.abbreviations)
    return fold(" ".join((*chunk.section, chunk.text, chunk.original or "", *long_forms)))


def fts_match(words: Iterable[str], prefix_min: int) -> str:
    """The FTS5 OR-query for passages holding any of the folded words: words of `prefix_min`
    letters or more as prefixes; both columns, so also a compound's parts."""
    words = dict.fromkeys(words)
    return " OR ".join(f'"{w}"*' if len(w) >= prefix_min else f'"{w}"' for w in words)


def open_store(index_dir: Path, model: str | None = None) -> GenerationStore:
    """The newest generation of an index folder that verifies (see `open_generation`); when
    `model` is given, it must be the model the generation was built with."""
    generation, manifest = open_generation(index_dir)
    built_with = (manifest.get("build") or {}).get("model")
    if model is not None and built_with != model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with model {built_with!r} but the settings "
            f"ask for {model!r}; run `assistant index` to rebuild it with the configured model")
    return GenerationStore(generation, manifest)


class GenerationStore:
    """Read access to one generation's SQLite store and FAISS indexes."""

    def __init__(self, generation: Path, manifest: dict[str, Any]) -> None:
        import faiss

        self.generation = generation
        self.manifest = manifest
        self.name = generation.name
        self.build: Mapping[str, Any] = manifest.get("build") or {}
        self.model: str | None = self.build.get("model")
        self.dim = int(manifest["dim"])
        self.failed: Mapping[str, str] = manifest.get("failed") or {}
        self.failed_keys: Mapping[str, str] = manifest.get("failed_keys") or {}
        self.db = sqlite3.connect(f"file:{generation / STORE}?mode=ro", uri=True,
                                  check_same_thread=False)
        try:
            self.chunk_index = faiss.read_index(str(generation / CHUNK_VECTORS))
            self.sentence_index = faiss.read_index(str(generation / SENTENCE_VECTORS))
        except RuntimeError as exc:
            raise IndexCorruptError(f"{generation}: cannot read FAISS index ({exc}); "
                                    f"{REBUILD_HINT}") from exc
        self.docs: dict[str, DocInfo] = {}
        self.doc_rows: dict[str, tuple[int, int, int, int]] = {}
        for row in self.db.execute(
            "SELECT doc, title, language, publisher, year, type, region, form, "
            "chunk_lo, chunk_hi, sent_lo, sent_hi FROM documents ORDER BY chunk_lo"
        ):
            self.docs[row[0]] = DocInfo(*row[:8])
            self.doc_rows[row[0]] = (row[8], row[9], row[10], row[11])
        spans = sorted((lo, doc) for doc, (lo, hi, _, _) in self.doc_rows.items() if hi > lo)
        self._chunk_starts = np.array([lo for lo, _ in spans], dtype=np.int64)
        self._chunk_docs = [doc for _, doc in spans]
        self._df: dict[tuple[str, int], int] = {}
        sentence_chunks = self.db.execute("SELECT chunk_row FROM sentences ORDER BY row")
        self.sentence_chunk = np.array([r[0] for r in sentence_chunks], dtype=np.int64)

    def size(self) -> int:
        """How many chunks the generation holds."""
        return int(self.chunk_index.ntotal)

    def documents(self) -> dict[str, DocumentFacts]:
        """Facts of every indexed document."""
        rows = self.db.execute("SELECT doc, fingerprint, pages, problems, chunk_hi - chunk_lo, "
                               "sent_hi - sent_lo FROM documents ORDER BY chunk_lo")
        return {doc: DocumentFacts(self.docs[doc], sha, pages, tuple(json.loads(problems)),
                                   int(chunks), int(sentences))
                for doc, sha, pages, problems, chunks, sentences in rows}

    def _rows(self, docs: Collection[str], sentences: bool) -> np.ndarray:
        """The chunk (or sentence) rows of some documents, in row order."""
        spans = sorted(self.doc_rows[d][2:] if sentences else self.doc_rows[d][:2] for d in docs)
        parts = [np.arange(lo, hi, dtype=np.int64) for lo, hi in spans]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _search(self, index: Any, vector: np.ndarray, k: int, docs: Collection[str] | None,
                sentences: bool) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        rows = None if docs is None else self._rows(docs, sentences)
        n = min(k, int(index.ntotal) if rows is None else len(rows))
        if n == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = None if rows is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))
        scores, ids = index.search(vector[None, :], n, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def search_chunks(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                      ) -> list[tuple[int, float]]:
        """The k chunk rows closest to a vector, best first (only of `docs` when given)."""
        scores, ids = self._search(self.chunk_index, vector, k, docs, sentences=False)
        return [(int(i), float(s)) for s, i in zip(scores, ids, strict=True)]

    def search_sentences(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                         ) -> list[tuple[int, float]]:
        """The k closest sentences as (chunk row, score), best first."""
        scores, ids = self._search(self.sentence_index, vector, k, docs, sentences=True)
        return [(int(self.sentence_chunk[i]), float(s)) for s, i in zip(scores, ids, strict=True)]

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of a chunk's sentences, in sentence order."""
        # Sentence rows are stored chunk by chunk, so a chunk's sentences are one contiguous run.
        lo, hi = np.searchsorted(self.sentence_chunk, [row, row + 1])
        if hi == lo:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self.sentence_index.reconstruct_n(int(lo), int(hi - lo)))

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by row number."""
        rows = list(rows)
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        result = {}
        for r in self.db.execute(
            f'SELECT row, id, doc, ordinal, section, page_start, page_end, start, "end", text, '
            f"sentences, original, abbreviations FROM chunks WHERE row IN ({marks})", rows
        ):
            sentences = tuple(Sentence(a, b, p, tuple(s), lead)
                              for a, b, p, s, lead in json.loads(r[10]))
            result[r[0]] = Chunk(r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6], r[7],
                                 r[8], r[9], sentences, r[11],
                                 tuple((a, b) for a, b in json.loads(r[12])))
        return result

    def lexical(self, words: Sequence[str], limit: int, prefix_min: int
                ) -> list[tuple[int, float]]:
        """Chunk rows and BM25 scores (higher is better) for passages holding any word."""
        match = fts_match(words, prefix_min)
        if not match:
            return []
        rows = self.db.execute(
            "SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ? "
            "ORDER BY bm25(lexical) LIMIT ?", (match, limit))
        return [(int(r), -float(s)) for r, s in rows]

    def document_frequency(self, word: str, prefix_min: int) -> int:
        """How many chunks `lexical` finds for one word (cached)."""
        key = (word, prefix_min)
        if key not in self._df:
            (count,) = self.db.execute("SELECT count(*) FROM lexical WHERE lexical MATCH ?",
                                       (fts_match([word], prefix_min),)).fetchone()
            self._df[key] = int(count)
        return self._df[key]

    def lexical_texts(self, rows: Iterable[int]) -> dict[int, str]:
        """The folded text the lexical leg indexed for each chunk row."""
        rows = list(rows)
        marks = ",".join("?" * len(rows))
        return dict(self.db.execute(
            f"SELECT rowid, text FROM lexical WHERE rowid IN ({marks})", rows)) if rows else {}

    def chunk_row(self, chunk: Chunk) -> int:
        """The row of a chunk (a document's chunks are stored in ordinal order)."""
        return self.doc_rows[chunk.doc][0] + chunk.ordinal

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id, or None."""
        found = self.db.execute("SELECT row FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
        return None if found is None else self.chunks([found[0]])[found[0]]

    def row_doc(self, row: int) -> str:
        """The document a chunk row belongs to."""
        i = int(np.searchsorted(self._chunk_starts, row, side="right")) - 1
        return self._chunk_docs[i]

    def stored(self, doc: str) -> StoredDocument:
        """A document with its chunks and vectors, for reuse by an incremental build."""
        (sha, pages, problems, c_lo, c_hi, s_lo, s_hi) = self.db.execute(
            "SELECT fingerprint, pages, problems, chunk_lo, chunk_hi, sent_lo, sent_hi "
            "FROM documents WHERE doc = ?", (doc,)).fetchone()
        chunks = self.chunks(range(c_lo, c_hi))
        cvec = [np.frombuffer(v, dtype=np.float32) for (v,) in self.db.execute(
            "SELECT vector FROM chunks WHERE row >= ? AND row < ? ORDER BY row", (c_lo, c_hi))]
        svec = [np.frombuffer(v, dtype=np.float32) for (v,) in self.db.execute(
            "SELECT vector FROM sentences WHERE row >= ? AND row < ? ORDER BY row", (s_lo, s_hi))]
        return StoredDocument(
            info=self.docs[doc], fingerprint=sha, pages=pages, problems=tuple(json.loads(problems)),
            chunks=tuple(chunks[r] for r in range(c_lo, c_hi)),
            chunk_vectors=np.array(cvec, dtype=np.float32).reshape(-1, self.dim),
            sentence_vectors=np.array(svec, dtype=np.float32).reshape(-1, self.dim),
        )

    def close(self) -> None:
        """Release the SQLite connection."""
        self.db.close()


class GenerationWriter:
    """Writes the next generation into ``gen-N.tmp/``; `commit` seals it and makes it current.

    Documents are stored in the order they are added or kept.
    """

    def __init__(self, index_dir: Path, dim: int, previous: GenerationStore | None = None
                 ) -> None:
        import faiss

        self.dim = dim
        self.previous = previous
        self.tmp, _ = new_generation(index_dir)
        self.chunk_index = faiss.IndexFlatIP(dim)
        self.sentence_index = faiss.IndexFlatIP(dim)
        self.db = sqlite3.connect(self.tmp / STORE)
        self.db.executescript(_SCHEMA)
        self.chunk_row = self.sentence_row = 0
        self.documents: dict[str, Any] = {}

    def keep(self, doc: str) -> None:
        """Copy an unchanged document from the generation being replaced."""
        if self.previous is None:
            raise ValueError(f"no earlier generation to keep {doc!r} from")
        self.add(self.previous.stored(doc))

    def add(self, document: StoredDocument) -> None:
        """Write a document's chunks, sentences, vectors and catalog facts."""
        chunk_lo, sent_lo = self.chunk_row, self.sentence_row
        for chunk, vector in zip(document.chunks, document.chunk_vectors, strict=True):
            self._add_chunk(chunk, vector)
            for i in range(len(chunk.sentences)):
                self.db.execute("INSERT INTO sentences VALUES (?,?,?,?)",
                                (self.sentence_row, self.chunk_row, i,
                                 document.sentence_vectors[self.sentence_row - sent_lo].tobytes()))
                self.sentence_row += 1
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
             json.dumps(document.problems), chunk_lo, self.chunk_row, sent_lo,
             self.sentence_row),
        )
        self.documents[info.doc] = {
            "fingerprint": document.fingerprint, "chunks": self.chunk_row - chunk_lo,
            "sentences": self.sentence_row - sent_lo, "problems": list(document.problems)}

    def _add_chunk(self, chunk: Chunk, vector: np.ndarray) -> None:
        """One chunk row and its lexical row."""
        self.db.execute(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (self.chunk_row, chunk.id, chunk.doc, chunk.ordinal, json.dumps(chunk.section),
             chunk.page_start, chunk.page_end, chunk.start, chunk.end, chunk.text,
             json.dumps([[s.start, s.end, s.page, list(s.section), s.lead]
                         for s in chunk.sentences]),
             vector.astype(np.float32).tobytes(), chunk.original,
             json.dumps(chunk.abbreviations)),
        )
        text = lexical_text(chunk)
        self.db.execute("INSERT INTO lexical(rowid, text, compounds) VALUES (?, ?, ?)",
                        (self.chunk_row, text, " ".join(compound_terms(text))))

    def commit(self, build: Mapping[str, Any]) -> str:
        """Write the vector files and the manifest, publish the generation; its name."""
        import faiss

        self.db.commit()
        self.db.close()
        faiss.write_index(self.chunk_index, str(self.tmp / CHUNK_VECTORS))
        faiss.write_index(self.sentence_index, str(self.tmp / SENTENCE_VECTORS))
        manifest = {**build, "dim": self.dim, "documents": self.documents}
        final = publish_generation(self.tmp, (STORE, CHUNK_VECTORS, SENTENCE_VECTORS), manifest)
        return final.name

    def abort(self) -> None:
        """Drop the unfinished generation (the next build would remove it anyway)."""
        import shutil

        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
