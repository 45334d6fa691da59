"""Build an index generation from a corpus folder, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import CATALOG_FILE, doc_info, read_catalog
from .chunking import chunk_document
from .config import Settings
from .embed import Embedder
from .errors import AssistantError
from .ingest import SUPPORTED_SUFFIXES, load_document
from .ocr import repair_document
from .store import StoredDocument, StoreReader, open_generation, write_generation
from .types import Chunk, DocInfo

# Bump when the way chunks are made or turned into embedding input changes:
# a generation built with another value is not reused by an incremental build.
PIPELINE_VERSION = 2


@dataclass
class BuildReport:
    """What an index build did, document by document."""

    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)  # per-page warnings
    generation: str | None = None
    chunks: int = 0
    sentences: int = 0


def passage_text(info: DocInfo, chunk: Chunk) -> str:
    """What is embedded for a chunk: document title and section path give the text context."""
    context = " › ".join((info.title, *chunk.section))
    return f"{context}\n{chunk.text}"


def corpus_files(corpus_dir: Path) -> list[tuple[str, Path]]:
    """(corpus-relative name, path) of every candidate document, in a stable order."""
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        if path.is_file() and path.name != CATALOG_FILE and not path.name.startswith("."):
            files.append((path.relative_to(corpus_dir).as_posix(), path))
    return files


def build_fingerprint(settings: Settings) -> dict[str, Any]:
    """The settings an index's vectors depend on; reuse needs them all equal."""
    return {
        "model": settings.model,
        "pipeline": PIPELINE_VERSION,
        "chunk_words": settings.chunk_words,
        "chunk_max_words": settings.chunk_max_words,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
    }


def _previous(settings: Settings) -> StoreReader | None:
    """The serving generation, if it was built the same way and can be reused."""
    try:
        generation, manifest = open_generation(settings.index_dir)
    except AssistantError:
        return None
    if manifest.get("build") != build_fingerprint(settings):
        return None
    return StoreReader(generation, manifest)


def _embed_document(
    path: Path, name: str, entry: dict[str, Any] | None, fingerprint: str,
    settings: Settings, embedder: Embedder,
) -> StoredDocument:
    document = repair_document(load_document(path, name))
    info = doc_info(document, entry)
    chunks = chunk_document(
        document, settings.chunk_words, settings.chunk_max_words,
        settings.chunk_overlap_sentences,
    )
    sentences = [s for c in chunks for s in c.sentence_texts()]
    empty = np.zeros((0, embedder.dim), dtype=np.float32)
    chunk_vectors = embedder.passages([passage_text(info, c) for c in chunks]) if chunks else empty
    sentence_vectors = _embed_unique(embedder, sentences) if sentences else empty
    return StoredDocument(info, fingerprint, document.pages, document.problems, tuple(chunks),
                          chunk_vectors, sentence_vectors)


def _embed_unique(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed each distinct text once (overlapping chunks repeat sentences)."""
    unique = list(dict.fromkeys(texts))
    vectors = embedder.passages(unique)
    position = {t: i for i, t in enumerate(unique)}
    return np.asarray(vectors[[position[t] for t in texts]], dtype=np.float32)


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Index the corpus into a new generation; unchanged files reuse their vectors."""
    report = BuildReport()
    catalog = read_catalog(settings.corpus_dir)
    previous = _previous(settings)
    old = previous.fingerprints() if previous else {}
    stored: list[StoredDocument] = []
    for name, path in corpus_files(settings.corpus_dir):
        _index_one(name, path, catalog.get(name), previous, old, settings, embedder, report,
                   stored)
        if progress:
            progress(name)
    seen = {d.info.doc for d in stored} | set(report.failed)
    report.removed = sorted(set(old) - seen)
    for document in stored:
        if document.problems:
            report.problems[document.info.doc] = list(document.problems)
    report.chunks = sum(len(d.chunks) for d in stored)
    report.sentences = sum(len(d.sentence_vectors) for d in stored)
    if previous is not None:
        previous.close()
        if not report.indexed and not report.removed and not _failed_changed(report, old):
            report.generation = previous.generation.name
            return report
    manifest = {"build": build_fingerprint(settings), "embedder": embedder.name,
                "failed": report.failed}
    report.generation = write_generation(settings.index_dir, stored, manifest, embedder.dim).name
    return report


def _index_one(
    name: str, path: Path, entry: dict[str, Any] | None, previous: StoreReader | None,
    old: dict[str, str], settings: Settings, embedder: Embedder, report: BuildReport,
    stored: list[StoredDocument],
) -> None:
    """Reuse, embed or report one corpus file."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        report.failed[name] = (f"unsupported file type {path.suffix or '(none)'}; "
                               f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        return
    fingerprint = hashlib.sha256(
        path.read_bytes() + json.dumps(entry, sort_keys=True).encode()
    ).hexdigest()
    if previous is not None and old.get(name) == fingerprint:
        stored.append(previous.load_stored(name))
        report.unchanged.append(name)
        return
    try:
        document = _embed_document(path, name, entry, fingerprint, settings, embedder)
    except AssistantError as exc:
        report.failed[name] = str(exc)
        return
    stored.append(document)
    report.indexed.append(name)


def _failed_changed(report: BuildReport, old: dict[str, str]) -> bool:
    """A document that failed now but was indexed before must disappear: rebuild."""
    return any(name in old for name in report.failed)
