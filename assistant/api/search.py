"""HTTP API: an app factory; the engine loads once in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field

from .config import Settings
from .engine import Engine
from .errors import AssistantError
from .serialize import search_json
from .types import Filters

MAX_K = 50
MAX_QUERY_CHARS = 1000


class SearchFilters(BaseModel):
    """Restrict a search to some documents."""

    type: str | None = Field(None, description="strategy, report or service")
    language: str | None = Field(None, description="document language, e.g. sv or en")
    doc: str | None = Field(None, description="corpus-relative document name")
    year: int | None = None
    region: str | None = None


class SearchRequest(BaseModel):
    """A retrieval-only search."""

    q: str = Field(..., min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(5, ge=1, le=MAX_K)
    filters: SearchFilters = SearchFilters()


class SearchHit(BaseModel):
    """One passage, as `assistant search --json` prints it."""

    doc: str
    title: str
    section: str
    page: int | None
    text: str
    score: float
    highlights: list[str]
    id: str
    section_path: list[str]
    pages: list[int | None] | None
    offsets: list[int]
    language: str
    type: str | None
    year: int | None
    region: str | None
    ranks: dict[str, int]


class SearchResponse(BaseModel):
    """The hits for one query."""

    query: str
    hits: list[SearchHit]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(_engine)]


def _run_search(engine: Engine, body: SearchRequest) -> dict[str, Any]:
    filters = Filters(**body.filters.model_dump())
    try:
        hits = engine.search([body.q], k=body.k, filters=filters)[0]
    except AssistantError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return search_json(body.q, hits)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The FastAPI application over one engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or Engine(settings)
        try:
            app.state.engine.load()  # open the index and model now, not on the first request
            app.state.ready_error = None
        except AssistantError as exc:
            app.state.ready_error = str(exc)
        yield
        app.state.engine.close()

    app = FastAPI(title="Integration assistant", version="1", lifespan=lifespan)

    @app.get("/api/health", summary="Liveness and readiness")
    def health(request: Request) -> dict[str, Any]:
        error = request.app.state.ready_error
        return {"status": "ok", "ready": error is None, "problem": error}

    @app.get("/api/search", response_model=SearchResponse, summary="Search passages")
    def search_get(
        engine: EngineDep,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
        type: str | None = None,
        language: str | None = None,
        doc: str | None = None,
        year: int | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        filters = SearchFilters(type=type, language=language, doc=doc, year=year, region=region)
        return _run_search(engine, SearchRequest(q=q, k=k, filters=filters))

    @app.post("/api/search", response_model=SearchResponse, summary="Search passages")
    def search_post(engine: EngineDep, body: SearchRequest) -> dict[str, Any]:
        return _run_search(engine, body)

    return app
