"""Probe for issue 12: rerank the assistant's top 20 hits by paragraph vectors made from the
stored sentence vectors, without re-chunking.

Plain dense over one passage per FAQ answer paragraph beats the assistant at rank 1 on the
English swefaq questions. Re-chunking by paragraph would change every index's build
fingerprint; this asks whether paragraph-sized vectors built from what the index already holds
close the gap. A paragraph's vector is the normalised sum of its sentences' vectors (paragraphs
split at blank lines of the chunk text). Variants: the assistant's order; its top 20 reordered
by the best paragraph, or by the best sentence; and reciprocal-rank fusion (k = 60) of the
assistant's order with each.

    ASSISTANT_ENCODER=sentence-transformers PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python bench/paragraph_rerank.py

It uses bench/devsets.py's cached indexes and prints R@1 / R@5 / MRR@10 per set and variant.
Nothing is recorded; bench/RESULTS.md quotes the run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import devsets  # noqa: E402

from assistant.config import load_settings  # noqa: E402
from assistant.engine import Engine, configure_threads  # noqa: E402
from assistant.evaluate import evaluate_retrieval  # noqa: E402
from assistant.index.storage import IndexStore  # noqa: E402
from assistant.retrieval.search import FusionParams, dense_query  # noqa: E402
from assistant.types import Hit  # noqa: E402

TOP = 20
SETS = (("dev", "seed"), ("held-out", "seed"), ("swefaq ret-sv", "ret"), ("swefaq ret-en", "ret"))


def scores(store: IndexStore, hit: Hit, query: np.ndarray) -> tuple[float, float]:
    """(best paragraph, best sentence) cosine of a hit's chunk with the query vector."""
    vectors = store.sentence_vectors(store.chunk_row(hit.chunk))
    sentences, text = hit.chunk.sentences, hit.chunk.text
    if not sentences or len(vectors) != len(sentences):
        return -1.0, -1.0
    paragraphs, current = [], [0]
    for i in range(1, len(sentences)):
        if "\n\n" in text[sentences[i - 1].end:sentences[i].start]:
            paragraphs.append(current)
            current = []
        current.append(i)
    paragraphs.append(current)
    sums = np.array([vectors[p].sum(axis=0) for p in paragraphs])
    sums /= np.linalg.norm(sums, axis=1, keepdims=True) + 1e-9
    return float((sums @ query).max()), float((vectors @ query).max())


def fused(first: Sequence[Hit], second: Sequence[Hit]) -> list[Hit]:
    """Reciprocal-rank fusion of two orders of the same hits."""
    rank = {id(h): r for r, h in enumerate(first, 1)}
    other = {id(h): r for r, h in enumerate(second, 1)}
    return sorted(first, key=lambda h: -(1 / (60 + rank[id(h)]) + 1 / (60 + other[id(h)])))


def main() -> int:
    settings = load_settings()
    configure_threads(settings)
    embedder = devsets.query_embedder(settings)
    embedder.cache_key = devsets.cache_name(settings)
    dirs = devsets.corpus_dirs(devsets.EVAL)
    order = ("seed", "ref", "seed+ret", "ret")  # as devsets.py seeds its cached indexes
    indexes = {name: devsets.built_index(name, dirs[name], settings, embedder,
                                         order[:i][::-1])
               for i, name in enumerate(order) if name in ("seed", "ret")}
    for set_name, corpus in SETS:
        evalset = next(s for s in devsets.eval_sets(devsets.EVAL) if s.name == set_name)
        questions, _ = devsets.read_parts(evalset.parts)
        engine = Engine(indexes[corpus], embedder)
        found = engine.search([q.question for q in questions], k=TOP)
        queries = embedder.queries([dense_query(q.question, FusionParams())
                                    for q in questions])
        variants: dict[str, list[list[Hit]]] = {name: [] for name in (
            "assistant", "best paragraph", "best sentence", "rrf(assistant, paragraph)",
            "rrf(assistant, sentence)")}
        for hits, query in zip(found, queries, strict=True):
            scored = {id(h): scores(engine.reader, h, query) for h in hits}
            by_paragraph = sorted(hits, key=lambda h: -scored[id(h)][0])
            by_sentence = sorted(hits, key=lambda h: -scored[id(h)][1])
            variants["assistant"].append(list(hits))
            variants["best paragraph"].append(by_paragraph)
            variants["best sentence"].append(by_sentence)
            variants["rrf(assistant, paragraph)"].append(fused(hits, by_paragraph))
            variants["rrf(assistant, sentence)"].append(fused(hits, by_sentence))
        for name, ordered in variants.items():
            metrics = evaluate_retrieval(questions, [h[:10] for h in ordered]).metrics
            print(f"{set_name:14s} {name:26s} {metrics['overall']}")
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
