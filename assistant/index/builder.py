"""Build the next commit of an index from a corpus folder, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol

import numpy as np

from assistant.config import Settings
from assistant.errors import AssistantError, DocumentNotFoundError
from assistant.index.backend import build_lock, encoder_mark, new_writer, open_index, prune
from assistant.index.commits import commit_points, held, read_commit
from assistant.index.embedding import embed_document
from assistant.index.filestats import FileStats
from assistant.index.resume import Checkpointed, Checkpoints
from assistant.index.segment import held_documents
from assistant.index.source import SourceFile, corpus_file, corpus_source, named_source
from assistant.index.storage import DocumentFacts, IndexStore, StoredDocument
from assistant.index.store import SegmentStore
from assistant.index.writer import SegmentWriter
from assistant.ingest import SUPPORTED_SUFFIXES
from assistant.ingest.catalog import read_catalog, write_entry
from assistant.lang.personal import mask_text
from assistant.model.embed import Embedder, load_embedder

log = logging.getLogger(__name__)

# Bump when the way chunks are made or turned into embedding input changes:
# a generation built with another value is not reused by an incremental build.
PIPELINE_VERSION = 5


class Progress(Protocol):
    """What a build tells of its way through the corpus (the CLI's progress bar)."""

    def start(self, total_bytes: int) -> None:
        """The files are listed: this many bytes to go through."""

    def done(self, name: str, size: int) -> None:
        """One file is indexed, reused or reported."""


@dataclass
class BuildReport:
    """What an index build did, document by document."""

    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # what each failure was for (file, catalog entry, parse limits): unchanged → not retried
    failed_keys: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)  # per-page warnings
    generation: str | None = None  # the commit point in service after the build
    chunks: int = 0
    sentences: int = 0
    pruned: list[str] = field(default_factory=list)  # older commits and segments removed
    hashed: int = 0  # files read and hashed (the others had the size and time remembered)


def _failure_key(fingerprint: str, settings: Settings) -> str:
    """A failed file's fingerprint together with the parse limits it failed under."""
    limits = f"{settings.parse_timeout_s}/{settings.parse_memory_mb}/{settings.max_document_words}"
    return hashlib.sha256(f"{fingerprint}/{limits}".encode()).hexdigest()


def build_fingerprint(settings: Settings) -> dict[str, Any]:
    """The settings an index's vectors depend on; reuse needs them all equal."""
    return {
        "model": settings.model,
        **encoder_mark(settings),
        "pipeline": PIPELINE_VERSION,
        "chunk_words": settings.chunk_words,
        "chunk_max_words": settings.chunk_max_words,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "mask_personal_numbers": settings.mask_personal_numbers,
    }


def _previous(settings: Settings) -> IndexStore | None:
    """The serving index, if it was built the same way and can be reused."""
    try:
        store = open_index(settings, lazy=True)
    except AssistantError:
        return None
    if store.build == build_fingerprint(settings):
        return store
    store.close()
    return None


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
    from_folder: bool = True,
    only: Collection[str] | None = None,
) -> BuildReport:
    """Index the corpus into a new build; unchanged files reuse their vectors. With a
    database, the corpus is the database's, into which the corpus folder is imported first
    unless `from_folder` is False (a worker builds from the database alone).

    With `only` (corpus-relative names), a corpus folder's build looks at those files alone,
    as they are now (indexed, re-indexed, or removed when gone), and keeps every other
    document of the serving index as it is, without listing the folder: what an upload or a
    removal through the API costs, whatever the corpus size. Without a serving index of the
    same settings, or with a database, it is a full build."""
    with build_lock(settings):
        return _build(settings, embedder, progress, from_folder, only)


def _build(
    settings: Settings, embedder: Embedder, progress: Progress | None,
    from_folder: bool = True, only: Collection[str] | None = None,
) -> BuildReport:
    """build_index under the build lock."""
    report = BuildReport()
    checkpoints = (None if settings.database_url
                   else Checkpoints(settings.index_dir, build_fingerprint(settings)))
    previous = None
    if only is not None and not settings.database_url:
        previous = _previous(settings)
    if previous is None:
        only = None  # nothing to keep the other documents from: a full build
    stats = FileStats(None if settings.database_url else settings.index_dir, only)
    with (corpus_source(settings, from_folder, stats) if only is None
          else named_source(settings.corpus_dir, only, stats)) as files:
        if only is None:
            previous = _previous(settings)  # after a database's import of the folder
        old, same = _compare(previous, files, only, report)
        plan: list[StoredDocument | DocumentFacts] = []  # embedded anew, or kept as they are
        if progress:
            progress.start(sum(file.size for file in files))
        for file in files:
            if file.name in same:
                report.unchanged.append(file.name)
            else:
                _index_one(file, previous, old, settings, embedder, report, plan, checkpoints)
            if progress:
                progress.done(file.name, file.size)
    others = _tally(report, plan, old, previous if isinstance(previous, SegmentStore) else None)
    try:
        # a failure that appeared, went away or changed its reason is a change too: the
        # manifest lists them, and a removed failed file must leave no trace
        if previous is not None and not report.indexed and not report.removed and (
                report.failed == dict(previous.failed)
                and report.failed_keys == dict(previous.failed_keys)):
            report.generation = previous.name
            if checkpoints is not None:
                checkpoints.finish()
            report.pruned = prune(settings)  # finish an interrupted one
            stats.save()
            report.hashed = stats.hashed
            return report
        report.generation = _write(settings, embedder, plan, report, previous, checkpoints,
                                   others)
        if checkpoints is not None:
            checkpoints.finish()
    finally:
        if previous is not None:
            previous.close()
    stats.save()
    report.hashed = stats.hashed
    report.pruned = prune(settings)
    log.info("built %s: %d indexed, %d unchanged, %d removed, %d failed", report.generation,
             len(report.indexed), len(report.unchanged), len(report.removed), len(report.failed))
    return report


