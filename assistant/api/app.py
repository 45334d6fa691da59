"""The app factory: routers, error handlers, guards and pages composed in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from assistant.api import ask, batch, documents, feedback, problems, search
from assistant.api.guards import BodyLimit, KeyGate, RateLimit, SecurityHeaders
from assistant.api.library import Library
from assistant.api.models import ErrorResponse
from assistant.api.pages import mount_docs, mount_pages
from assistant.config import Settings
from assistant.engine import Engine
from assistant.errors import AssistantError
from assistant.index.backend import database_probe
from assistant.index.feedback_store import open_feedback

DESCRIPTION = """Semantic search with cited passages over documents on the reception and
integration of newly arrived migrants. Every error is JSON:
`{"error": {"status": ..., "message": ...}}`. Uploading and removing documents needs an API
key, sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`."""


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The FastAPI application over one engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = engine or Engine(settings)
        app.state.feedback = open_feedback(settings)  # the database's, shared, when set
        app.state.database = database_probe(settings)
        app.state.library = Library(app.state.engine, on_built=lambda: _ready(app, None))
        try:
            app.state.engine.load()  # open the index and model now, not on the first request
            _ready(app, None)
        except AssistantError as exc:
            _ready(app, str(exc))
        yield
        app.state.library.close()
        app.state.engine.close()
        getattr(app.state.feedback, "close", lambda: None)()
        if app.state.database is not None:
            app.state.database.close()

    app = FastAPI(title="Integration assistant", version="1", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None,  # /docs: see mount_docs
                  responses={422: {"model": ErrorResponse, "description": "invalid input"}})
    problems.install(app)

    api = APIRouter(prefix="/api")
    api.include_router(search.router)
    api.include_router(ask.router)
    api.include_router(batch.router)  # before documents: /documents/batch is not an id
    api.include_router(documents.router)
    api.include_router(feedback.router)

    @api.get("/health", summary="Liveness and readiness", tags=["health"], operation_id="health")
    def health(request: Request) -> dict[str, Any]:
        """`status` ok while the server runs; `ready` once the index and model are loaded and,
        with a database, while it answers."""
        error = request.app.state.ready_error
        if error is None and request.app.state.database is not None:
            error = request.app.state.database.ping()
        return {"status": "ok", "ready": error is None, "problem": error}

    app.include_router(api)
    mount_pages(app)
    mount_docs(app)
    # The last added runs first: headers on every answer, then the rate limit, then the key
    # check for writes (before their body is read), then the cap.
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(KeyGate, keys=settings.api_keys)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit, keys=settings.api_keys)
    app.add_middleware(SecurityHeaders)
    return app


def _ready(app: FastAPI, problem: str | None) -> None:
    app.state.ready_error = problem
