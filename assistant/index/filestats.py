"""Fingerprints of corpus files remembered by (size, mtime), so that a build hashes only the
files that may have changed.

The content hash stays the truth: a file whose size, modification time or catalog entry
differs from what was remembered is hashed again, and so is a file modified in the same
second the record was written (its later change could keep both size and time, as in git's
"racily clean" case). The record is a cache: missing, unreadable or stale, it only costs
hashing. It holds the names of the corpus files of the last build and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FILE = "file-stats.json"
_RACY_NS = 2_000_000_000  # files this close to the record's writing are hashed again


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
    """Fingerprints by file name, reused while a file's stat and catalog entry are unchanged."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / FILE if folder is not None else None
        self.old: dict[str, list[Any]] = {}
        self.written_ns = 0
        self.new: dict[str, list[Any]] = {}
        self.hashed = 0  # files read and hashed by this build
        if self.path is not None:
            try:
                body = json.loads(self.path.read_text(encoding="utf-8"))
                self.old, self.written_ns = dict(body["files"]), int(body["written_ns"])
            except (OSError, ValueError, KeyError, TypeError):
                self.old = {}

    def fingerprint(self, name: str, path: Path | str, entry: dict[str, Any] | None,
                    stat: os.stat_result | None = None) -> str:
        """The file's fingerprint: remembered when its stat (taken here unless given) and
        entry match, else hashed."""
        stat = stat or os.stat(path)
        # the entry as it is: comparing dicts costs less than encoding one a file (a record
        # from before, holding encoded entries, matches nothing and costs one hashing round)
        key = [stat.st_size, stat.st_mtime_ns, entry]
        remembered = self.old.get(name)
        if (remembered is not None and remembered[:3] == key
                and stat.st_mtime_ns < self.written_ns - _RACY_NS):
            sha = str(remembered[3])
        else:
            sha = fingerprint(path, entry)
            self.hashed += 1
        self.new[name] = [*key, sha]
        return sha

    def keep_others(self, names: set[str]) -> None:
        """Carry over the records of every file but `names` (a targeted build looks at those
        alone; a name among them that is no longer a file loses its record)."""
        self.new.update((k, v) for k, v in self.old.items() if k not in names)

    def save(self) -> None:
        """Remember this build's files (atomically; a failure to write only costs hashing)."""
        if self.path is None or not self.path.parent.is_dir():
            return
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"written_ns": time.time_ns(), "files": self.new}),
                           encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
