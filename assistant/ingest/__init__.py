"""Reading documents: a loader per file format, chosen by the file's suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.errors import IngestError, UnsupportedFormatError
from assistant.ingest import html, markdown, pdf, text
from assistant.types import Document

__all__ = ["LOADERS", "SUPPORTED_SUFFIXES", "load_document"]

Loader = Callable[[bytes, str], Document]

LOADERS: dict[str, Loader] = {
    ".htm": html.parse,
    ".html": html.parse,
    ".markdown": markdown.parse,
    ".md": markdown.parse,
    ".pdf": pdf.parse,
    ".txt": text.parse,
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted(LOADERS))


def load_document(path: Path, doc: str) -> Document:
    """Parse the file at `path` into a Document named `doc` (its corpus-relative name)."""
    suffix = path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise UnsupportedFormatError(
            f"{doc}: unsupported file type {suffix or '(no suffix)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{doc}: cannot read the file: {exc.strerror or exc}") from exc
    return loader(data, doc)
