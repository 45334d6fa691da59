"""Index generations on disk: SQLite for text and metadata, FAISS for vectors, a manifest.

Layout of the index folder::

    CURRENT              name of the generation in service (replaced atomically)
    gen-000007/          one complete build
        manifest.json    how it was built, its documents, size and sha256 of every file
        store.sqlite     documents, chunks, sentences (with their vectors), FTS5 lexical
                         indexes: words with compound parts, and (contentless) trigrams
        chunks.faiss     inner-product index over chunk vectors; id = chunk row
        sentences.faiss  inner-product index over sentence vectors; id = sentence row

A build writes ``gen-N.tmp/``, fsyncs its files and the folder, renames it to ``gen-N``,
fsyncs the index folder, and only then points CURRENT at it (write, fsync, rename, fsync), so
an interrupted build leaves the previous generation serving. Retention (`prune_generations`):
the current generation is kept, and of the older ones only the newest that verifies and holds
no document missing from the current one (the fallback); the rest are removed. So a build
that removes a document leaves no copy of it in an older generation. Builds take an
exclusive lock on ``LOCK`` so that two never write at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexCorruptError, IndexMissingError
from assistant.lang.compounds import compound_terms, joined_words
from assistant.lang.fold import fold
from assistant.types import Chunk, DocInfo, Sentence

FORMAT = 4  # 2: chunks keep the text as extracted before OCR repair; 3: compound terms,
# trigrams; 4: chunks keep the abbreviations they use, list items their lead-in sentence
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
CHUNK_VECTORS = "chunks.faiss"
SENTENCE_VECTORS = "sentences.faiss"
LOCK = "LOCK"
_GENERATION_NAME = re.compile(r"gen-\d{6}")
REBUILD_HINT = "run `assistant index` to rebuild it"

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
CREATE VIRTUAL TABLE ngrams USING fts5(text, content = '', tokenize = 'trigram');
"""
LEXICAL_TABLES = ("lexical", "ngrams")


@dataclass(frozen=True)
class StoredDocument:
    """A document's catalog facts, chunks and vectors, as written to (or read from) a generation."""

    info: DocInfo
    fingerprint: str  # sha256 of the file's bytes and its catalog entry: unchanged → reusable
    pages: int | None
    problems: tuple[str, ...]
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray  # one row per chunk
    sentence_vectors: np.ndarray  # one row per sentence, chunk by chunk


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lexical_text(chunk: Chunk) -> str:
    """What the lexical leg indexes for a chunk, folded: its section headings and text, the
    text as extracted when OCR repair changed it (both forms are searchable), and the long
    forms of the abbreviations it uses."""
    long_forms = (long for _, long in chunk.abbreviations)
    return fold(" ".join((*chunk.section, chunk.text, chunk.original or "", *long_forms)))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's build lock (waits for a build in another process or thread)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if the process dies
        yield
    finally:
        os.close(fd)


def generations(index_dir: Path) -> list[Path]:
    """Completed generation folders, oldest first."""
    if not index_dir.is_dir():
        return []
    return sorted(p for p in index_dir.glob("gen-*")
                  if p.is_dir() and _GENERATION_NAME.fullmatch(p.name))


