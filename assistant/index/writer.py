"""Writes the next commit of a segmented index (`SegmentWriter`, the `IndexWriter` of the FAISS
+ SQLite store) and decides what to merge (`merge_plan`).

A build writes its new and changed documents into one new segment per language (a new one
every `SEGMENT_CHUNKS` chunks); documents it keeps stay in their segments untouched;
documents it drops or replaces become tombstones in theirs. Before the commit point is
written, segments are merged (their live documents rewritten into one new segment per
language, tombstoned rows dropped):

- every segment that physically holds a document the new commit neither serves nor lists as
  failed (a removed document): the erasure guarantee, see README "Index folder";
- every segment whose rows are more than half tombstoned;
- a tier of `MERGE_AT` or more segments of one language and similar size (live chunks
  within a factor of `TIER_FACTOR`), so the number of segments stays logarithmic in the
  corpus; segments below `FLOOR_CHUNKS` count as that size (Lucene's floor segment size), so
  tiny segments merge with small ones instead of waiting for four more as tiny as they;
  segments of `SEGMENT_CHUNKS` or more live chunks are full and only rewritten for the
  first two reasons.

A merge, like a build, seals its segment once it holds `SEGMENT_CHUNKS` chunks and starts
another. So a large first build, whose checkpoints (resume.py) all merge at its commit, ends
as full segments rather than one segment per language, and erasing a document later rewrites
one segment of at most that size (plus its last document), not the whole corpus.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from assistant.index.commits import segment_number, write_commit
from assistant.index.segment import LanguageSegments, Segment
from assistant.index.storage import DocumentFacts, StoredDocument
from assistant.index.store import SegmentStore

SEGMENT_CHUNKS = 100_000  # chunks per segment a build writes before it starts another
MERGE_AT = 5
TIER_FACTOR = 10
FLOOR_CHUNKS = 1_000  # every smaller segment is in this size's tier (1M: bench/RESULTS.md)
MAX_TOMBSTONED = 0.5


def tier(live_chunks: int) -> int:
    """The size tier of a segment: segments of one tier are within TIER_FACTOR of each other,
    those under FLOOR_CHUNKS all in the floor's. Counted in integers: math.log(1000, 10) is
    2.9999999999999996."""
    size, level = max(live_chunks, FLOOR_CHUNKS), 0
    while size >= TIER_FACTOR:
        size //= TIER_FACTOR
        level += 1
    return level


def merge_plan(segments: list[dict[str, Any]], live: Mapping[str, int],
               allowed: set[str]) -> list[str]:
    """The names of the segments to merge into one, given each segment's entry, the live
    chunk count per segment, and the documents that may stay on disk. A segment's live
    documents are the new commit's, so it holds a document that may not stay exactly when one
    of its tombstones names it."""
    chosen = {s["name"] for s in segments
              if not set(s["deleted"]) <= allowed
              or live[s["name"]] < (1 - MAX_TOMBSTONED) * s["chunks"]}
    tiers: dict[tuple[tuple[str, ...], int], list[str]] = {}
    for s in segments:
        if s["name"] not in chosen and live[s["name"]] < SEGMENT_CHUNKS:
            # segments written before they were split by language list none: one group
            key = (tuple(s.get("languages", ())), tier(live[s["name"]]))
            tiers.setdefault(key, []).append(s["name"])
    for names in tiers.values():
        if len(names) >= MERGE_AT:
            chosen.update(names)
    return sorted(chosen)


class SegmentWriter:
    """Writes the next commit: new segments for added documents, tombstones for the rest."""

    def __init__(self, index_dir: Path, dim: int, previous: SegmentStore | None = None
                 ) -> None:
        if previous is not None and previous.dim != dim:
            raise ValueError(f"vector size {dim} differs from the index's {previous.dim}")
        self.index_dir = index_dir
        self.dim = dim
        self.previous = previous
        self.new = LanguageSegments(index_dir, dim, SEGMENT_CHUNKS)
        self.written: list[dict[str, Any]] = []  # sealed, not yet committed
        self.adopted: list[dict[str, Any]] = []  # sealed by this build's checkpoints
        # the new commit's documents: the segment each is in and its chunks (a commit point
        # lists neither; they decide what to merge)
        self.facts: dict[str, tuple[str, int]] = {}
        self.kept: set[str] = set()
        # keep_others: the previous commit's documents dropped (by segment number and chunks),
        # every other one kept without being named
        self.dropped: dict[str, tuple[int, int]] | None = None

    def add(self, document: StoredDocument) -> None:
        """Write a newly embedded document into its language's segment being written."""
        self.facts[document.info.doc] = (self.new.add(document), len(document.chunks))

    def adopt(self, entry: dict[str, Any], documents: Mapping[str, DocumentFacts]) -> None:
        """List a segment this build already wrote (a checkpoint, see resume.py) with the
        documents taken from it; its other documents are tombstoned."""
        self.adopted.append({**entry, "deleted": sorted(set(entry["docs"]) - set(documents))})
        for doc, facts in documents.items():
            self.facts[doc] = (entry["name"], facts.chunks)

    def keep(self, doc: str) -> None:
        """Leave an unchanged document where it is, in its segment."""
        if self.previous is None or doc not in self.previous.doc_segment:
            raise ValueError(f"no earlier commit to keep {doc!r} from")
        self.kept.add(doc)
        segment = self.previous.segments[self.previous.doc_segment[doc]]
        lo, hi, _, _ = segment.doc_rows[doc]
        self.facts[doc] = (segment.name, hi - lo)

    def keep_others(self, dropped: Collection[str]) -> None:
        """Leave every document of the previous commit where it is, except `dropped` (a
        targeted build's way of keeping what it was not asked about: the writer then looks
        up the dropped documents by name instead of reading every document's row)."""
        if self.previous is None:
            raise ValueError("no earlier commit to keep documents from")
        self.dropped = {doc: (number, facts.chunks)
                        for doc, (number, facts) in self.previous.located(dropped).items()}

    def commit(self, build: Mapping[str, Any]) -> str:
        """Tombstone what was dropped, merge (see the module docstring), write the commit
        point; its name."""
        self.written += self.new.finish()
        segments = self._tombstoned() + self.written + self.adopted
        allowed = self._allowed(segments, set(build.get("failed") or {}))
        kept = self._kept_chunks()
        while True:
            live = {s["name"]: kept.get(s["name"], 0) for s in segments}
            for segment, chunks in self.facts.values():
                live[segment] += chunks
            segments = [s for s in segments
                        if live[s["name"]] or not set(s["deleted"]) <= allowed]
            chosen = merge_plan(segments, live, allowed)
            if not chosen or (len(chosen) == 1 and not self._must_rewrite(chosen[0], segments)):
                break
            segments = self._merge(segments, chosen)
        listed = [{k: v for k, v in s.items() if k != "docs"}  # the segment lists its own
                  for s in sorted(segments, key=lambda s: s["name"])]
        body = {**build, "dim": self.dim, "segments": listed}
        return write_commit(self.index_dir, body).name.removesuffix(".json")

    def _allowed(self, segments: list[dict[str, Any]], failed: set[str]) -> set[str]:
        """Those of the tombstoned documents that may stay on disk: the ones the new commit
        serves or lists as failed (the erasure rule of `merge_plan`)."""
        tombstoned = {doc for s in segments for doc in s["deleted"]}
        allowed = tombstoned & (set(self.facts) | failed)
        if self.dropped is not None and self.previous is not None:
            # kept without being named: served now exactly where served before
            unsure = tombstoned - allowed - set(self.dropped)
            allowed |= set(self.previous.located(unsure))
        return allowed

    def _kept_chunks(self) -> dict[str, int]:
        """Live chunks by segment of the documents kept by `keep_others` (the others are
        counted from `facts`)."""
        if self.dropped is None or self.previous is None:
            return {}
        dropped: dict[int, int] = {}
        for number, chunks in self.dropped.values():
            dropped[number] = dropped.get(number, 0) + chunks
        return {segment.name: segment.counts()[0] - dropped.get(number, 0)
                for number, segment in self.previous.segments.items()}

    def _must_rewrite(self, name: str, segments: list[dict[str, Any]]) -> bool:
        """Whether a lone chosen segment needs rewriting (it is not a clean merge result)."""
        return bool(next(s for s in segments if s["name"] == name)["deleted"])

    def _tombstoned(self) -> list[dict[str, Any]]:
        """The previous commit's segments with every document not kept marked deleted."""
        if self.previous is None:
            return []
        if self.dropped is not None:
            gone: dict[int, set[str]] = {}
            for doc, (number, _) in self.dropped.items():
                gone.setdefault(number, set()).add(doc)
            return [{**entry, "deleted": sorted(gone.get(segment_number(entry["name"]),
                                                         set()).union(entry["deleted"]))}
                    for entry in self.previous.commit["segments"]]
        still: dict[int, set[str]] = {}  # kept documents by segment number
        for doc in self.kept:
            still.setdefault(self.previous.doc_segment[doc], set()).add(doc)
        result = []
        for entry in self.previous.commit["segments"]:
            number = segment_number(entry["name"])
            dropped = set(self.previous.segments[number].docs) - still.get(number, set())
            result.append({**entry, "deleted": sorted(dropped.union(entry["deleted"]))})
        return result

    def _merge(self, segments: list[dict[str, Any]], chosen: list[str]
               ) -> list[dict[str, Any]]:
        """Rewrite the live documents of the chosen segments into new segments, one per
        language and every `SEGMENT_CHUNKS` chunks."""
        builders = LanguageSegments(self.index_dir, self.dim, SEGMENT_CHUNKS)
        try:
            for entry in (s for s in segments if s["name"] in chosen):
                segment = self._open(entry)
                try:
                    for doc in segment.docs:  # live documents only, in row order
                        lo, hi, _, _ = segment.doc_rows[doc]
                        self.facts[doc] = (builders.add(segment.stored(doc),
                                                        segment.lexical_rows(doc)), hi - lo)
                finally:
                    if self.previous is None or segment not in self.previous.segments.values():
                        segment.close()
            merged = builders.finish()
        except BaseException:
            builders.abort()
            raise
        self.written += merged
        return [s for s in segments if s["name"] not in chosen] + merged

    def _open(self, entry: dict[str, Any]) -> Segment:
        """A segment of this build's to read from: the previous store's, or one just written."""
        number = segment_number(entry["name"])
        if self.previous is not None and number in self.previous.segments:
            old = self.previous.segments[number]
            if old.deleted == frozenset(entry["deleted"]):
                return old
        return Segment(self.index_dir / entry["name"], entry, self.dim, lazy=True)

    def abort(self) -> None:
        """Drop what this build wrote (the next build's clean-up would remove it anyway)."""
        self.new.abort()
        for entry in self.written + self.new.sealed:
            shutil.rmtree(self.index_dir / entry["name"], ignore_errors=True)
