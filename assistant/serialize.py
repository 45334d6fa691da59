"""The one JSON shape for each result, shared by the CLI's --json and the HTTP API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from assistant.types import Answer, Citation, DocStatus, Hit

SECTION_JOIN = " › "


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit as JSON-ready data."""
    chunk = hit.chunk
    return {
        "doc": chunk.doc,
        "title": hit.info.title,
        "section": SECTION_JOIN.join(chunk.section),
        "page": chunk.page_start,
        "text": chunk.text,
        "score": hit.score,
        "highlights": list(hit.highlights),
        "id": chunk.id,
        "section_path": list(chunk.section),
        "pages": [chunk.page_start, chunk.page_end] if chunk.page_start is not None else None,
        "offsets": [chunk.start, chunk.end],
        "language": hit.info.language,
        "type": hit.info.type,
        "year": hit.info.year,
        "region": hit.info.region,
        "ranks": dict(hit.ranks),
        # The text was corrected automatically (OCR repair); `original_text` is as extracted.
        "ocr_repaired": chunk.original is not None,
        "original_text": chunk.original,
    }


def search_json(query: str, hits: list[Hit]) -> dict[str, Any]:
    """One query's results as JSON-ready data."""
    return {"query": query, "hits": [hit_json(h) for h in hits]}


def document_json(status: DocStatus) -> dict[str, Any]:
    """A catalog entry with its indexing state as JSON-ready data."""
    info = status.info
    return {
        "id": info.doc,
        "title": info.title,
        "publisher": info.publisher,
        "year": info.year,
        "type": info.type,
        "region": info.region,
        "language": info.language,
        "form": info.form,
        "pages": status.pages,
        "chunks": status.chunks,
        "status": status.status,
        "problems": list(status.problems),
        "error": status.error,
        "file": f"/api/documents/{quote(info.doc)}/file",
    }


def citation_json(citation: Citation) -> dict[str, Any]:
    """A citation: the quoted sentence, where it stands, and the passage it comes from."""
    hit = citation.hit
    return {
        "n": citation.n,
        "doc": hit.chunk.doc,
        "title": hit.info.title,
        "section": SECTION_JOIN.join(citation.section),
        "page": citation.page,
        "quote": citation.quote,
        "text": hit.chunk.text,
        "id": hit.chunk.id,
        "offsets": [citation.start, citation.end],  # of the quote within `text`
        "ocr_repaired": hit.chunk.original is not None,
        "original_quote": " ".join(hit.chunk.original[citation.start:citation.end].split())
        if hit.chunk.original is not None else None,
        "original_text": hit.chunk.original,
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer (or refusal) as JSON-ready data: the shape of `ask --json` and /api/ask."""
    return {
        "question": answer.question,
        "resolved_question": answer.resolved_question,
        "language": answer.language,
        "answer": answer.text,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [citation_json(c) for c in answer.citations],
        "closest": [hit_json(h) for h in answer.closest],
        "plain_text": answer_plain_text(answer),
    }


_SOURCES = {"sv": ("Källor", "s."), "en": ("Sources", "p.")}


def file_link(doc: str, page: int | None) -> str:
    """Where the API serves a document's file, at its page when there is one."""
    link = f"/api/documents/{quote(doc)}/file"
    return f"{link}#page={page}" if page is not None else link


def answer_plain_text(answer: Answer) -> str:
    """The answer and its numbered sources (title, section, page, file link) as plain text."""
    heading, page_word = _SOURCES.get(answer.language, _SOURCES["en"])
    lines = [answer.text.strip()]
    if answer.citations:
        lines += ["", f"{heading}:"]
    for c in answer.citations:
        parts = [c.hit.info.title]
        if c.section:
            parts.append(SECTION_JOIN.join(c.section))
        if c.page is not None:
            parts.append(f"{page_word} {c.page}")
        lines.append(f"[{c.n}] {', '.join(parts)}")
        lines.append(f"    {file_link(c.hit.chunk.doc, c.page)}")
    return "\n".join(lines) + "\n"