def _compare(previous: IndexStore | None, files: Sequence[SourceFile],
             only: Collection[str] | None, report: BuildReport
             ) -> tuple[dict[str, DocumentFacts], set[str]]:
    """What a build looks at in the serving index: the facts of the documents it may
    replace or remove, and the names of the listed files it keeps as they are. A folder
    index is asked for its fingerprints and those documents alone: at 20,000 documents,
    reading every document's row cost a quarter of a one-file update (bench/RESULTS.md,
    issue 15). A targeted build looks at the files it names (`only`) alone."""
    if only is not None:  # the others are kept as they are, and failures stay failures
        assert isinstance(previous, SegmentStore)
        named = set(only)
        report.unchanged.extend(sorted(set(previous.fingerprints()) - named))
        for name in sorted(set(previous.failed) - named):
            report.failed[name] = previous.failed[name]
            if name in previous.failed_keys:
                report.failed_keys[name] = previous.failed_keys[name]
        return {doc: facts for doc, (_, facts) in previous.located(named).items()}, set()
    if not isinstance(previous, SegmentStore):
        return (previous.documents() if previous is not None else {}), set()
    prints = previous.fingerprints()
    same = {file.name for file in files if prints.get(file.name) == file.fingerprint}
    return previous.documents(set(prints) - same), same


def _tally(report: BuildReport, plan: list[StoredDocument | DocumentFacts],
           old: dict[str, DocumentFacts], kept_from: SegmentStore | None) -> set[str] | None:
    """Fill in the report's removals, problems and counts. For a build whose plan holds
    only the documents it looked at (`old`: their facts before) and which keeps every other
    document of `kept_from` (a folder index): those it replaces or removes."""
    seen = {d.info.doc for d in plan} | set(report.failed)
    report.removed = sorted(set(old) - seen)
    for document in plan:
        if document.problems:
            report.problems[document.info.doc] = list(document.problems)
    report.chunks = sum(_count(d)[0] for d in plan)
    report.sentences = sum(_count(d)[1] for d in plan)
    if kept_from is None:
        return None
    chunks, sentences = kept_from.counts()
    report.chunks += chunks - sum(f.chunks for f in old.values())
    report.sentences += sentences - sum(f.sentences for f in old.values())
    return set(old) - {d.info.doc for d in plan if old.get(d.info.doc) is d}  # not kept as is


def _count(document: StoredDocument | DocumentFacts) -> tuple[int, int]:
    """Chunks and sentences of a planned document."""
    if isinstance(document, DocumentFacts):
        return document.chunks, document.sentences
    return len(document.chunks), len(document.sentence_vectors)


def _write(settings: Settings, embedder: Embedder, plan: list[StoredDocument | DocumentFacts],
           report: BuildReport, previous: IndexStore | None,
           checkpoints: Checkpoints | None, others: set[str] | None = None) -> str:
    """Write the planned documents as the next build; its name. With `others`, every
    document of `previous` is kept but those (a targeted build's replaced and removed ones)."""
    writer = new_writer(settings, embedder.dim, previous)
    try:
        if others is not None:
            assert isinstance(writer, SegmentWriter)
            writer.keep_others(others)
        for document in plan:
            if isinstance(document, Checkpointed):
                continue  # in a segment of this build's already: adopted below
            if isinstance(document, DocumentFacts):
                if others is None:  # else kept with the others
                    writer.keep(document.info.doc)
            else:
                writer.add(document)
        if checkpoints is not None:
            assert isinstance(writer, SegmentWriter)
            facts = {d.info.doc: d for d in plan if isinstance(d, Checkpointed)}
            for entry, docs in checkpoints.segments():
                writer.adopt(entry, {d: facts[d] for d in docs if d in facts})
        return writer.commit({"build": build_fingerprint(settings), "embedder": embedder.name,
                              "failed": report.failed, "failed_keys": report.failed_keys})
    except BaseException:
        writer.abort()
        raise


