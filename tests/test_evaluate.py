"""The gold matching rule and the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import EvalFileError
from assistant.evaluate import Gold, evaluate_retrieval, matches, read_questions
from assistant.types import Chunk, DocInfo, Hit

GOLD = Gold("b.txt", "Forsakringskassan betalar ut etableringsersattningen")


@pytest.mark.parametrize(
    ("doc", "text", "expected"),
    [
        ("b.txt", "Sedan: Försäkringskassan betalar  ut\netableringsersättningen som", True),
        ("b.txt", "Forsakringskassan betalar ut etableringsersdttningen som", True),  # OCR: 90 %
        ("b.txt", "Kommunen betalar ut försörjningsstöd", False),
        ("other.txt", "Forsakringskassan betalar ut etableringsersattningen", False),
    ],
)
def test_matching_rule(doc: str, text: str, expected: bool) -> None:
    assert matches(doc, text, GOLD) is expected


def _hit(doc: str, text: str) -> Hit:
    chunk = Chunk(f"{doc}#0", doc, 0, (), None, None, 0, len(text), text)
    return Hit(chunk=chunk, info=DocInfo(doc, doc, "sv"), score=1.0)


def test_metrics(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": "?", "kind": "answerable", "xling": True,
         "gold": [{"doc": "b.txt", "text": "alpha"}]},
        {"id": "b", "question": "?", "kind": "answerable", "xling": False,
         "gold": [{"doc": "b.txt", "text": "beta"}]},
        {"id": "c", "question": "?", "kind": "unanswerable", "gold": []},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    questions = read_questions(path)
    hits = [
        [_hit("b.txt", "x"), _hit("b.txt", "the alpha passage")],
        [_hit("b.txt", "beta")],
        [_hit("b.txt", "beta")],
    ]
    report = evaluate_retrieval(questions, hits)
    assert [r["rank"] for r in report.rows] == [2, 1, None]
    assert report.metrics["overall"] == {"n": 2, "R@1": 0.5, "R@5": 1.0, "MRR@10": 0.75}
    assert report.metrics["xling"]["R@1"] == 0.0


def test_bad_eval_file(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(EvalFileError, match="q.jsonl:1"):
        read_questions(path)
