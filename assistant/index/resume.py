"""Checkpoints of a build in progress, so that a killed build resumes from its completed
segments instead of embedding everything again.

A build of the segment store writes its newly embedded documents into sealed segments (one
per language) every `CHECKPOINT_CHUNKS` chunks or `CHECKPOINT_S` seconds and lists them in
``build-progress.json`` with the build's settings. Nothing is served from them until the
build's commit point lists them. A build that finds the file (the previous one died before
its commit) takes a document from those segments instead of embedding it when the file's
fingerprint and the build settings are unchanged; the commit then lists those segments, with
their other documents tombstoned. A build that commits removes the file; `prune` removes
segments no commit lists.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.index.segment import LanguageSegments, Segment
from assistant.index.storage import DocumentFacts, StoredDocument

PROGRESS = "build-progress.json"
CHECKPOINT_CHUNKS = 25_000  # new chunks a build embeds between checkpoints
CHECKPOINT_S = 600.0  # or seconds of embedding, whichever comes first (small segments merge)


@dataclass(frozen=True)
class Checkpointed(DocumentFacts):
    """A newly indexed document, already written into a segment of this build."""

    segment: str = ""


class Checkpoints:
    """The sealed segments of this build (and of a killed one it resumes)."""

    def __init__(self, index_dir: Path, build: Mapping[str, Any]) -> None:
        self.index_dir = index_dir
        self.build = dict(build)
        self.entries: dict[str, dict[str, Any]] = {}  # segment name → its entry
        self.found: dict[str, tuple[DocumentFacts, dict[str, Any]]] = self._load()
        self.pending: list[StoredDocument] = []
        self.pending_chunks = 0
        self.dim = 0
        self.flushed = time.monotonic()
        self.doc_segment: dict[str, str] = {}  # where each document of this build is

    def _load(self) -> dict[str, tuple[DocumentFacts, dict[str, Any]]]:
        """Documents of the segments a killed build of the same settings completed."""
        try:
            body = json.loads((self.index_dir / PROGRESS).read_text(encoding="utf-8"))
            if body["build"] != self.build:
                return {}
            entries, dim = list(body["segments"]), int(body["dim"])
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        found = {}
        for entry in entries:
            folder = self.index_dir / entry["name"]
            if not all((folder / f).is_file() and (folder / f).stat().st_size == e["size"]
                       for f, e in entry["files"].items()):
                continue
            segment = Segment(folder, entry, dim, lazy=True)
            try:
                found.update({doc: (facts, entry) for doc, facts in segment.documents().items()})
            finally:
                segment.close()
        return found

    def resumed(self, name: str, fingerprint: str) -> Checkpointed | None:
        """The document as a killed build wrote it, when its file is unchanged since."""
        hit = self.found.get(name)
        if hit is None or hit[0].fingerprint != fingerprint:
            return None
        facts, entry = hit
        self.entries[entry["name"]] = entry
        self.doc_segment[name] = entry["name"]
        return Checkpointed(**vars(facts), segment=entry["name"])

    def add(self, document: StoredDocument) -> Checkpointed:
        """Take a newly embedded document (a segment is written every CHECKPOINT_CHUNKS); its
        facts, for the build's plan."""
        self.pending.append(document)
        self.pending_chunks += len(document.chunks)
        if (self.pending_chunks >= CHECKPOINT_CHUNKS
                or time.monotonic() - self.flushed >= CHECKPOINT_S):
            self.flush()
        return Checkpointed(document.info, document.fingerprint, document.pages,
                            document.problems, len(document.chunks),
                            len(document.sentence_vectors))

    def flush(self) -> None:
        """Write the pending documents as sealed segments (one per language) and list them in
        the progress file."""
        if not self.pending:
            return
        self.dim = int(self.pending[0].chunk_vectors.shape[1])
        builders = LanguageSegments(self.index_dir, self.dim)
        try:
            for document in self.pending:
                builders.add(document)
            entries = builders.finish()
        except BaseException:
            builders.abort()
            raise
        for entry in entries:
            self.entries[entry["name"]] = entry
            self.doc_segment.update(dict.fromkeys(entry["docs"], entry["name"]))
        self.pending, self.pending_chunks = [], 0
        self.flushed = time.monotonic()
        self._save()

    def _save(self) -> None:
        path = self.index_dir / PROGRESS
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump({"build": self.build, "dim": self.dim,
                       "segments": list(self.entries.values())}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def segments(self) -> list[tuple[dict[str, Any], list[str]]]:
        """This build's segments (written or resumed), each with the documents the build
        takes from it, after writing what is pending."""
        self.flush()
        return [(entry, sorted(d for d, s in self.doc_segment.items() if s == name))
                for name, entry in self.entries.items()]

    def finish(self) -> None:
        """The build committed: the progress file goes."""
        (self.index_dir / PROGRESS).unlink(missing_ok=True)
