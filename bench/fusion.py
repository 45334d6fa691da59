"""Compare retrieval variants on the dev and held-out questions; prints a Markdown table.

Run from the repository root after `assistant index`:
    .venv/bin/python bench/fusion.py > bench/fusion-DATE.md
Rows switch one thing off or change it at a time against the defaults: index-time steps
(OCR repair, abbreviation expansion, list lead-ins, the main title in sentence vectors; an
index rebuilt without each into a temporary folder, about a minute each), domain-term
expansion, the legs (chunk vectors, sentence vectors, lexical), language
balancing, the lexical coverage gate, weights and the RRF constant. Queries are embedded as
the engine embeds them (`dense_query`), once per expansion setting.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from assistant.config import Settings, load_settings
from assistant.engine import Engine, configure_threads
from assistant.evaluate import Question, first_match, read_questions, summary
from assistant.index.embedding import sentence_text  # the real one, called by its stand-in below
from assistant.retrieval.fusion import FusionParams
from assistant.retrieval.search import dense_query, search_vector
from assistant.types import Chunk, DocInfo

REPO = Path(__file__).resolve().parent.parent
DEV = REPO.parent / "shared" / "eval" / "questions.jsonl"
HELDOUT = REPO / "bench" / "heldout" / "questions.jsonl"
METRICS = ("R@1", "R@5", "MRR@10", "xR@5")


class Runner:
    """One index and model; query vectors cached per question set and expansion setting."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._vectors: dict[tuple[str, bool], np.ndarray] = {}

    def vectors(self, name: str, questions: list[Question], params: FusionParams
                ) -> np.ndarray:
        key = (name, params.expand_terms)
        if key not in self._vectors:
            self._vectors[key] = self.engine.embedder.queries(
                [dense_query(q.question, params) for q in questions])
        return self._vectors[key]

    def run(self, name: str, questions: list[Question], params: FusionParams
            ) -> dict[str, float]:
        """R@1, R@5, MRR@10 overall and R@5 cross-lingual over the answerable questions."""
        ranks, xranks = [], []
        for question, vector in zip(questions, self.vectors(name, questions, params),
                                    strict=True):
            if not question.answerable:
                continue
            hits = search_vector(self.engine.reader, question.question, vector, 10, None,
                                 params)
            rank = first_match(hits, question.gold)
            ranks.append(rank)
            if question.xling:
                xranks.append(rank)
        overall = summary(ranks)
        return {"R@1": overall["R@1"], "R@5": overall["R@5"], "MRR@10": overall["MRR@10"],
                "xR@5": summary(xranks)["R@5"]}


def variants() -> list[tuple[str, FusionParams]]:
    """The parameter sets compared over the built index, defaults first."""
    base = FusionParams()
    rows = [
        ("defaults", base),
        ("no term expansion", replace(base, expand_terms=False)),
        ("no language balancing", replace(base, balance_languages=False)),
        ("chunk vectors only", replace(base, weights=(1, 0, 0))),
        ("sentence vectors only", replace(base, weights=(0, 1, 0))),
        ("lexical only", replace(base, weights=(0, 0, 1))),
        ("chunk vectors + lexical", replace(base, weights=(1, 0, 1))),
        ("sentence vectors + lexical", replace(base, weights=(0, 1, 1))),
        ("chunk + sentence vectors (no lexical)", replace(base, weights=(1, 1, 0))),
    ]
    for weights, rrf_k in itertools.product(
        [(1, 1, 1), (1, 1, 0.5), (1, 0.5, 1), (0.5, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2)],
        [10, 30, 60, 100],
    ):
        rows.append((f"weights {weights}, k={rrf_k}", replace(base, weights=weights,
                                                              rrf_k=rrf_k)))
    rows += [(f"lexical coverage ≥ {cov}", replace(base, min_coverage=cov))
             for cov in (0.0, 0.5, 0.6, 0.8, 0.9)]
    return rows


def _without_leads(info: DocInfo, chunk: Chunk, index: int) -> str:
    """`sentence_text` as if no list item had a lead-in sentence."""
    sentences = tuple(replace(s, lead=None) for s in chunk.sentences)
    return sentence_text(info, replace(chunk, sentences=sentences), index)


# Index-time steps switched off one at a time: (row label, what to replace, by what).
ABLATIONS: list[tuple[str, str, Callable[..., Any]]] = [
    ("no OCR repair", "assistant.index.embedding.repair_document", lambda document: document),
    ("no abbreviation expansion", "assistant.index.embedding.definitions", lambda text: {}),
    ("no list lead-ins in sentence vectors", "assistant.index.embedding.sentence_text",
     _without_leads),
    ("full title (with subtitle) in sentence vectors", "assistant.index.embedding.main_title",
     lambda title: title),
]


@contextmanager
def index_without(settings: Settings, engine: Engine, target: str, replacement: Callable
                  ) -> Iterator[Engine]:
    """An engine over a fresh index of the corpus built with one step replaced (a bench-only
    switch), in a temporary folder: about a minute each."""
    from assistant.index.builder import build_index

    with tempfile.TemporaryDirectory(prefix="fusion-ablation-") as tmp:
        other_settings = replace(settings, index_dir=Path(tmp))
        with mock.patch(target, replacement):
            build_index(other_settings, engine.embedder)
        other = Engine(other_settings, engine.embedder)
        try:
            yield other
        finally:
            other.close()


def table(sets: dict[str, list[Question]], rows: list[tuple[str, Callable[..., dict]]]) -> str:
    """A Markdown table: one row per variant, the four metrics for each question set."""
    head = "| variant | " + " | ".join(f"{name} {m}" for name in sets for m in METRICS) + " |"
    lines = [head, "|---" * (1 + len(sets) * len(METRICS)) + "|"]
    for label, measure in rows:
        cells = [f"{value:.3f}" for name, questions in sets.items()
                 for value in measure(name, questions).values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--heldout", type=Path, default=HELDOUT)
    parser.add_argument("--no-rebuild", action="store_true",
                        help="leave out the rows that need an index rebuilt without a step")
    args = parser.parse_args()
    settings = load_settings()
    configure_threads(settings)
    engine = Engine(settings)
    runner = Runner(engine)
    sets = {"dev": read_questions(args.dev), "held-out": read_questions(args.heldout)}
    rows: list[tuple[str, Callable[..., dict]]] = [
        (label, lambda name, questions, p=params: runner.run(name, questions, p))
        for label, params in variants()]
    print(f"dev: {os.path.relpath(args.dev, REPO)}, held-out: "
          f"{os.path.relpath(args.heldout, REPO)}; index: {engine.reader.name} "
          f"(chunk_words {settings.chunk_words}, max {settings.chunk_max_words}); "
          f"defaults: {FusionParams()}\n")
    if args.no_rebuild:
        print(table(sets, rows))
        return 0
    with ExitStack() as stack:
        for i, (label, target, replacement) in enumerate(ABLATIONS, start=1):
            other = Runner(stack.enter_context(index_without(settings, engine, target,
                                                             replacement)))
            rows.insert(i, (f"{label} (index rebuilt)",
                            lambda name, questions, r=other: r.run(name, questions,
                                                                   FusionParams())))
        print(table(sets, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
