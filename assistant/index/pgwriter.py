"""The PostgreSQL store (write side): a build is one transaction, so each document is visible
whole or not at all and an interrupted build (a killed worker) leaves nothing behind; builds
take an advisory lock, so two never write at once."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from assistant.index.pgschema import connect, failures, migrate
from assistant.index.pgstore import tsvector, vector_text
from assistant.index.storage import StoredDocument
from assistant.index.store import lexical_text
from assistant.lang.compounds import compound_terms
from assistant.types import Chunk

BUILD_LOCK = 7340002  # advisory lock id held by the build in progress
LOST = "nothing of this build was committed: run it again once the database is back"


@contextmanager
def pg_build_lock(url: str) -> Iterator[None]:
    """Hold the database's build lock (waits for a build in another process); released by
    the server when this process dies, as its connection goes."""
    conn = connect(url)
    try:
        with failures(url, "while taking the build lock", LOST):
            migrate(conn)
            conn.execute("SELECT pg_advisory_lock(%s)", (BUILD_LOCK,))
        yield
    finally:
        conn.close()


class PgWriter:
    """Writes the next build in one transaction; `commit` makes it visible to every reader."""

    def __init__(self, url: str, dim: int) -> None:
        self.url, self.dim = url, dim
        self.conn = connect(url)
        self.conn.autocommit = False
        self.written: set[str] = set()
        with failures(url, "during the build", LOST):
            (old,) = self.conn.execute(
                "SELECT value FROM meta WHERE key = 'dim'").fetchone() or (None,)
            if old is not None and int(old) != dim:  # another model: its vector indexes go
                self.conn.execute("DELETE FROM documents")
                self.conn.execute("DROP INDEX IF EXISTS chunks_hnsw, sentences_hnsw")

    def keep(self, doc: str) -> None:
        """An unchanged document stays as it is."""
        self.written.add(doc)

    def add(self, document: StoredDocument) -> None:
        """Replace a document's rows with these chunks, sentences and vectors."""
        with failures(self.url, f"while writing {document.info.doc}", LOST):
            self._add(document)

    def _add(self, document: StoredDocument) -> None:
        info, conn = document.info, self.conn
        conn.execute("DELETE FROM documents WHERE doc = %s", (info.doc,))
        n = len(document.chunks)
        rows = [r for (r,) in conn.execute(
            "SELECT nextval('chunks_row_seq') FROM generate_series(1, %s)", (n,))]
        conn.execute(
            "INSERT INTO documents VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (info.doc, document.fingerprint, info.title, info.language, info.publisher,
             info.year, info.type, info.region, info.form, document.pages,
             json.dumps(list(document.problems)), n, len(document.sentence_vectors),
             rows[0] if rows else 0))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO chunks VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"
                "%s::tsvector,%s,%s::vector)",
                [_chunk_values(row, chunk, vector)
                 for row, chunk, vector in zip(rows, document.chunks, document.chunk_vectors,
                                               strict=True)])
            sentence_rows = [(row, info.doc, i) for row, chunk in zip(rows, document.chunks,
                                                                     strict=True)
                             for i in range(len(chunk.sentences))]
            cur.executemany(
                "INSERT INTO sentences (chunk_row, doc, idx, embedding) "
                "VALUES (%s,%s,%s,%s::vector)",
                [(*key, vector_text(v))
                 for key, v in zip(sentence_rows, document.sentence_vectors, strict=True)])
        self.written.add(info.doc)

    def commit(self, build: Mapping[str, Any]) -> str:
        """Remove documents neither added nor kept, record how the index was built, build the
        vector indexes if missing, and commit; the name of the new state."""
        with failures(self.url, "while committing the build", LOST):
            return self._commit(build)

    def _commit(self, build: Mapping[str, Any]) -> str:
        conn = self.conn
        conn.execute("DELETE FROM documents WHERE doc <> ALL(%s)", (sorted(self.written),))
        for table in ("chunks", "sentences"):
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} USING hnsw "
                         f"((embedding::halfvec({self.dim})) halfvec_ip_ops)")
        values = {**{k: v for k, v in build.items()}, "dim": self.dim}
        for key, value in values.items():
            conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                         "SET value = excluded.value", (key, json.dumps(value)))
        (version,) = conn.execute("UPDATE meta SET value = to_jsonb(value::text::bigint + 1) "
                                  "WHERE key = 'version' RETURNING value").fetchone()
        conn.commit()
        conn.close()
        return f"postgres v{version}"

    def abort(self) -> None:
        """Drop the unfinished build (a lost connection has dropped it already)."""
        import psycopg

        try:
            self.conn.rollback()
        except psycopg.Error:  # the connection is gone, and with it the transaction
            pass
        self.conn.close()


def _chunk_values(row: int, chunk: Chunk, vector: np.ndarray) -> tuple[Any, ...]:
    text = lexical_text(chunk)
    terms, length = tsvector(text, compound_terms(text))
    return (row, chunk.id, chunk.doc, chunk.ordinal, json.dumps(list(chunk.section)),
            chunk.page_start, chunk.page_end, chunk.start, chunk.end, chunk.text,
            json.dumps([[s.start, s.end, s.page, list(s.section), s.lead]
                        for s in chunk.sentences]),
            chunk.original, json.dumps([list(a) for a in chunk.abbreviations]), text, terms,
            length, vector_text(vector))