def remove_document(
    settings: Settings, doc: str, embedder: Embedder | None = None,
) -> BuildReport:
    """Delete a corpus document's file and catalog entry and rebuild the index without it.

    Segments that hold the document are rewritten without it and older commits that list it
    are removed (see writer and commits), so no copy of its text or vectors stays in the
    index folder. The build looks at this document only (see `build_index`'s `only`). The
    file is looked up by its corpus-relative name as the corpus listing would find it
    (`source.corpus_file`: never out of the folder, never through a link to a folder). Unchanged
    documents reuse their vectors, so `embedder` is only used if other files changed as well;
    without one the configured model is loaded only if needed.
    """
    with build_lock(settings):
        found = corpus_file(settings.corpus_dir, doc)
        path = found[0] if found else None
        catalog = read_catalog(settings.corpus_dir)
        stored = _erase_stored(settings, doc)
        if (path is None and doc not in catalog and not stored
                and doc not in _indexed_names(settings)):
            raise DocumentNotFoundError(f"no document {doc!r} in the corpus or the index")
        if path is not None:
            path.unlink()
        if doc in catalog:
            write_entry(settings.corpus_dir, doc, None)
        log.info("removed %s from the corpus", doc)
        return _build(settings, embedder or LazyEmbedder(settings), None, only=[doc])


def _erase_stored(settings: Settings, doc: str) -> bool:
    """Delete a document's bytes from the database's corpus; whether it held them."""
    if not settings.database_url:
        return False
    from assistant.index.pgfiles import PgFiles, delete_file

    files = PgFiles(settings.database_url)
    try:
        with files.pool.connection() as conn:
            return delete_file(conn, doc)
    finally:
        files.close()


def _indexed_names(settings: Settings) -> set[str]:
    """Documents (indexed or failed) of every commit in the index folder."""
    names: set[str] = set()
    if settings.database_url:
        store = open_index(settings)
        names = set(store.docs) | set(store.failed)
        store.close()
        return names
    for path in commit_points(settings.index_dir):
        try:
            names |= held(settings.index_dir, read_commit(path), held_documents)
        except (AssistantError, sqlite3.Error):
            continue
    return names


class LazyEmbedder:
    """The configured model, loaded for bulk encoding (see load_embedder) only when something
    has to be embedded."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.model
        self._model: Embedder | None = None
        previous = _previous(settings)  # its vector size saves loading the model for it
        self._dim = previous.dim if previous else None
        if previous:
            previous.close()

    @property
    def model(self) -> Embedder:
        if self._model is None:
            s = self.settings
            self._model = load_embedder(s.model, s.model_dir, s.threads, s.batch_size, s.encoder,
                                        bulk=True)
        return self._model

    @property
    def dim(self) -> int:
        return self._dim if self._dim is not None else self.model.dim

    @dim.setter
    def dim(self, value: int) -> None:  # the Embedder protocol declares a plain attribute
        self._dim = value

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.passages(texts)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.queries(texts)


def _index_one(
    file: SourceFile, previous: IndexStore | None, old: dict[str, DocumentFacts],
    settings: Settings, embedder: Embedder, report: BuildReport,
    plan: list[StoredDocument | DocumentFacts], checkpoints: Checkpoints | None,
) -> None:
    """Reuse, embed or report one corpus file."""
    name, entry, fingerprint = file.name, file.entry, file.fingerprint
    if name in old and old[name].fingerprint == fingerprint:  # indexed, so of a known type
        plan.append(old[name])
        report.unchanged.append(name)
        return
    suffix = PurePosixPath(name).suffix
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        report.failed[name] = (f"unsupported file type {suffix or '(none)'}; "
                               f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        return
    # A file that failed before, unchanged and under the same parse limits, fails the same
    # way: report it again without parsing it (a file that hit the timeout would cost the
    # whole timeout on every build).
    failure_key = _failure_key(fingerprint, settings)
    if previous is not None:
        reason = previous.failed.get(name)
        if reason is not None and previous.failed_keys.get(name) == failure_key:
            report.failed[name] = reason
            report.failed_keys[name] = failure_key
            log.info("not parsing %s again: unchanged since it failed", name)
            return
    resumed = checkpoints.resumed(name, fingerprint) if checkpoints is not None else None
    if resumed is not None:  # embedded by a build that was killed before its commit
        plan.append(resumed)
        report.indexed.append(name)
        return
    try:
        document = embed_document(file.fetch(), name, entry, fingerprint, settings, embedder)
    except AssistantError as exc:
        # a parser's message may quote the file
        reason = mask_text(str(exc)) if settings.mask_personal_numbers else str(exc)
        report.failed[name] = reason
        report.failed_keys[name] = failure_key
        log.warning("failed to index %s", reason)
        return
    plan.append(checkpoints.add(document) if checkpoints is not None else document)
    report.indexed.append(name)