def current_generation(index_dir: Path) -> Path | None:
    """The generation CURRENT points at, if any (a damaged pointer counts as none)."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return index_dir / name if _GENERATION_NAME.fullmatch(name) else None


def write_generation(
    index_dir: Path, documents: Iterable[StoredDocument], manifest: dict[str, Any], dim: int
) -> Path:
    """Write a complete new generation and switch CURRENT to it; returns its folder.

    Call `prune_generations` afterwards (under the build lock) to apply the retention rule.
    """
    import faiss

    if not index_dir.exists():
        index_dir.mkdir(parents=True)
        _fsync_dir(index_dir.parent)
    for stale in [*index_dir.glob("gen-*.tmp"), *index_dir.glob("gen-*.old")]:
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was interrupted
    existing = generations(index_dir)
    number = int(existing[-1].name.split("-")[1]) + 1 if existing else 1
    name = f"gen-{number:06d}"
    tmp = index_dir / f"{name}.tmp"
    tmp.mkdir()

    chunk_index = faiss.IndexFlatIP(dim)
    sentence_index = faiss.IndexFlatIP(dim)
    db = sqlite3.connect(tmp / STORE)
    db.executescript(_SCHEMA)
    chunk_row = sentence_row = 0
    docs_meta: dict[str, Any] = {}
    for stored in documents:
        chunk_lo, sent_lo = chunk_row, sentence_row
        for chunk, vector in zip(stored.chunks, stored.chunk_vectors, strict=True):
            db.execute(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (chunk_row, chunk.id, chunk.doc, chunk.ordinal, json.dumps(chunk.section),
                 chunk.page_start, chunk.page_end, chunk.start, chunk.end, chunk.text,
                 json.dumps([[s.start, s.end, s.page, list(s.section), s.lead]
                             for s in chunk.sentences]),
                 vector.astype(np.float32).tobytes(), chunk.original,
                 json.dumps(chunk.abbreviations)),
            )
            text = lexical_text(chunk)
            db.execute("INSERT INTO lexical(rowid, text, compounds) VALUES (?, ?, ?)",
                       (chunk_row, text, " ".join(compound_terms(text))))
            db.execute("INSERT INTO ngrams(rowid, text) VALUES (?, ?)",
                       (chunk_row, " ".join((text, *joined_words(text)))))
            for i in range(len(chunk.sentences)):
                db.execute("INSERT INTO sentences VALUES (?,?,?,?)",
                           (sentence_row, chunk_row, i,
                            stored.sentence_vectors[sentence_row - sent_lo].tobytes()))
                sentence_row += 1
            chunk_row += 1
        if len(stored.chunks):
            chunk_index.add(np.ascontiguousarray(stored.chunk_vectors, dtype=np.float32))
        if len(stored.sentence_vectors):
            sentence_index.add(np.ascontiguousarray(stored.sentence_vectors, dtype=np.float32))
        info = stored.info
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (info.doc, stored.fingerprint, info.title, info.language, info.publisher, info.year,
             info.type, info.region, info.form, stored.pages, json.dumps(stored.problems),
             chunk_lo, chunk_row, sent_lo, sentence_row),
        )
        docs_meta[info.doc] = {"fingerprint": stored.fingerprint, "chunks": chunk_row - chunk_lo,
                               "sentences": sentence_row - sent_lo,
                               "problems": list(stored.problems)}
    db.commit()
    db.close()
    faiss.write_index(chunk_index, str(tmp / CHUNK_VECTORS))
    faiss.write_index(sentence_index, str(tmp / SENTENCE_VECTORS))

    files = {}
    for fname in (STORE, CHUNK_VECTORS, SENTENCE_VECTORS):
        _fsync_file(tmp / fname)
        files[fname] = {"size": (tmp / fname).stat().st_size, "sha256": file_sha256(tmp / fname)}
    full_manifest = {**manifest, "format": FORMAT, "generation": name, "dim": dim,
                     "documents": docs_meta, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(full_manifest, ensure_ascii=False, indent=2),
                                encoding="utf-8")
    _fsync_file(tmp / MANIFEST)
    _fsync_dir(tmp)
    final = index_dir / name
    tmp.rename(final)
    _fsync_dir(index_dir)
    _point_current(index_dir, name)
    return final


def _point_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f"{CURRENT}.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    _fsync_file(tmp)
    tmp.replace(index_dir / CURRENT)
    _fsync_dir(index_dir)


def prune_generations(index_dir: Path) -> list[str]:
    """Apply the retention rule (see the module docstring); returns the removed generations."""
    current = current_generation(index_dir)
    if current is None or not current.is_dir():
        return []
    try:
        manifest = read_manifest(current)
        allowed: set[str] | None = set(manifest.get("documents", {})) | set(
            manifest.get("failed") or {})
    except IndexCorruptError:
        allowed = None  # cannot tell what the current one holds: keep the best fallback
    fallback = None
    for older in reversed([g for g in generations(index_dir) if g.name < current.name]):
        try:
            held_manifest = verify_generation(older)
        except IndexCorruptError:
            continue
        held = set(held_manifest.get("documents", {})) | set(held_manifest.get("failed") or {})
        if allowed is None or held <= allowed:
            fallback = older
            break
    removed = []
    for generation in generations(index_dir):
        if generation in (current, fallback):
            continue
        # renamed first, so a removal cut short never leaves a half-deleted generation
        doomed = generation.with_name(generation.name + ".old")
        generation.rename(doomed)
        removed.append(generation.name)
    if removed:
        _fsync_dir(index_dir)
    for doomed in index_dir.glob("gen-*.old"):
        shutil.rmtree(doomed, ignore_errors=True)
    return removed


def read_manifest(generation: Path) -> dict[str, Any]:
    """A generation's manifest, checked for format."""
    path = generation / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path}: unreadable manifest ({exc}); {REBUILD_HINT}") from exc
    if manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"{generation}: index format {manifest.get('format')} is not "
                                f"{FORMAT}; {REBUILD_HINT}")
    return dict(manifest)


def verify_generation(generation: Path) -> dict[str, Any]:
    """The manifest, after checking every file's size and sha256 against it."""
    manifest = read_manifest(generation)
    for fname, expected in manifest["files"].items():
        path = generation / fname
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}")
        if path.stat().st_size != expected["size"]:
            raise IndexCorruptError(f"{path} has {path.stat().st_size} bytes, manifest says "
                                    f"{expected['size']} (truncated?); {REBUILD_HINT}")
        if file_sha256(path) != expected["sha256"]:
            raise IndexCorruptError(f"{path} does not match its checksum; {REBUILD_HINT}")
    return manifest


