"""Fingerprints of corpus files remembered by (size, mtime), so that a build hashes only the
files that may have changed.

The content hash stays the truth: a file whose size, modification time or catalog entry
differs from what was remembered is hashed again, and so is a file modified in the same
second its record was written (its later change could keep both size and time, as in git's
"racily clean" case). The record is a cache: missing, unreadable or stale, it only costs
hashing. It holds the names of the corpus files of the last build and nothing else.

It is an SQLite table, one row a file, so a build reads the rows of the files it looks at
and writes the rows that changed: an upload at 21,000 files no longer reads and rewrites an
8 MB record (bench/RESULTS.md, issue 15). Deleted rows are overwritten (`secure_delete`): a
removed document's name and catalog entry do not stay in the file's free pages.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import orjson

FILE = "file-stats.sqlite"
_OLD_FILES = ("file-stats.json",)  # earlier formats of the record: removed at the next save
_RACY_NS = 2_000_000_000  # files this close to their record's writing are hashed again
_SCHEMA = ("CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, size INTEGER, "
           "mtime_ns INTEGER, entry TEXT, sha TEXT, written_ns INTEGER)")


def content_fingerprint(blocks: Iterable[bytes], entry: dict[str, Any] | None) -> str:
    """What decides whether a file is indexed again: sha256 of its bytes and catalog entry."""
    digest = hashlib.sha256()
    for block in blocks:
        digest.update(block)
    digest.update(json.dumps(entry, sort_keys=True).encode())
    return digest.hexdigest()


def fingerprint(path: Path | str, entry: dict[str, Any] | None) -> str:
    """`content_fingerprint` of a file, read in blocks."""
    with open(path, "rb") as fh:
        return content_fingerprint(iter(lambda: fh.read(1 << 20), b""), entry)


class FileStats:
    """Fingerprints by file name, reused while a file's stat and catalog entry are unchanged.

    A full build (`only` None) reads every row at once and looks at every file; a targeted
    build reads the rows of the files it names. `save` writes the rows that changed and
    deletes those of files that are gone: every file not asked about, or those of `only`."""

    def __init__(self, folder: Path | None, only: Collection[str] | None = None) -> None:
        self.path = folder / FILE if folder is not None else None
        self.only = None if only is None else set(only)
        self.db: sqlite3.Connection | None = None
        self.old: dict[str, tuple[Any, ...]] = {}  # name: (size, mtime_ns, entry, sha, written)
        self.changed: dict[str, tuple[Any, ...]] = {}  # rows to write
        self.seen: set[str] = set()
        self.hashed = 0  # files read and hashed by this build
        if self.path is not None and self.path.is_file():
            self.db = self._connect()
            self.old = self._read()

    def _connect(self) -> sqlite3.Connection | None:
        """The record's connection, or None when it cannot be opened (then it is remade)."""
        assert self.path is not None
        try:
            db = sqlite3.connect(self.path, check_same_thread=False)
            db.execute("PRAGMA secure_delete = ON")
            db.execute(_SCHEMA)
            return db
        except sqlite3.Error:
            return None

    def _read(self) -> dict[str, tuple[Any, ...]]:
        """The remembered rows this build may use (none when the record is damaged)."""
        if self.db is None:
            return {}
        query = "SELECT name, size, mtime_ns, entry, sha, written_ns FROM files"
        try:
            if self.only is None:
                rows = self.db.execute(query).fetchall()
            else:
                rows = [row for name in sorted(self.only)
                        for row in self.db.execute(f"{query} WHERE name = ?", (name,))]
        except sqlite3.Error:
            return {}
        return {row[0]: row[1:] for row in rows}

    def fingerprint(self, name: str, path: Path | str, entry: dict[str, Any] | None,
                    stat: os.stat_result | None = None) -> str:
        """The file's fingerprint: remembered when its stat (taken here unless given) and
        entry match, else hashed."""
        stat = stat or os.stat(path)
        self.seen.add(name)
        row = self.old.get(name)
        if (row is not None and row[0] == stat.st_size and row[1] == stat.st_mtime_ns
                and stat.st_mtime_ns < row[4] - _RACY_NS and orjson.loads(row[2]) == entry):
            return str(row[3])
        sha = fingerprint(path, entry)
        self.hashed += 1
        self.changed[name] = (name, stat.st_size, stat.st_mtime_ns,
                              json.dumps(entry, sort_keys=True), sha)
        return sha

    def save(self) -> None:
        """Write this build's changes in one transaction, then close the record (a failure to
        write only costs hashing; a damaged record is replaced)."""
        if self.path is None or not self.path.parent.is_dir():
            return
        try:
            self._write()
        except sqlite3.Error:
            self.close()
            self.path.unlink(missing_ok=True)
            try:
                self._write()
            except sqlite3.Error:
                pass
        finally:
            self.close()
        for old in _OLD_FILES:
            (self.path.parent / old).unlink(missing_ok=True)

    def _write(self) -> None:
        if self.db is None:
            self.db = self._connect()
            if self.db is None:
                raise sqlite3.DatabaseError(f"cannot open {self.path}")
        gone = (self.only if self.only is not None else set(self.old)) - self.seen
        now = time.time_ns()
        with self.db:
            if self.only is None and not self.old:  # unread or damaged: nothing else stays
                self.db.execute("DELETE FROM files")
            self.db.executemany("DELETE FROM files WHERE name = ?", [(n,) for n in sorted(gone)])
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                                [(*row, now) for row in self.changed.values()])
        self.changed = {}

    def close(self) -> None:
        """Release the record's connection."""
        if self.db is not None:
            self.db.close()
            self.db = None
