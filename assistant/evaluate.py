"""Retrieval evaluation: the gold-passage matching rule and the metrics of shared/eval."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from assistant.errors import EvalFileError
from assistant.lang.fold import fold
from assistant.types import Answer, Hit

SIMILARITY = 0.9  # best window at least this similar to the gold text also matches


@dataclass(frozen=True)
class Gold:
    """A passage that answers a question: document and a short text from it."""

    doc: str
    text: str


@dataclass(frozen=True)
class Question:
    """An evaluation question."""

    id: str
    question: str
    lang: str
    answerable: bool
    xling: bool
    gold: tuple[Gold, ...]


def read_questions(path: Path) -> list[Question]:
    """Questions from a JSON-lines file in the format of shared/eval/questions.jsonl."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalFileError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(Question(
                id=str(raw["id"]), question=str(raw["question"]), lang=str(raw.get("lang", "")),
                answerable=raw.get("kind", "answerable") == "answerable",
                xling=bool(raw.get("xling", False)),
                gold=tuple(Gold(g["doc"], g["text"]) for g in raw.get("gold", [])),
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}:{number}: not a valid question ({exc})") from exc
    return questions


def matches(doc: str, text: str, gold: Gold) -> bool:
    """The matching rule: same document, and the gold text contained (folded) or ≥90 % similar."""
    if doc != gold.doc:
        return False
    hay, needle = fold(text), fold(gold.text)
    if needle in hay:
        return True
    width = len(needle)
    if width == 0:
        return False
    if len(hay) < width:
        return SequenceMatcher(None, needle, hay, autojunk=False).ratio() >= SIMILARITY
    # SequenceMatcher caches what it knows about its second sequence: keep the gold there.
    window = SequenceMatcher(None, autojunk=False)
    window.set_seq2(needle)
    for start in range(len(hay) - width + 1):
        window.set_seq1(hay[start : start + width])
        if window.quick_ratio() >= SIMILARITY and window.ratio() >= SIMILARITY:
            return True
    return False


def first_match(hits: Sequence[Hit], gold: Sequence[Gold]) -> int | None:
    """1-based rank of the first hit matching any gold passage, or None."""
    for rank, hit in enumerate(hits, start=1):
        if any(matches(hit.chunk.doc, hit.chunk.text, g) for g in gold):
            return rank
    return None


@dataclass
class Report:
    """Per-question ranks and the summary metrics."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def summary(ranks: Sequence[int | None]) -> dict[str, float]:
    """R@1, R@5 and MRR@10 of first-match ranks (None: no match in the top 10)."""
    n = len(ranks)
    if n == 0:
        return {"n": 0, "R@1": 0.0, "R@5": 0.0, "MRR@10": 0.0}
    return {
        "n": n,
        "R@1": round(sum(r == 1 for r in ranks) / n, 4),
        "R@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        "MRR@10": round(sum(1 / r for r in ranks if r is not None and r <= 10) / n, 4),
    }


def evaluate_retrieval(questions: Sequence[Question], hits: Sequence[Sequence[Hit]]) -> Report:
    """Rank of the first matching hit per question, and R@1, R@5, MRR@10 overall and xling."""
    report = Report()
    answerable: list[int | None] = []
    xling: list[int | None] = []
    for question, question_hits in zip(questions, hits, strict=True):
        rank = first_match(question_hits, question.gold) if question.answerable else None
        report.rows.append({"id": question.id, "question": question.question,
                            "answerable": question.answerable, "xling": question.xling,
                            "rank": rank,
                            "top": [f"{h.chunk.doc}#{h.chunk.ordinal}" for h in question_hits[:3]]})
        if question.answerable:
            answerable.append(rank)
            if question.xling:
                xling.append(rank)
    report.metrics = {"overall": summary(answerable), "xling": summary(xling),
                      "unanswerable": sum(not q.answerable for q in questions)}
    return report


def evaluate_answers(questions: Sequence[Question], answers: Sequence[Answer],
                     report: Report) -> None:
    """Add the answer figures to a report: refusals of unanswerable questions, wrong refusals
    of answerable ones, and how often the first citation is a gold passage (its chunk, and
    more strictly the quoted sentence itself)."""
    refused, wrongly, cited, quoted, answerable = 0, 0, 0, 0, 0
    for question, answer, row in zip(questions, answers, report.rows, strict=True):
        first = answer.citations[0] if answer.citations else None
        row["abstained"] = answer.abstained
        row["first_citation"] = first is not None and any(
            matches(first.hit.chunk.doc, first.hit.chunk.text, g) for g in question.gold)
        row["first_quote"] = first is not None and any(
            matches(first.hit.chunk.doc, first.quote, g) for g in question.gold)
        if not question.answerable:
            refused += answer.abstained
            continue
        answerable += 1
        wrongly += answer.abstained
        cited += row["first_citation"]
        quoted += row["first_quote"]
    unanswerable = len(questions) - answerable
    report.metrics["answers"] = {
        "unanswerable_abstained": refused,
        "unanswerable": unanswerable,
        "abstain_rate_unanswerable": round(refused / unanswerable, 4) if unanswerable else None,
        "answerable_abstained": wrongly,
        "first_citation_accuracy": round(cited / answerable, 4) if answerable else 0.0,
        "first_quote_accuracy": round(quoted / answerable, 4) if answerable else 0.0,
    }
