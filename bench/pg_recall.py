"""Recall of the PostgreSQL store's HNSW search against exact search, on a built database.

    PYTHONPATH=$PWD .venv/bin/python bench/pg_recall.py postgresql://… [--queries 100]

Queries are stored chunk vectors (each with a little noise, so it is not its own nearest
neighbour by construction). For each, the store's own search (`PgStore.search_chunks` /
`search_sentences`, the HNSW index forced with enable_seqscan off) is compared with an exact
scan (index scans off), at the depths retrieval asks for (40 chunks, 160 sentences), over the
whole index and restricted to one document (the filter iterative scans keep complete).
Printed and appended to bench/results/pg_recall.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from assistant.index.pgstore import open_pg_store, parse_vector

REPO = Path(__file__).resolve().parent.parent


def recall(store, vector: np.ndarray, method: str, k: int, docs) -> float:  # type: ignore[no-untyped-def]
    """Share of the exact top k that the HNSW search also returns."""
    results = []
    for setting in ("enable_seqscan", "enable_indexscan"):
        with store.snapshot():  # one connection: the setting holds for the search
            with store.pool.connection() as conn:
                conn.execute(f"SET LOCAL {setting} = off")
            results.append(getattr(store, method)(vector, k, docs))
    approximate, exact = ({row for row, _ in r} for r in results)
    return len(approximate & exact) / len(exact) if exact else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    store = open_pg_store(args.url)
    with store.pool.connection() as conn:
        rows = conn.execute("SELECT doc, embedding::text FROM chunks ORDER BY random() LIMIT %s",
                            (args.queries,)).fetchall()
    rng = np.random.default_rng(13)
    figures: dict[str, list[float]] = {}
    for doc, text in rows:
        vector = parse_vector(text) + rng.normal(0, 0.02, store.dim).astype(np.float32)
        vector /= np.linalg.norm(vector)
        for name, method, k in (("chunks@40", "search_chunks", 40),
                                ("sentences@160", "search_sentences", 160)):
            figures.setdefault(name, []).append(recall(store, vector, method, k, None))
            figures.setdefault(f"{name} one doc", []).append(
                recall(store, vector, method, k, {doc}))
    result = {"bench": "pg_recall", "chunks": store.size(), "queries": len(rows),
              **{name: round(float(np.mean(values)), 4) for name, values in figures.items()}}
    print(json.dumps(result))
    with (REPO / "bench" / "results" / "pg_recall.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
