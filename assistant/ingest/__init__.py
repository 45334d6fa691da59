"""Reading documents: a loader per file format, chosen by the file's suffix."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from assistant.errors import IngestError, UnsupportedFormatError
from assistant.types import Document

__all__ = ["LOADERS", "SUPPORTED_SUFFIXES", "load_document"]

Loader = Callable[[bytes, str], Document]


def _lazy(module: str) -> Loader:
    """A loader that imports its module on first use: pypdf and bs4 take about a second to
    import, which a process that only searches (the CLI, a new server) should not pay."""

    def parse(data: bytes, doc: str) -> Document:
        loader: Loader = importlib.import_module(f"assistant.ingest.{module}").parse
        return loader(data, doc)

    return parse


LOADERS: dict[str, Loader] = {
    ".htm": _lazy("html"),
    ".html": _lazy("html"),
    ".markdown": _lazy("markdown"),
    ".md": _lazy("markdown"),
    ".pdf": _lazy("pdf"),
    ".txt": _lazy("text"),
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
