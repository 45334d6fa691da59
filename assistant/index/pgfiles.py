"""The corpus in the database: each document's bytes and catalog entry in the `files` table.

Servers write an upload's bytes in the same transaction as its job, and delete them in the
same transaction as a removal's job, so a worker on another machine, without the receiving
server's folders, builds from them. `assistant index` imports its corpus folder (the rows it
imported before and no longer finds go; uploads stay)."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from assistant.errors import DatabaseError, DocumentNotFoundError
from assistant.index.pgschema import Pool, migrate
from assistant.index.source import SourceFile, corpus_files, fingerprint
from assistant.ingest.catalog import read_catalog

FOLDER, UPLOAD = "folder", "upload"  # where a row came from


def put_file(conn: Any, doc: str, data: bytes, entry: dict[str, Any] | None,
             origin: str) -> None:
    """Store (or replace) a document's bytes and catalog entry on `conn`."""
    conn.execute("INSERT INTO files (doc, data, entry, fingerprint, origin) "
                 "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (doc) DO UPDATE SET "
                 "data = excluded.data, entry = excluded.entry, "
                 "fingerprint = excluded.fingerprint, origin = excluded.origin, added = now()",
                 (doc, data, None if entry is None else json.dumps(entry),
                  fingerprint(data, entry), origin))


def delete_file(conn: Any, doc: str) -> bool:
    """Erase a document's bytes on `conn`; whether there were any."""
    return bool(conn.execute("DELETE FROM files WHERE doc = %s", (doc,)).rowcount)


def _local(root: Path, doc: str) -> Path:
    """Where a document is written out under `root` (a name that climbs out is refused)."""
    parts = PurePosixPath(doc).parts
    if not parts or PurePosixPath(doc).is_absolute() or ".." in parts:
        raise DocumentNotFoundError(f"refusing the stored document name {doc!r}")
    return root.joinpath(*parts)


class PgFiles:
    """The files table of one database."""

    def __init__(self, url: str, pool: Pool | None = None) -> None:
        self.pool = pool or Pool(url, size=2)
        with self.pool.connection() as conn:
            migrate(conn)

    def import_folder(self, corpus_dir: Path) -> None:
        """Make the rows imported from a folder match it (changed files replaced, missing
        ones deleted), in one transaction; uploaded documents are left as they are."""
        catalog = read_catalog(corpus_dir) if corpus_dir.is_dir() else {}
        found = corpus_files(corpus_dir) if corpus_dir.is_dir() else []
        with self.pool.connection() as conn, conn.transaction():
            stored = dict(conn.execute("SELECT doc, fingerprint FROM files WHERE origin = %s",
                                       (FOLDER,)).fetchall())
            for name, path in found:
                data = path.read_bytes()
                if stored.pop(name, None) != fingerprint(data, catalog.get(name)):
                    put_file(conn, name, data, catalog.get(name), FOLDER)
            conn.execute("DELETE FROM files WHERE origin = %s AND doc = ANY(%s)",
                         (FOLDER, sorted(stored)))
            conn.execute("DELETE FROM meta WHERE key = 'corpus_import'")

    def entries(self) -> dict[str, dict[str, Any] | None]:
        """The catalog entry of every stored document."""
        with self.pool.connection() as conn:
            return dict(conn.execute("SELECT doc, entry FROM files ORDER BY doc").fetchall())

    def fetch(self, doc: str, root: Path) -> Path:
        """Write a stored document out under `root` (once per content); its path."""
        with self.pool.connection() as conn:
            found = conn.execute("SELECT fingerprint FROM files WHERE doc = %s",
                                 (doc,)).fetchone()
            if found is None:
                raise DocumentNotFoundError(f"no file for document {doc!r} in the database")
            path = _local(root / found[0], doc)
            if not path.is_file():
                (data,) = conn.execute("SELECT data FROM files WHERE doc = %s",
                                       (doc,)).fetchone()
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        return path

    def source(self, root: Path) -> list[SourceFile]:
        """Every stored document, by name, written under `root` only when fetched."""
        with self.pool.connection() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = 'corpus_import'").fetchone():
                raise DatabaseError(
                    "this database was indexed before it kept its corpus (schema 2 or older): "
                    "run `assistant index` once with the corpus folder, which imports it, "
                    "before a worker builds from the database")
            rows = conn.execute("SELECT doc, entry, fingerprint, octet_length(data) FROM files"
                                ).fetchall()
        # in Python's order, as the folder's walk: the same rows in the same order
        return [SourceFile(doc, entry, print_, lambda doc=doc: self.fetch(doc, root), size)
                for doc, entry, print_, size in sorted(rows, key=lambda r: PurePosixPath(r[0]))]

    def close(self) -> None:
        """Close the pool's idle connections."""
        self.pool.close()
