"""The PostgreSQL database: connecting (errors name the address, password masked, and the fix),
a small connection pool, and the versioned schema, migrated in order when a process starts.

Tables::

    schema_version  one row per applied migration
    meta            how the index was built (model, settings, vector size, failures) and a
                    version counter every committed build bumps (readers refresh their caches)
    documents       catalog facts of each indexed document
    chunks          text, offsets, sentences, the folded lexical text with its tsvector, and the
                    vector (HNSW over its halfvec, inner product)
    sentences       one vector per sentence (HNSW likewise)
    jobs            queued uploads and removals for `assistant worker`
    files           the corpus: each document's bytes and catalog entry (see pgfiles)
    feedback        what people said about answers, shared by every server (see pgfeedback)
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.errors import DatabaseError

log = logging.getLogger(__name__)

EF_SEARCH = 200  # HNSW candidates per search (recall against exact search: see bench/)
FIX = ("start the database, or set ASSISTANT_DATABASE_URL to one that runs "
       "(postgresql://user:password@host:5432/dbname)")

MIGRATIONS: tuple[str, ...] = (
    # 1: the index and the catalog
    """
    CREATE EXTENSION IF NOT EXISTS vector;
    CREATE TABLE meta (key text PRIMARY KEY, value jsonb NOT NULL);
    CREATE TABLE documents (
        doc text PRIMARY KEY, fingerprint text NOT NULL, title text NOT NULL,
        language text NOT NULL, publisher text, year integer, type text, region text, form text,
        pages integer, problems jsonb NOT NULL, chunks integer NOT NULL,
        sentences integer NOT NULL, first_row bigint NOT NULL);
    CREATE TABLE chunks (
        row bigserial PRIMARY KEY, id text UNIQUE NOT NULL,
        doc text NOT NULL REFERENCES documents ON DELETE CASCADE, ordinal integer NOT NULL,
        section jsonb NOT NULL, page_start integer, page_end integer, start integer NOT NULL,
        "end" integer NOT NULL, text text NOT NULL, sentences jsonb NOT NULL, original text,
        abbreviations jsonb NOT NULL, lexical text NOT NULL, terms tsvector NOT NULL,
        terms_length integer NOT NULL, embedding vector NOT NULL);
    CREATE INDEX chunks_doc ON chunks (doc);
    CREATE INDEX chunks_terms ON chunks USING gin (terms);
    CREATE TABLE sentences (
        row bigserial PRIMARY KEY, chunk_row bigint NOT NULL REFERENCES chunks ON DELETE CASCADE,
        doc text NOT NULL, idx integer NOT NULL, embedding vector NOT NULL);
    CREATE INDEX sentences_doc ON sentences (doc);
    CREATE INDEX sentences_chunk ON sentences (chunk_row);
    INSERT INTO meta VALUES ('version', '0');
    """,
    # 2: the job queue of uploads and removals
    """
    CREATE TABLE jobs (
        id bigserial PRIMARY KEY, doc text NOT NULL, action text NOT NULL,
        state text NOT NULL DEFAULT 'queued', error text, attempts integer NOT NULL DEFAULT 0,
        worker text, lease_until timestamptz, created timestamptz NOT NULL DEFAULT now(),
        updated timestamptz NOT NULL DEFAULT now());
    CREATE INDEX jobs_open ON jobs (state, id);
    CREATE INDEX jobs_doc ON jobs (doc, id);
    """,
    # 3: the corpus itself, so workers need no shared folder
    """
    CREATE TABLE files (
        doc text PRIMARY KEY, data bytea NOT NULL, entry jsonb, fingerprint text NOT NULL,
        origin text NOT NULL, added timestamptz NOT NULL DEFAULT now());
    """,
    # 4: feedback on answers, shared by every server
    """
    CREATE TABLE feedback (
        id bigserial PRIMARY KEY, created timestamptz NOT NULL, verdict text NOT NULL,
        question text NOT NULL, answer text NOT NULL, comment text, language text NOT NULL,
        passage_id text, passage_doc text, passage_text text, passage_language text);
    CREATE INDEX feedback_created ON feedback (created);
    """,
    # 5: a database indexed before it held its corpus (version 2 or older) is marked until
    # `assistant index` imports the corpus folder: a worker building from the empty files
    # table would otherwise remove every document
    """
    INSERT INTO meta SELECT 'corpus_import', '"pending"'
        WHERE EXISTS (SELECT 1 FROM documents) AND NOT EXISTS (SELECT 1 FROM files);
    """,
)


def mask_url(url: str) -> str:
    """The database address with its password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def connect(url: str) -> Any:
    """A new autocommit connection with the search settings; DatabaseError when unreachable."""
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        # keep filtered searches complete: scan on past ef_search until enough rows pass
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot reach the database at {mask_url(url)} "
                            f"({_first_line(exc)}); {FIX}") from exc
    return conn


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def failures(url: str, doing: str, then: str) -> Iterator[None]:
    """Turn a lost or failing connection into DatabaseError: what was being done, and `then`
    (what it means and what to do)."""
    import psycopg

    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise DatabaseError(f"the database at {mask_url(url)} failed {doing} "
                            f"({_first_line(exc)}); {then}") from exc


def migrate(conn: Any) -> int:
    """Apply the migrations the database lacks, in order, each in its own transaction (one
    process at a time: an advisory lock); the schema version reached."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7340001)")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                     "(version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())")
        (done,) = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version > done:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
                log.info("database schema migrated to version %d", version)
    return len(MIGRATIONS)


class Pool:
    """Connections shared by a process's threads: one per concurrent use, made on demand;
    a connection that failed is dropped, so the next use reconnects (the database may have
    restarted)."""

    def __init__(self, url: str, size: int = 8) -> None:
        self.url = url
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue(maxsize=size)
        self._pinned = threading.local()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Run this thread's queries on one connection in one read-only repeatable-read
        transaction, so a search sees one state of the index even while a build commits."""
        if getattr(self._pinned, "conn", None) is not None:
            yield
            return
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection for one use; database failures become DatabaseError."""
        import psycopg

        pinned = getattr(self._pinned, "conn", None)
        if pinned is not None:  # inside a snapshot: its failure is handled there
            yield pinned
            return
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.url)
        try:
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            conn.close()
            raise DatabaseError(f"the database at {mask_url(self.url)} failed the request "
                                f"({_first_line(exc)}); it may be restarting: retry in a "
                                f"moment") from exc
        except BaseException:
            conn.close()
            raise
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def ping(self) -> str | None:
        """None when the database answers; else why not (address masked, and the fix)."""
        try:
            with self.connection() as conn:
                conn.execute("SELECT 1")
        except DatabaseError as exc:
            return str(exc)
        return None

    def close(self) -> None:
        """Close the idle connections."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
