"""Bulk upload: several files (or a zip of them) in one request, one background build."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import KeyRequired, LibraryDep, SettingsDep
from assistant.api.library import Library, clean_filename
from assistant.api.models import ErrorResponse
from assistant.api.unzip import expand, is_zip
from assistant.config import Settings
from assistant.errors import AssistantError

router = APIRouter(prefix="/documents", tags=["documents"])
ZIP_TOTAL_FACTOR = 4  # a zip may unpack to this many times the upload cap in all


class BatchItem(BaseModel):
    """One file of the batch: queued under its generated id, or refused with the reason."""

    name: str
    id: str | None
    status: Literal["queued", "failed"]
    error: str | None


class BatchResult(BaseModel):
    """Every file of the batch with its state; the queued ones are indexed in one build."""

    files: list[BatchItem]
    queued: int
    failed: int


Item = tuple[str, str | None, bytes | str]
"""A file of the batch: its name, its media type, and its bytes or why it is refused."""


def _items(uploads: list[tuple[str, str | None, bytes]], settings: Settings) -> list[Item]:
    """Each uploaded file, zips replaced by their checked entries."""
    items: list[Item] = []
    for name, media, data in uploads:
        if not is_zip(name, data):
            items.append((name, media, data))
            continue
        try:
            entries = expand(data, settings.max_upload_bytes,
                             settings.max_upload_bytes * ZIP_TOTAL_FACTOR)
        except ValueError as exc:
            items.append((name, media, str(exc)))
            continue
        items += [(f"{name}/{e.name}", None, e.error if e.error else e.data) for e in entries]
    return items


def _queue_all(library: Library, items: list[Item]) -> list[dict[str, Any]]:
    """Catalog and queue every good file while the build is held back, so one build takes all."""
    rows = []
    with library.batch():
        for name, media, data in items:
            row: dict[str, Any] = {"name": name, "id": None, "status": "failed", "error": None}
            if isinstance(data, str):
                row["error"] = data
            elif not data:
                row["error"] = "the file is empty"
            else:
                try:
                    base = clean_filename(name)
                    status = library.add(data, base, media, {})
                    row.update(id=status.info.doc, status="queued")
                except AssistantError as exc:
                    row["error"] = str(exc)
            rows.append(row)
    return rows


@router.post(
    "/batch", status_code=202, response_model=BatchResult, summary="Upload several documents",
    dependencies=[KeyRequired], operation_id="upload_documents",
    responses={401: {"model": ErrorResponse, "description": "no API key, or a wrong one"},
               413: {"model": ErrorResponse, "description": "the request is too large"},
               429: {"model": ErrorResponse, "description": "too many requests"}},
)
async def upload_documents(
    library: LibraryDep,
    settings: SettingsDep,
    file: Annotated[list[UploadFile], File(description="PDF, Markdown, HTML, text or zip "
                                                       "files; repeat the part for each")],
) -> dict[str, Any]:
    """Each file is checked like a single upload (a zip's entries too: size, type, path,
    zip bombs) and gets its own state; the good ones are indexed together in one background
    build. Follow each one's `status` in `GET /api/documents`."""
    uploads = [(f.filename or "", f.content_type, await f.read()) for f in file]
    rows = await run_in_threadpool(lambda: _queue_all(library, _items(uploads, settings)))
    queued = sum(r["status"] == "queued" for r in rows)
    return {"files": rows, "queued": queued, "failed": len(rows) - queued}