def open_generation(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The newest generation that verifies, preferring CURRENT; errors name the fix."""
    current = current_generation(index_dir)
    candidates = [current] if current is not None else []
    candidates += [g for g in reversed(generations(index_dir)) if g != current]
    if not candidates:
        raise IndexMissingError(f"no index in {index_dir}; run `assistant index` to build it")
    problems = []
    for generation in candidates:
        try:
            return generation, verify_generation(generation)
        except IndexCorruptError as exc:
            problems.append(str(exc))
    raise IndexCorruptError("no usable index generation: " + " | ".join(problems))


def _lexical_table(name: str) -> str:
    """A lexical table's name, checked (it is put into SQL)."""
    if name not in LEXICAL_TABLES:
        raise ValueError(f"no lexical table {name!r}; use one of {', '.join(LEXICAL_TABLES)}")
    return name


class StoreReader:
    """Read access to one generation's SQLite store and FAISS indexes."""

    def __init__(self, generation: Path, manifest: dict[str, Any]) -> None:
        import faiss

        self.generation = generation
        self.manifest = manifest
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
        self._df: dict[str, int] = {}
        sentence_chunks = self.db.execute("SELECT chunk_row FROM sentences ORDER BY row")
        self.sentence_chunk = np.array([r[0] for r in sentence_chunks], dtype=np.int64)

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

    def lexical(self, match: str, limit: int, table: str = "lexical") -> list[tuple[int, float]]:
        """Chunk rows and BM25 scores (higher is better) for an FTS5 match expression over
        the words and compound parts (`lexical`) or the trigrams (`ngrams`) of the chunks."""
        if not match:
            return []
        table = _lexical_table(table)
        rows = self.db.execute(
            f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ? "
            f"ORDER BY bm25({table}) LIMIT ?", (match, limit))
        return [(int(r), -float(s)) for r, s in rows]

    def chunk_row(self, chunk: Chunk) -> int:
        """The row of a chunk (a document's chunks are stored in ordinal order)."""
        return self.doc_rows[chunk.doc][0] + chunk.ordinal

    def row_doc(self, row: int) -> str:
        """The document a chunk row belongs to."""
        i = int(np.searchsorted(self._chunk_starts, row, side="right")) - 1
        return self._chunk_docs[i]

    def document_frequency(self, match: str, table: str = "lexical") -> int:
        """How many chunks an FTS5 match expression finds (cached per expression)."""
        key = f"{table}\0{match}"
        if key not in self._df:
            table = _lexical_table(table)
            (count,) = self.db.execute(
                f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (match,)).fetchone()
            self._df[key] = int(count)
        return self._df[key]

    def lexical_texts(self, rows: Iterable[int]) -> dict[int, str]:
        """The folded text the lexical leg indexed for each chunk row."""
        rows = list(rows)
        marks = ",".join("?" * len(rows))
        return dict(self.db.execute(
            f"SELECT rowid, text FROM lexical WHERE rowid IN ({marks})", rows)) if rows else {}

    def fingerprints(self) -> dict[str, str]:
        """Fingerprint of every document in this generation."""
        return dict(self.db.execute("SELECT doc, fingerprint FROM documents"))

    def load_stored(self, doc: str) -> StoredDocument:
        """A document with its chunks and vectors, for reuse by an incremental build."""
        (sha, pages, problems, c_lo, c_hi, s_lo, s_hi) = self.db.execute(
            "SELECT fingerprint, pages, problems, chunk_lo, chunk_hi, sent_lo, sent_hi "
            "FROM documents WHERE doc = ?", (doc,)).fetchone()
        chunks = self.chunks(range(c_lo, c_hi))
        dim = int(self.manifest["dim"])
        cvec = [np.frombuffer(v, dtype=np.float32) for (v,) in self.db.execute(
            "SELECT vector FROM chunks WHERE row >= ? AND row < ? ORDER BY row", (c_lo, c_hi))]
        svec = [np.frombuffer(v, dtype=np.float32) for (v,) in self.db.execute(
            "SELECT vector FROM sentences WHERE row >= ? AND row < ? ORDER BY row", (s_lo, s_hi))]
        return StoredDocument(
            info=self.docs[doc], fingerprint=sha, pages=pages, problems=tuple(json.loads(problems)),
            chunks=tuple(chunks[r] for r in range(c_lo, c_hi)),
            chunk_vectors=np.array(cvec, dtype=np.float32).reshape(-1, dim),
            sentence_vectors=np.array(svec, dtype=np.float32).reshape(-1, dim),
        )

    def close(self) -> None:
        """Release the SQLite connection."""
        self.db.close()
