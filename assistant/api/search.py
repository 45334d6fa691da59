"""Search: the same hits as `assistant search --json`; grouped by document on request; export."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from assistant.api.deps import EngineDep
from assistant.api.models import (
    MAX_K,
    MAX_QUERY_CHARS,
    GroupedSearchResponse,
    SearchFilters,
    SearchRequest,
    SearchResponse,
)
from assistant.groups import export_csv, export_rows, grouped_search_json
from assistant.serialize import search_json
from assistant.types import Filters, Hit

router = APIRouter(tags=["search"])
Group = Literal["document"]
Sort = Literal["relevance", "year"]


def _hits(engine: EngineDep, body: SearchRequest) -> list[Hit]:
    filters = Filters(**body.filters.model_dump())
    return engine.search([body.q], k=body.k, filters=filters)[0]


def _run_search(engine: EngineDep, body: SearchRequest) -> dict[str, Any]:
    hits = _hits(engine, body)
    if body.group == "document":
        return grouped_search_json(body.q, hits, body.sort)
    return search_json(body.q, hits)


def _get_request(q: str, k: int, group: Group | None, sort: Sort, type: str | None,
                 language: str | None, doc: str | None, year: int | None,
                 region: str | None) -> SearchRequest:
    filters = SearchFilters(type=type, language=language, doc=doc, year=year, region=region)
    return SearchRequest(q=q, k=k, filters=filters, group=group, sort=sort)


@router.get("/search", response_model=GroupedSearchResponse | SearchResponse,
            summary="Search passages", operation_id="search_get")
def search_get(
    engine: EngineDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
    group: Annotated[Group | None, Query(description="`document`: group the hits")] = None,
    sort: Annotated[Sort, Query(description="order of the groups")] = "relevance",
    type: str | None = None,
    language: str | None = None,
    doc: str | None = None,
    year: int | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """The hits, as `assistant search --json` prints them; with `group=document` also
    `groups` (one per document, passages best first, each with a snippet of its best
    sentences and the query's words marked) and `facets` (matched documents per filter
    value)."""
    body = _get_request(q, k, group, sort, type, language, doc, year, region)
    return _run_search(engine, body)


@router.post("/search", response_model=GroupedSearchResponse | SearchResponse,
             summary="Search passages", operation_id="search")
def search_post(engine: EngineDep, body: SearchRequest) -> dict[str, Any]:
    """As `GET /api/search`, with the filters as an object."""
    return _run_search(engine, body)


@router.get("/search/export", summary="Export search results as CSV or JSON",
            operation_id="search_export",
            responses={200: {"content": {"text/csv": {}, "application/json": {}},
                             "description": "title, section, page, snippet and file link of "
                                            "each passage, grouped by document"}})
def search_export(
    engine: EngineDep,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 20,
    sort: Sort = "relevance",
    type: str | None = None,
    language: str | None = None,
    doc: str | None = None,
    year: int | None = None,
    region: str | None = None,
) -> Response:
    """A file to download: one row per passage (title, section, page, snippet, link)."""
    body = _get_request(q, k, "document", sort, type, language, doc, year, region)
    rows = export_rows(q, _hits(engine, body), sort, str(request.base_url))
    if format == "json":
        content = json.dumps({"query": q, "results": rows}, ensure_ascii=False, indent=1)
        media = "application/json"
    else:
        content = "\ufeff" + export_csv(rows)  # the BOM makes spreadsheet programs read UTF-8
        media = "text/csv; charset=utf-8"
    return Response(content, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="search-results.{format}"'})
