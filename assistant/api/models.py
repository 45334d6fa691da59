"""Request and response models of the HTTP API (pydantic stays in the web layer)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.ingest.catalog import DOC_TYPES

MAX_K = 50
MAX_QUERY_CHARS = 1000
MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 8000  # an earlier answer sent back as history
MAX_HISTORY = 20


class ErrorDetail(BaseModel):
    """What went wrong, for a person to read."""

    status: int
    message: str
    details: list[dict[str, str]] | None = None


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorDetail


class SearchFilters(BaseModel):
    """Restrict a search to some documents."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(None, description=f"document type: {', '.join(DOC_TYPES)}")
    language: str | None = Field(None, description="document language, e.g. sv or en")
    doc: str | None = Field(None, description="document id (corpus-relative file name)")
    year: int | None = None
    region: str | None = None


class SearchRequest(BaseModel):
    """A retrieval-only search."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(..., min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(5, ge=1, le=MAX_K)
    filters: SearchFilters = SearchFilters()
    group: Literal["document"] | None = Field(
        None, description="`document`: also return the hits grouped by document, with counts "
                          "per filter value")
    sort: Literal["relevance", "year"] = Field(
        "relevance", description="order of the groups: relevance, or year (newest first)")


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
    ocr_repaired: bool = Field(False, description="text corrected automatically (OCR repair)")
    original_text: str | None = Field(None, description="the text as extracted, if repaired")


class SearchResponse(BaseModel):
    """The hits for one query."""

    query: str
    hits: list[SearchHit]


class GroupedPassage(SearchHit):
    """A hit of a grouped search: also a snippet of its best sentences and the file link."""

    snippet: str = Field(..., description="the best sentences, not the whole passage")
    marks: list[list[int]] = Field(..., description="[start, end) of the query's words in "
                                                    "`snippet`")
    link: str = Field(..., description="the document's file, at the passage's page")


class DocumentGroup(BaseModel):
    """One matched document: its facts and its passages, best first."""

    doc: str
    title: str
    type: str | None
    year: int | None
    region: str | None
    language: str
    score: float = Field(..., description="the best passage's score")
    passages: list[GroupedPassage]


class GroupedSearchResponse(SearchResponse):
    """The hits for one query, and the same hits grouped by document (`group=document`)."""

    sort: Literal["relevance", "year"]
    groups: list[DocumentGroup]
    facets: dict[str, dict[str, int]] = Field(
        ..., description="matched documents per value of type, year, region and language")


class HistoryTurn(BaseModel):
    """An earlier question of the conversation, with the answer it got."""

    question: str = Field(..., max_length=MAX_QUESTION_CHARS)
    answer: str | None = Field(None, max_length=MAX_ANSWER_CHARS)


class AskRequest(BaseModel):
    """A question, with the conversation so far for follow-ups."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_HISTORY)


class Citation(BaseModel):
    """A numbered source of the answer: the passage and the sentence quoted from it."""

    n: int
    doc: str
    title: str
    section: str
    page: int | None
    quote: str
    text: str
    id: str
    offsets: list[int]
    ocr_repaired: bool = Field(False, description="quote corrected automatically (OCR repair)")
    original_quote: str | None = Field(None, description="the quote as extracted, if repaired")
    original_text: str | None = Field(None, description="the passage as extracted, if repaired")


class AskResponse(BaseModel):
    """An answer with its citations, or a refusal with the closest passages."""

    question: str
    language: str
    answer: str
    abstained: bool
    mode: Literal["answer", "passages", "refusal"] = Field(
        "answer", description="answer: a stated answer; passages: passages that may answer it, "
        "each cited; refusal: the documents do not answer it (closest passages shown)")
    citations: list[Citation]
    closest: list[SearchHit]
    resolved_question: str | None = None
    plain_text: str = Field("", description="the answer and its numbered sources (title, "
                                            "section, page, file link) as plain text")


DocState = Literal["queued", "indexing", "indexed", "failed", "removing", "unindexed"]


class DocumentOut(BaseModel):
    """A catalog entry with its indexing state and per-page problems."""

    id: str
    title: str
    publisher: str | None
    year: int | None
    type: str | None
    region: str | None
    language: str
    form: str | None
    pages: int | None
    chunks: int
    status: DocState
    problems: list[str]
    error: str | None
    file: str = Field(..., description="where the original file is served")


class DocumentList(BaseModel):
    """The whole catalog."""

    documents: list[DocumentOut]


class Removal(BaseModel):
    """A document being removed; the index is rebuilt without it in the background."""

    id: str
    status: Literal["removing"]
