"""Does dense pseudo-relevance feedback help cross-lingual questions? (issue 12, tried, not shipped)

An English question over Swedish documents meets them through one cross-lingual cosine. Rocchio
in the embedding space moves the question's vector towards its first hits: the search is run
again with q' = q + beta * (mean of the top-k hits' passage vectors), normalised, where a hit's
passage vector is the normalised mean of its sentence vectors (the index keeps chunk vectors
in FAISS codes only). The lexical leg and the learned fusion are as shipped. Prints R@1 and
MRR@10 per set, question language, k and beta (beta 0: the search as shipped).

    ASSISTANT_ENCODER=sentence-transformers PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python -m bench.prf_dense [--sets dev "swefaq ret-en" ...]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from assistant.answer.question import question_language
from assistant.config import load_settings
from assistant.engine import Engine, configure_threads
from assistant.evaluate import first_match, read_questions
from assistant.retrieval.search import dense_query, search_vector
from assistant.types import Hit
from bench import devsets
from bench.fit_rerank_live import SEEDS

KS = (1, 3, 5)
BETAS = (0.25, 0.5, 1.0)


def feedback_vector(engine: Engine, vector: np.ndarray, hits: list[Hit], k: int,
                    beta: float
                    ) -> np.ndarray:
    """The question's vector moved towards the mean passage vector of its first k hits."""
    reader = engine.reader
    passages = []
    for hit in hits[:k]:
        mean = np.asarray(reader.sentence_vectors(reader.chunk_row(hit.chunk)),
                          dtype=np.float32).mean(axis=0)
        passages.append(mean / np.linalg.norm(mean))
    moved = vector + beta * np.mean(passages, axis=0)
    return (moved / np.linalg.norm(moved)).astype(np.float32)


def search(engine: Engine, question: str, vector: np.ndarray, language: str) -> list[Hit]:
    """The top ten as the shipped search ranks them for this vector."""
    return search_vector(engine.reader, question, vector, 10, None, engine.params,
                         language=language, model=engine.fusion)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=None, help="only these set names")
    args = parser.parse_args()
    settings = load_settings()
    configure_threads(settings)
    embedder = devsets.query_embedder(settings)
    dirs = devsets.corpus_dirs(devsets.EVAL)
    print("| set | lang | n | k | beta | R@1 | MRR@10 |\n|---|---|---|---|---|---|---|")
    for es in devsets.eval_sets(devsets.EVAL):
        if es.name == "together" or (args.sets and es.name not in args.sets):
            continue
        own = devsets.built_index(es.corpus, dirs[es.corpus], settings, embedder,
                                  SEEDS[es.corpus])
        engine = Engine(own, embedder)
        qs = [q for _, path in es.parts for q in read_questions(path) if q.gold]
        vectors = embedder.queries([dense_query(q.question, engine.params) for q in qs])
        ranks: dict[tuple[str, int, float], list[int | None]] = {}
        for q, vector in zip(qs, vectors, strict=True):
            language = question_language(q.question)
            shipped = search(engine, q.question, vector, language)
            ranks.setdefault((language, 0, 0.0), []).append(first_match(shipped, q.gold))
            for k in KS:
                for beta in BETAS:
                    hits = search(engine, q.question,
                                  feedback_vector(engine, vector, shipped, k, beta), language)
                    ranks.setdefault((language, k, beta), []).append(first_match(hits, q.gold))
        for (language, k, beta), found in sorted(ranks.items()):
            n = len(found)
            r1 = sum(r == 1 for r in found) / n
            mrr = sum(1 / r for r in found if r) / n
            print(f"| {es.name} | {language} | {n} | {k or '—'} | {beta or 'shipped'} | "
                  f"{r1:.3f} | {mrr:.3f} |", flush=True)
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
