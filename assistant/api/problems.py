"""Errors as JSON: one shape, `{"error": {"status", "message"}}`, for every failure."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    AssistantError,
    ConfigError,
    DatabaseError,
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IngestError,
    ModelError,
    UnsupportedFormatError,
)

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of gives its status.
STATUS_BY_ERROR: tuple[tuple[type[AssistantError], int], ...] = (
    (DocumentNotFoundError, 404),
    (UnsupportedFormatError, 415),
    (IngestError, 400),
    (IndexMissingError, 503),
    (IndexMismatchError, 503),
    (IndexCorruptError, 503),
    (ModelError, 503),
    (DatabaseError, 503),
    (ConfigError, 500),
)

_PLAIN = {
    404: "there is nothing at this address",
    405: "this address does not take that method",
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   details: list[dict[str, str]] | None = None) -> JSONResponse:
    """The JSON error every failure is answered with."""
    body: dict[str, Any] = {"status": status, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_of(exc: AssistantError) -> int:
    """The HTTP status for a domain error."""
    return next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 500)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssistantError)
    return error_response(status_of(exc), str(exc))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if message in ("Not Found", "Method Not Allowed"):
        message = _PLAIN[exc.status_code]
    return error_response(exc.status_code, message, headers=exc.headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
               for e in exc.errors()]
    # A body that is not JSON, or not an object, is bad input (400); values out of their
    # allowed range (question too long, k too large) are 422.
    malformed = any(e.get("type") == "json_invalid" or tuple(e.get("loc", ())) == ("body",)
                    for e in exc.errors())
    status = 400 if malformed else 422
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3]) or "invalid input"
    return error_response(status, summary, details=details)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    """Answer every error, expected or not, with the JSON error shape and no traceback."""
    app.add_exception_handler(AssistantError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
