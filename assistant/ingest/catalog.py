"""Catalog facts for each document: from the corpus catalog file, or derived from the text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.lang.detect import detect_language
from assistant.types import DocInfo, Document

CATALOG_FILE = "catalog.json"
_FIELDS = {"title", "publisher", "year", "type", "region", "language", "form"}
DOC_TYPES = ("strategy", "report", "service")


def read_catalog(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """The catalog entries by corpus-relative file name; empty when there is no catalog."""
    path = corpus_dir / CATALOG_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
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
    return entries



def doc_info(document: Document, entry: dict[str, Any] | None) -> DocInfo:
    """Merge a catalog entry with what the document itself says; the entry wins."""
    entry = entry or {}
    text = " ".join(b.text for b in document.blocks)
    title = entry.get("title") or document.title or Path(document.doc).stem
    language = entry.get("language") or detect_language(text)
    year = entry.get("year")
    return DocInfo(
        doc=document.doc,
        title=title,
        language=language,
        publisher=entry.get("publisher"),
        year=int(year) if year is not None else None,
        type=entry.get("type"),
        region=entry.get("region"),
        form=entry.get("form"),
    )
