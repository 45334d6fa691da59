"""A segment's document rows (its store's `documents` table): read at once into a
`DocTable` where every document is needed (a server, a full build, a merge), or looked up by
name (`located`) where only a few are (a targeted build: at 20,000 documents reading them all
cost more than the upload's own work; bench/RESULTS.md, issue 15)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from assistant.index.storage import DocumentFacts
from assistant.types import DocInfo

DOC_COLUMNS = ("doc, title, language, publisher, year, type, region, form, "
               "chunk_lo, chunk_hi, sent_lo, sent_hi, fingerprint, pages, problems")


class DocTable:
    """A segment's live documents, read from its store at once: catalog facts, row spans,
    fingerprints, and the chunk-row starts that map a row to its document."""

    def __init__(self, db: sqlite3.Connection, deleted: frozenset[str]) -> None:
        self.docs: dict[str, DocInfo] = {}
        self.doc_rows: dict[str, tuple[int, int, int, int]] = {}
        self.facts: dict[str, tuple[str, int | None, tuple[str, ...]]] = {}
        parsed: dict[str, tuple[str, ...]] = {}
        for row in db.execute(f"SELECT {DOC_COLUMNS} FROM documents ORDER BY chunk_lo"):
            if row[0] in deleted:
                continue
            self.docs[row[0]] = DocInfo(*row[:8])
            self.doc_rows[row[0]] = (row[8], row[9], row[10], row[11])
            problems = parsed.get(row[14])  # most documents share one of a few lists
            if problems is None:
                problems = parsed[row[14]] = tuple(json.loads(row[14]))
            self.facts[row[0]] = (row[12], row[13], problems)
        runs = sorted((lo, doc) for doc, (lo, hi, _, _) in self.doc_rows.items() if hi > lo)
        self.chunk_starts = [lo for lo, _ in runs]  # a list: bisect beats numpy on one row
        self.chunk_docs = [doc for _, doc in runs]
        self.live_chunks = sum(hi - lo for lo, hi, _, _ in self.doc_rows.values())
        self.dead_rows: frozenset[int] = frozenset()
        if deleted:  # local chunk rows of tombstoned documents
            self.dead_rows = frozenset(r for lo, hi, _, _ in spans(db, deleted)
                                       for r in range(lo, hi))

    def document(self, doc: str) -> DocumentFacts:
        """The facts of one live document."""
        sha, pages, problems = self.facts[doc]
        c_lo, c_hi, s_lo, s_hi = self.doc_rows[doc]
        return DocumentFacts(self.docs[doc], sha, pages, problems, c_hi - c_lo, s_hi - s_lo)


def located(db: sqlite3.Connection, names: Iterable[str]) -> dict[str, DocumentFacts]:
    """Facts of those of `names` that have a row in the store (tombstones are the caller's)."""
    found: dict[str, DocumentFacts] = {}
    for batch in _batches(names):
        for row in db.execute(f"SELECT {DOC_COLUMNS} FROM documents "
                              f"WHERE doc IN ({','.join('?' * len(batch))})", batch):
            found[row[0]] = DocumentFacts(DocInfo(*row[:8]), row[12], row[13],
                                          tuple(json.loads(row[14])), row[9] - row[8],
                                          row[11] - row[10])
    return found


def spans(db: sqlite3.Connection, docs: Iterable[str]) -> list[tuple[int, int, int, int]]:
    """(chunk_lo, chunk_hi, sent_lo, sent_hi) of some documents of a store."""
    found = []
    for batch in _batches(docs):
        found += db.execute("SELECT chunk_lo, chunk_hi, sent_lo, sent_hi FROM documents "
                            f"WHERE doc IN ({','.join('?' * len(batch))})", batch).fetchall()
    return found


def _batches(names: Iterable[str], size: int = 500) -> list[list[str]]:
    """Sorted names in batches: SQLite caps the parameters of one statement."""
    ordered = sorted(set(names))
    return [ordered[lo:lo + size] for lo in range(0, len(ordered), size)]
