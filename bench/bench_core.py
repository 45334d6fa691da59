"""Measure indexing of the bundled corpus, search and ask latency; append to bench/results/.

Run from the repository root:  .venv/bin/python bench/bench_core.py [--questions FILE]
Each run builds a fresh index in a temporary folder (so nothing is reused), then times
every dev question after a warm-up (search, then ask, interleaved per question so both see
the same machine load), in one process, one query at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from assistant.config import load_settings  # noqa: E402
from assistant.engine import Engine, configure_threads  # noqa: E402
from assistant.evaluate import read_questions  # noqa: E402
from assistant.index.builder import build_index  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def spread(values: list[float]) -> dict[str, float]:
    """Median and 95th percentile of timings, in their unit to a tenth."""
    return {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1)}


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "processor": platform.processor()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path,
                        default=REPO.parent / "shared" / "eval" / "questions.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(corpus_dir=REPO / "corpus", index_dir=Path(tmp) / "index",
                                 model_dir=REPO / "models")
        configure_threads(settings)
        engine = Engine(settings)
        started = time.perf_counter()
        embedder = engine.embedder
        load_s = time.perf_counter() - started

        started = time.perf_counter()
        report = build_index(settings, embedder)
        index_s = time.perf_counter() - started

        questions = [q.question for q in read_questions(args.questions)]
        engine.search(questions[:3])  # warm-up: opens the index, first torch calls
        engine.ask(questions[0])
        latencies, ask_latencies = [], []
        for _ in range(args.repeat):
            for question in questions:
                t0 = time.perf_counter()
                engine.search([question], k=5)
                latencies.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                engine.ask(question)
                ask_latencies.append((time.perf_counter() - t0) * 1000)
        engine.close()

    result = {
        "bench": "core",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "threads": {"torch": settings.threads, "faiss": 1,
                    "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")},
        "model_load_s": round(load_s, 2),
        "index": {
            "documents": len(report.indexed), "chunks": report.chunks,
            "sentences": report.sentences, "total_s": round(index_s, 2),
            "chunks_per_s": round(report.chunks / index_s, 1),
            "sentences_per_s": round(report.sentences / index_s, 1),
        },
        "search_ms": {"queries": len(latencies), "p50": round(percentile(latencies, 50), 1),
                      "p95": round(percentile(latencies, 95), 1)},
        "ask_ms": {"questions": len(ask_latencies), "p50": round(percentile(ask_latencies, 50), 1),
                   "p95": round(percentile(ask_latencies, 95), 1)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "results" / "core.jsonl"
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
