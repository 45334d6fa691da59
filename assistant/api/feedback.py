"""Feedback on answers: anyone may send it (rate-limited); reading it needs an API key."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import EngineDep, KeyRequired
from assistant.api.models import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS, ErrorResponse
from assistant.engine import Engine
from assistant.errors import AssistantError
from assistant.feedback import feedback
from assistant.index.feedback_store import FeedbackLog, Passage

router = APIRouter(prefix="/feedback", tags=["feedback"])
MAX_COMMENT_CHARS = 2000


class FeedbackRequest(BaseModel):
    """A verdict on one answer; for a wrong one, optionally the passage that is right."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["helpful", "wrong"]
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=MAX_ANSWER_CHARS)
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)
    passage: str | None = Field(None, max_length=400,
                                description="id of the passage that answers the question, "
                                            "among the citations or closest passages shown")


class FeedbackReceipt(BaseModel):
    """The stored entry's number."""

    id: int
    stored: Literal[True] = True


class FeedbackEntry(BaseModel):
    """A stored entry: personal numbers masked; nothing about who sent it."""

    id: int
    created: str
    verdict: Literal["helpful", "wrong"]
    question: str
    answer: str
    comment: str | None
    language: str
    passage_id: str | None
    passage_doc: str | None
    passage_text: str | None
    passage_language: str | None


class FeedbackList(BaseModel):
    """Every stored entry, oldest first."""

    entries: list[FeedbackEntry]


def _store(request: Request) -> FeedbackLog:
    store: FeedbackLog = request.app.state.feedback
    return store


StoreDep = Annotated[FeedbackLog, Depends(_store)]


def find_passage(engine: Engine, passage_id: str) -> Passage | None:
    """The indexed passage with this id, or None."""
    reader = engine.reader
    chunk = reader.chunk_by_id(passage_id)
    if chunk is None:
        return None
    return Passage(chunk.id, chunk.doc, chunk.text, reader.docs[chunk.doc].language)


@router.post("", status_code=201, response_model=FeedbackReceipt, operation_id="send_feedback",
             summary="Say whether an answer helped",
             responses={400: {"model": ErrorResponse, "description": "unknown passage"},
                        429: {"model": ErrorResponse, "description": "too many requests"}})
def send_feedback(body: FeedbackRequest, engine: EngineDep, store: StoreDep) -> dict[str, Any]:
    """Store the verdict (personal numbers masked; no address, key or other identity)."""
    passage = None
    if body.passage:
        try:
            passage = find_passage(engine, body.passage)
        except AssistantError:
            passage = None
        if passage is None:
            raise HTTPException(400, f"no passage {body.passage!r} in the index")
    entry = feedback(body.verdict, body.question, body.answer, body.comment or None, passage)
    return {"id": store.add(entry), "stored": True}


@router.get("", response_model=FeedbackList, operation_id="list_feedback",
            summary="The stored feedback", dependencies=[KeyRequired],
            responses={401: {"model": ErrorResponse, "description": "no API key, or a wrong one"}})
async def list_feedback(store: StoreDep) -> dict[str, Any]:
    """Every entry within the retention period, oldest first."""
    return {"entries": await run_in_threadpool(store.entries)}
