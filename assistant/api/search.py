"""Search: the same hits as `assistant search --json`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from assistant.api.deps import EngineDep
from assistant.api.models import (
    MAX_K,
    MAX_QUERY_CHARS,
    SearchFilters,
    SearchRequest,
    SearchResponse,
)
from assistant.serialize import search_json
from assistant.types import Filters

router = APIRouter(tags=["search"])


def _run_search(engine: EngineDep, body: SearchRequest) -> dict[str, Any]:
    filters = Filters(**body.filters.model_dump())
    hits = engine.search([body.q], k=body.k, filters=filters)[0]
    return search_json(body.q, hits)


@router.get("/search", response_model=SearchResponse, summary="Search passages",
            operation_id="search_get")
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


@router.post("/search", response_model=SearchResponse, summary="Search passages",
             operation_id="search")
def search_post(engine: EngineDep, body: SearchRequest) -> dict[str, Any]:
    return _run_search(engine, body)
