"""Ask: an answer with numbered citations, or a refusal with the closest passages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from assistant.api.deps import EngineDep
from assistant.api.models import AskRequest, AskResponse, ErrorResponse
from assistant.serialize import answer_json
from assistant.types import Turn

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AskResponse, summary="Ask a question", operation_id="ask",
             responses={422: {"model": ErrorResponse, "description": "question too long"},
                        429: {"model": ErrorResponse, "description": "too many requests"},
                        503: {"model": ErrorResponse, "description": "no index or model"}})
def ask(engine: EngineDep, body: AskRequest) -> dict[str, Any]:
    """Answer from the indexed documents, citing passages as [n]; send earlier turns as
    `history` for a follow-up. With nothing good enough to cite, `abstained` is true and
    `closest` holds the nearest passages."""
    history = [Turn(question=t.question, answer=t.answer or "") for t in body.history]
    return answer_json(engine.ask(body.question, history))
