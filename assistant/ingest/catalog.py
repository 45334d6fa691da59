"""Catalog facts for each document: from the corpus catalog file, or derived from the text."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Literal, get_args

import orjson

from assistant.errors import ConfigError
from assistant.lang.detect import detect_language
from assistant.types import DocInfo, Document

CATALOG_FILE = "catalog.json"
_FIELDS = {"title", "publisher", "year", "type", "region", "language", "form"}
DocType = Literal["strategy", "report", "service"]
DOC_TYPES: tuple[str, ...] = get_args(DocType)


# The last catalog this process read or wrote, by its file's identity: an upload writes an
# entry and its build reads the catalog again, and each whole parse of 20,000 entries cost
# 40 ms and a full garbage collection (bench/RESULTS.md, issue 15). A file changed in place
# within _RACY_NS of a read could keep its size and time, so a read that fresh is not kept.
_RACY_NS = 2_000_000_000
_Identity = tuple[str, int, int, int, int]  # path, device, inode, size, modification time
_last: tuple[_Identity, dict[str, Any]] | None = None
_last_lock = threading.Lock()


def read_catalog(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """The catalog entries by corpus-relative file name; empty when there is no catalog.
    Read-only: the same mapping may be handed to every caller until the file changes."""
    return _read(corpus_dir / CATALOG_FILE).get("documents", {})


def _identity(path: Path, stat: os.stat_result) -> _Identity:
    return (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _read(path: Path) -> dict[str, Any]:
    """The whole catalog file, checked (empty when there is none)."""
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: not a readable JSON catalog ({exc})") from exc
    identity = _identity(path, stat)
    with _last_lock:
        if _last is not None and _last[0] == identity:
            return _last[1]
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable JSON catalog ({exc})") from exc
    entries = data.get("documents", {}) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ConfigError(f"{path}: expected an object with a 'documents' mapping")
    for name, entry in entries.items():
        unknown = set(entry) - _FIELDS
        if unknown:
            raise ConfigError(f"{path}: entry {name!r} has unknown field(s) {sorted(unknown)}")
        if entry.get("type") not in (None, *DOC_TYPES):
            raise ConfigError(f"{path}: entry {name!r} has type {entry['type']!r}; "
                              f"use one of {', '.join(DOC_TYPES)}")
    if time.time_ns() - stat.st_mtime_ns > _RACY_NS:
        _remember(identity, data)
    return data


def _remember(identity: _Identity, data: dict[str, Any]) -> None:
    global _last
    with _last_lock:
        _last = (identity, data)


def write_entry(corpus_dir: Path, doc: str, entry: dict[str, Any] | None) -> None:
    """Set a document's catalog entry, or drop it (None); the file is replaced atomically.

    A catalog that does not read as valid is not rewritten (the error says why)."""
    path = corpus_dir / CATALOG_FILE
    data = _read(path)  # read and checked once; a copy is changed, never what was read
    documents = dict(data.get("documents", {}))
    if entry is None:
        if doc not in documents:
            return
        documents.pop(doc)
    else:
        documents[doc] = entry
    data = {**data, "documents": documents}
    # a file of this thread's own: what is remembered below is what this write wrote
    tmp = path.with_name(f".{CATALOG_FILE}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        # the bytes of json.dumps(data, ensure_ascii=False, indent=2), 30 times as fast: an
        # upload at 20,000 entries spent 0.1 s here (bench/RESULTS.md, issue 15)
        tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        identity = _identity(path, tmp.stat())  # a rename keeps the file's identity
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _remember(identity, data)


def entry_info(doc: str, entry: dict[str, Any] | None, title: str | None = None,
               text: str | None = None) -> DocInfo:
    """A document's catalog facts: its entry first, then the title and language its text
    gives (when there is text), then its file name and "und"."""
    entry = entry or {}
    year = entry.get("year")
    language = entry.get("language") or (detect_language(text) if text is not None else "und")
    return DocInfo(
        doc=doc,
        title=entry.get("title") or title or Path(doc).stem,
        language=language,
        publisher=entry.get("publisher"),
        year=int(year) if year is not None else None,
        type=entry.get("type"),
        region=entry.get("region"),
        form=entry.get("form"),
    )


def doc_info(document: Document, entry: dict[str, Any] | None) -> DocInfo:
    """Merge a catalog entry with what the document itself says; the entry wins."""
    text = " ".join(b.text for b in document.blocks)
    return entry_info(document.doc, entry, document.title, text)
