"""Feedback on answers as test data: the answers marked wrong with a pointed passage export
as gold questions in the evaluation file format (stored by `assistant.index.feedback_store`)."""

from __future__ import annotations

import json
from typing import Any

from assistant.answer.question import question_language
from assistant.index.feedback_store import Feedback, Passage, Verdict


def feedback(verdict: Verdict, question: str, answer: str = "", comment: str | None = None,
             passage: Passage | None = None) -> Feedback:
    """A feedback entry, with the question's language read as the answer stage reads it."""
    return Feedback(verdict, question, answer, comment, passage, question_language(question))


def gold_questions(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions marked wrong that point to the right passage, as evaluation questions
    (the format of shared/eval/questions.jsonl), one per distinct question and passage."""
    seen = set()
    questions = []
    for e in entries:
        if e["verdict"] != "wrong" or not e["passage_doc"] or not e["passage_text"]:
            continue
        key = (e["question"].strip().lower(), e["passage_id"])
        if key in seen:
            continue
        seen.add(key)
        questions.append({
            "id": f"feedback-{e['id']}", "question": e["question"], "lang": e["language"],
            "kind": "answerable",
            "xling": e["language"] != (e["passage_language"] or e["language"]),
            "gold": [{"doc": e["passage_doc"], "text": " ".join(e["passage_text"].split())}],
        })
    return questions


def export_lines(entries: list[dict[str, Any]]) -> str:
    """The gold questions as JSON lines."""
    return "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in gold_questions(entries))
