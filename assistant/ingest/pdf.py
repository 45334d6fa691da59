"""PDF loader: one text per page (pypdf), running heads and page numbers removed, headings found."""

from __future__ import annotations

import io
import logging
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError

from assistant.errors import IngestError
from assistant.ingest.furniture import strip_running_lines
from assistant.ingest.lognotes import LogNotes
from assistant.ingest.normalize import clean_chars, wrap_width
from assistant.ingest.paragraphs import Paragraph, paragraphs
from assistant.ingest.text import build_blocks, clean_lines, roles_of
from assistant.types import Document

# pypdf reports damage in a file's structure with its own errors, but also with these
# (NotImplementedError: an unknown filter name; struct and zlib errors: broken streams).
_DAMAGE = (PyPdfError, ValueError, LookupError, TypeError, AttributeError, RecursionError,
           NotImplementedError, ArithmeticError, AssertionError, struct.error, zlib.error)
MAX_REPAIR_NOTES = 3  # distinct repair warnings reported per file (judgement call)


@contextmanager
def _repair_notes() -> Iterator[list[str]]:
    """The damage pypdf repaired (a broken xref table, wrong offsets) while the block ran."""
    handler = LogNotes(logging.WARNING, MAX_REPAIR_NOTES, distinct=True)
    logger = logging.getLogger("pypdf")
    logger.addHandler(handler)
    try:
        yield handler.notes
    finally:
        logger.removeHandler(handler)


def _open(data: bytes, doc: str) -> PdfReader:
    if not data.strip():
        raise IngestError(f"{doc}: not a valid PDF: the file is empty")
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise IngestError(f"{doc}: not a valid PDF: no %PDF header")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{doc}: the PDF is password-protected")
        len(reader.pages)  # reads the page tree: a broken one fails here, not half-way through
    except FileNotDecryptedError as exc:
        raise IngestError(f"{doc}: the PDF is password-protected") from exc
    except _DAMAGE as exc:
        raise IngestError(f"{doc}: not a valid PDF: {exc}") from exc
    return reader


def page_texts(data: bytes, doc: str) -> tuple[list[str], list[str]]:
    """The text of each page (empty where none) and the problems met extracting it."""
    texts, problems = [], []
    with _repair_notes() as notes:
        reader = _open(data, doc)
        for number, page in enumerate(reader.pages, start=1):
            try:
                text = clean_chars(page.extract_text() or "")
            except _DAMAGE as exc:
                problems.append(f"page {number}: text extraction failed ({exc})")
                texts.append("")
                continue
            if not text.strip():
                problems.append(f"page {number}: no text extracted — scanned?")
            texts.append(text)
    problems += [f"damaged PDF, read anyway: {note}" for note in notes]
    return texts, problems


def parse(data: bytes, doc: str) -> Document:
    """Load a PDF file's bytes; each block keeps the 1-based number of its page."""
    texts, problems = page_texts(data, doc)
    pages = [clean_lines(text) for text in strip_running_lines(texts)]
    width = wrap_width([line for lines in pages for line in lines])
    paras: list[Paragraph] = []
    numbers: list[int | None] = []
    for number, lines in enumerate(pages, start=1):
        for para in paragraphs("\n".join(lines), width=width):
            paras.append(para)
            numbers.append(number)
    blocks, title = build_blocks(roles_of(paras, numbers))
    return Document(
        doc=doc, blocks=blocks, title=title, pages=len(texts), problems=tuple(problems)
    )
