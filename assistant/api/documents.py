"""The catalog: list, show, serve, upload and remove documents."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import KeyRequired, LibraryDep
from assistant.api.library import MEDIA_TYPES
from assistant.api.models import DocumentList, DocumentOut, ErrorResponse, Removal
from assistant.ingest.catalog import DocType
from assistant.serialize import document_json

router = APIRouter(prefix="/documents", tags=["documents"])

# A served HTML (or Markdown) file is somebody else's content on this origin: a sandbox with
# no script, and nothing fetched. PDFs open in the browser's own viewer.
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
PDF_CSP = "frame-ancestors 'none'"

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such document"}}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "no API key, or a wrong one"},
    429: {"model": ErrorResponse, "description": "too many requests; see Retry-After"},
}


@router.get("", response_model=DocumentList, summary="The catalog with indexing states",
            operation_id="list_documents")
def list_documents(library: LibraryDep) -> dict[str, Any]:
    """Every document with its facts, pages, chunks, indexing state and per-page problems."""
    return {"documents": [document_json(d) for d in library.documents()]}


@router.get("/{doc:path}/file", summary="The original file", responses=_ERRORS,
            response_class=FileResponse, operation_id="document_file")
def document_file(doc: str, library: LibraryDep) -> FileResponse:
    """The document as uploaded, with its media type (open a PDF at `#page=N`)."""
    path = library.path(doc)
    suffix = path.suffix.lower()
    csp = PDF_CSP if suffix == ".pdf" else FILE_CSP
    return FileResponse(path, media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"),
                        content_disposition_type="inline", filename=PurePath(doc).name,
                        headers={"Content-Security-Policy": csp},
                        background=BackgroundTask(library.release, path))


@router.get("/{doc:path}", response_model=DocumentOut, summary="One catalog entry",
            responses=_ERRORS, operation_id="get_document")
def get_document(doc: str, library: LibraryDep) -> dict[str, Any]:
    """A document's facts, indexing state and per-page problems."""
    return document_json(library.document(doc))


@router.post(
    "", status_code=202, response_model=DocumentOut, summary="Upload a document",
    dependencies=[KeyRequired], operation_id="upload_document",
    responses={**_WRITE_ERRORS,
               400: {"model": ErrorResponse, "description": "empty or unreadable upload"},
               413: {"model": ErrorResponse, "description": "the upload is too large"},
               415: {"model": ErrorResponse, "description": "not PDF, Markdown, HTML or text"}},
)
async def upload_document(
    library: LibraryDep,
    response: Response,
    file: Annotated[UploadFile, File(description="PDF, Markdown, HTML or plain text")],
    title: Annotated[str | None, Form(max_length=300)] = None,
    publisher: Annotated[str | None, Form(max_length=300)] = None,
    year: Annotated[int | None, Form(ge=1900, le=2100)] = None,
    type: Annotated[DocType | None, Form()] = None,
    region: Annotated[str | None, Form(max_length=100)] = None,
    language: Annotated[str | None, Form(pattern=r"^[a-z]{2,3}$")] = None,
) -> dict[str, Any]:
    """Save the file under a generated name and index it in the background.

    The uploaded file name is kept as metadata only. Poll `GET /api/documents/{id}` for the
    state: queued, indexing, then indexed or failed.
    """
    data = await file.read()
    if not data:
        raise HTTPException(400, "the uploaded file is empty")
    entry = {"title": title or None, "publisher": publisher or None, "year": year, "type": type,
             "region": region or None, "language": language}
    status = await run_in_threadpool(library.add, data, file.filename, file.content_type, entry)
    response.headers["Location"] = f"/api/documents/{status.info.doc}"
    return document_json(status)


@router.delete("/{doc:path}", status_code=202, response_model=Removal,
               summary="Remove a document", dependencies=[KeyRequired],
               operation_id="delete_document",
               responses={**_WRITE_ERRORS, **_ERRORS})
def delete_document(doc: str, library: LibraryDep) -> dict[str, Any]:
    """Delete the file and rebuild the index without it, in the background."""
    library.remove(doc)
    return {"id": doc, "status": "removing"}
