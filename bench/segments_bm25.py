"""Does splitting an index into segments change the dev and held-out figures? (issue 15, item 1)

Each segment's FTS5 table scores BM25 with its own statistics (document count, average length,
document frequencies), and the lexical leg merges the segments' hits by score. This copies a
built index (no re-encoding: vectors are read back from FAISS) into K segments of about equal
size, with merging switched off, and evaluates the original and each copy with the same model:

    .venv/bin/python bench/segments_bm25.py --segments 2 4 8

The copies go to bench/cache/segments-bm25/; the figures are printed as one JSON line per
index and appended to bench/results/segments_bm25.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.config import Settings, load_settings  # noqa: E402

CACHE = REPO / "bench" / "cache" / "segments-bm25"
RESULTS = REPO / "bench" / "results" / "segments_bm25.jsonl"
DEV = REPO.parent.parent / "shared" / "eval" / "questions.jsonl"
HELDOUT = REPO / "bench" / "heldout" / "questions.jsonl"


def resegment(source: Path, target: Path, segments: int) -> int:
    """Copy the index at `source` into `segments` segments at `target`; the count written."""
    from assistant.index import writer as segment_writer
    from assistant.index.store import open_store

    shutil.rmtree(target, ignore_errors=True)
    store = open_store(source)
    try:
        segment_writer.SEGMENT_CHUNKS = math.ceil(store.size() / segments)
        segment_writer.MERGE_AT = 10**9  # keep them apart
        out = segment_writer.SegmentWriter(target, store.dim)
        for doc in sorted(store.docs):  # the corpus order the builder uses
            out.add(store.stored(doc))
        keys = ("build", "embedder", "failed", "failed_keys")
        out.commit({k: store.commit[k] for k in keys if k in store.commit})
    finally:
        store.close()
    return len(open_store(target).segments)


def figures(settings: Settings, engine: Any, path: Path) -> dict[str, Any]:
    """Retrieval and answer metrics of one questions file."""
    from assistant.evaluate import evaluate_answers, evaluate_retrieval, read_questions

    questions = read_questions(path)
    hits = engine.search([q.question for q in questions], k=10)
    report = evaluate_retrieval(questions, hits)
    evaluate_answers(questions, [engine.ask(q.question) for q in questions], report)
    overall, answers = report.metrics["overall"], report.metrics["answers"]
    return {"R@1": round(overall["R@1"], 3), "R@5": round(overall["R@5"], 3),
            "MRR@10": round(overall["MRR@10"], 3),
            "refused": f"{answers['unanswerable_abstained']}/{answers['unanswerable']}",
            "answerable_abstained": answers["answerable_abstained"],
            "first_citation": round(answers["first_citation_accuracy"], 3),
            "first_quote": round(answers["first_quote_accuracy"], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--heldout", type=Path, default=HELDOUT)
    args = parser.parse_args()
    from assistant.engine import Engine, configure_threads

    base = load_settings()
    configure_threads(base)
    embedder = Engine(base).embedder
    indexes = [(1, base.index_dir)]
    for k in args.segments:
        target = CACHE / f"index-{k}"
        indexes.append((resegment(base.index_dir, target, k), target))
    for count, index_dir in indexes:
        settings = base.with_overrides(index_dir=index_dir)
        engine = Engine(settings, embedder)
        record = {"bench": "segments_bm25", "date": time.strftime("%Y-%m-%d %H:%M"),
                  "segments": count, "chunks": engine.reader.size(),
                  "dev": figures(settings, engine, args.dev),
                  "heldout": figures(settings, engine, args.heldout)}
        engine.close()
        print(json.dumps(record, ensure_ascii=False))
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
