"""Recall of the HNSW graph against the exact scan, on a built index's own vectors (issue 15,
item 2: recall@10 ≥ 0.98, filters kept exact).

    nice -n 10 .venv/bin/python bench/vector_recall.py --index bench/cache/scale/index-10000-s15

Reads every sentence (or chunk) vector of the index's live documents, builds the exact float16
index and the HNSW graph the segment writer would build (assistant/index/vectors.py), and
compares their top k for query vectors: the dev and held-out questions embedded with the
index's model, and stored vectors of random rows with noise added (so they are not their own
nearest neighbour). Restrictions: none, and each document language (through the same bitmap
selector as the store, so the small language goes down the exact path). Prints one JSON line
with recall@10 and @k (by row id, and by score: duplicated sentences tie, and a graph
row scoring as high as the exact 10th is as right as its twin), ms per query of each, and
the load average; `--record` appends it to bench/results/vector_recall.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
from scale import commit, default_questions, questions  # noqa: E402

from assistant.config import load_settings  # noqa: E402


def live_vectors(store: Any, sentences: bool) -> tuple[np.ndarray, list[str]]:
    """Every live document's vectors, and the language of each row."""
    parts, languages = [], []
    for doc, info in store.docs.items():
        stored = store.stored(doc)
        vectors = stored.sentence_vectors if sentences else stored.chunk_vectors
        parts.append(vectors)
        languages += [info.language] * len(vectors)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32), languages


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from assistant.engine import configure_threads
    from assistant.index import vectors
    from assistant.index.store import _bitmap, open_store
    from assistant.model.embed import load_embedder

    store = open_store(args.index)
    settings = load_settings(model=store.model, model_dir=REPO / "models")
    configure_threads(settings)
    data, languages = live_vectors(store, args.level == "sentences")
    exact = vectors.flat(data.shape[1])
    exact.add(data)
    started = time.perf_counter()
    graph = vectors.finished(exact, hnsw_min=0)
    build_s = time.perf_counter() - started
    embedder = load_embedder(settings.model, settings.model_dir, 1)
    texts = [q for path in args.questions for q in questions(path)]
    rng = np.random.default_rng(15)
    sample = data[rng.choice(len(data), args.sampled, replace=False)]
    sample = sample + 0.02 * rng.standard_normal(sample.shape).astype(np.float32)
    queries = np.concatenate([embedder.queries(texts), sample]).astype(np.float32)
    langs = np.array(languages)
    restrictions: dict[str, np.ndarray | None] = {"none": None}
    restrictions.update({lang: np.flatnonzero(langs == lang) for lang in sorted(set(languages))})
    result: dict[str, Any] = {}
    for name, rows in restrictions.items():
        selector = None if rows is None else _bitmap(rows, len(data))
        count = len(data) if rows is None else len(rows)
        figures: dict[str, list[float]] = {"r10": [], "rk": [], "tied10": [], "exact_ms": [],
                                           "graph_ms": []}
        for q in queries:
            t0 = time.perf_counter()
            best, want = vectors.search(exact, q[None, :], args.k, selector, count)
            t1 = time.perf_counter()
            scores, got = vectors.search(graph, q[None, :], args.k, selector, count)
            t2 = time.perf_counter()
            want10, wantk = set(want[0][:10]) - {-1}, set(want[0]) - {-1}
            figures["r10"].append(len(want10 & set(got[0][:10])) / max(len(want10), 1))
            figures["rk"].append(len(wantk & set(got[0])) / max(len(wantk), 1))
            # duplicates tie: a row scoring as high as the exact 10th is as right as its twin
            tenth = best[0][min(10, len(want10)) - 1] if want10 else np.inf
            good = np.sum((scores[0][:10] >= tenth - 1e-6) & (got[0][:10] >= 0))
            figures["tied10"].append(float(good) / max(len(want10), 1))
            figures["exact_ms"].append((t1 - t0) * 1000)
            figures["graph_ms"].append((t2 - t1) * 1000)
        result[name] = {"rows": count, "share": round(count / len(data), 3),
                        "path": "graph or exact by probe" if count >= vectors.EXACT_SHARE
                        * len(data) else "exact (selective)",
                        "recall@10": round(float(np.mean(figures["r10"])), 4),
                        "recall@10_ties": round(float(np.mean(figures["tied10"])), 4),
                        f"recall@{args.k}": round(float(np.mean(figures["rk"])), 4),
                        "exact_ms_p50": round(float(np.median(figures["exact_ms"])), 2),
                        "graph_ms_p50": round(float(np.median(figures["graph_ms"])), 2)}
    store.close()
    return {"bench": "vector_recall", "date": time.strftime("%Y-%m-%d %H:%M"),
            "commit": commit(), "index": str(args.index), "level": args.level,
            "vectors": len(data), "queries": len(queries), "k": args.k,
            "hnsw": {"M": vectors.HNSW_M, "efConstruction": vectors.EF_CONSTRUCTION,
                     "efSearch": max(vectors.EF_SEARCH, vectors.EF_FACTOR * args.k), "build_s":
                     round(build_s, 1)},
            "loadavg": [round(x, 2) for x in os.getloadavg()], "restrictions": result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--level", choices=("sentences", "chunks"), default="sentences")
    parser.add_argument("--k", type=int, default=200, help="the sentence leg asks for 200")
    parser.add_argument("--sampled", type=int, default=200)
    parser.add_argument("--questions", type=Path, nargs="+",
                        default=[default_questions(), REPO / "bench/heldout/questions.jsonl"])
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--ef-construction", type=int)
    parser.add_argument("--ef-search", type=int)
    parser.add_argument("--m", type=int)
    parser.add_argument("--ef-factor", type=int, help="beam per result asked for (EF_FACTOR)")
    args = parser.parse_args(argv)
    from assistant.index import vectors

    for name, value in (("EF_CONSTRUCTION", args.ef_construction), ("EF_SEARCH", args.ef_search),
                        ("HNSW_M", args.m), ("EF_FACTOR", args.ef_factor)):
        if value is not None:
            setattr(vectors, name, value)
    record = measure(args)
    print(json.dumps(record))
    if args.record:
        with (REPO / "bench" / "results" / "vector_recall.jsonl").open("a") as fh:
            fh.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
