"""Compare fusion variants on an eval file, over the built index; prints a Markdown table.

Run from the repository root after `assistant index`:
    .venv/bin/python bench/fusion.py [--questions FILE]
Each leg's ranking is computed once per question; variants only re-fuse them.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

from assistant.config import load_settings
from assistant.engine import Engine, configure_threads
from assistant.evaluate import Question, first_match, read_questions
from assistant.search import FusionParams, search_vector

REPO = Path(__file__).resolve().parent.parent


def run(engine: Engine, questions: list[Question], params: FusionParams) -> dict[str, float]:
    """R@1, R@5, MRR@10 overall and cross-lingual for one parameter set."""
    vectors = engine.embedder.queries([q.question for q in questions])
    ranks, xranks = [], []
    for question, vector in zip(questions, vectors, strict=True):
        if not question.answerable:
            continue
        hits = search_vector(engine.reader, question.question, vector, 10, None, params)
        rank = first_match(hits, question.gold)
        ranks.append(rank)
        if question.xling:
            xranks.append(rank)

    def summary(rs: list[int | None]) -> tuple[float, float, float]:
        n = len(rs) or 1
        return (sum(r == 1 for r in rs) / n, sum(r is not None and r <= 5 for r in rs) / n,
                sum(1 / r for r in rs if r is not None) / n)

    r1, r5, mrr = summary(ranks)
    _, xr5, _ = summary(xranks)
    return {"R@1": r1, "R@5": r5, "MRR@10": mrr, "xR@5": xr5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path,
                        default=REPO.parent / "shared" / "eval" / "questions.jsonl")
    args = parser.parse_args()
    settings = load_settings()
    configure_threads(settings)
    engine = Engine(settings)
    questions = read_questions(args.questions)
    base = FusionParams()
    variants: list[tuple[str, FusionParams]] = [
        ("dense only", replace(base, weights=(1, 0, 0))),
        ("sentence only", replace(base, weights=(0, 1, 0))),
        ("lexical only", replace(base, weights=(0, 0, 1))),
    ]
    for w, rrf_k in itertools.product(
        [(1, 1, 1), (1, 0.5, 1), (1, 1, 0.5), (2, 1, 1), (1, 0.5, 0.5), (1, 0, 1), (1, 1, 0)],
        [10, 30, 60],
    ):
        variants.append((f"weights {w}, k={rrf_k}", replace(base, weights=w, rrf_k=rrf_k)))
    for cov in (0.0, 0.3, 0.5, 0.7):
        for w in [(1, 1, 1), (1, 1, 0.5)]:
            variants.append((f"rrf {w}, k=60, lexical coverage ≥ {cov}",
                             replace(base, weights=w, min_coverage=cov)))
    for w in [(1, 1, 0), (1, 1, 0.05), (1, 1, 0.1), (1, 1, 0.2), (1, 0.5, 0.1), (0.5, 1, 0.1),
              (1, 0, 0.1), (0, 1, 0.1)]:
        variants.append((f"score sum {w}", replace(base, mode="score", weights=w)))
    print(f"questions: {args.questions}, index: {engine.reader.generation}")
    print("| variant | R@1 | R@5 | MRR@10 | xling R@5 |\n|---|---|---|---|---|")
    for name, params in variants:
        m = run(engine, questions, params)
        print(f"| {name} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['MRR@10']:.3f} | "
              f"{m['xR@5']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
