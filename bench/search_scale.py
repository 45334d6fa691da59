"""Per-query search cost at one corpus size, encoding excluded (issue 15, item 3).

Run from the repository root, under nice on a shared machine:

    nice -n 10 .venv/bin/python bench/search_scale.py --chunks 10000
    nice -n 10 .venv/bin/python bench/search_scale.py --chunks 40000 --profile
    nice -n 10 .venv/bin/python bench/search_scale.py --index DIR_A DIR_B --record

Builds (once, cached like bench/scale.py) the synthetic corpus and its index with the 1-layer
stand-in model (or, with `--index`, opens folders already built, which take turns each pass),
embeds the dev questions once, then times `search_vector` and the whole of
`ask` minus its query encoding over them, a few passes, one FAISS thread. With `--profile`
it prints the top functions by cumulative and own time of the search loop (cProfile). Prints
one JSON line per index with p50/p95 in ms and the load average; `--record` appends it to
bench/results/search_scale.jsonl.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch or faiss is imported

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import scale_corpus  # noqa: E402
from bench_core import percentile, spread  # noqa: E402
from scale import CACHE, STANDIN, commit, default_questions, questions  # noqa: E402
from scale_model import ensure_standin  # noqa: E402

from assistant.config import load_settings  # noqa: E402


def ensure_index(chunks: int, seed: int) -> Any:
    """Settings of the cached synthetic index of this size (built when missing)."""
    from assistant.engine import configure_threads
    from assistant.index.builder import build_index
    from assistant.model.embed import load_embedder

    standin = ensure_standin(STANDIN, REPO / "models")
    name = f"{chunks}-s{seed}"
    corpus_dir, index_dir = CACHE / f"corpus-{name}", CACHE / f"index-{name}"
    if not (corpus_dir / scale_corpus.MARKER).exists():
        pool = scale_corpus.read_pool(scale_corpus.source_folders(REPO))
        scale_corpus.ensure_corpus(corpus_dir, pool, chunks, seed)
    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir, model=str(standin),
                             model_dir=REPO / "models")
    configure_threads(settings)
    if not any(index_dir.glob("commit-*.json")):
        embedder = load_embedder(settings.model, settings.model_dir, settings.threads,
                                 settings.batch_size)
        started = time.perf_counter()
        build_index(settings, embedder)
        print(f"built {index_dir} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return settings


def existing(index_dir: Path) -> Any:
    """Settings of an index folder already built, with the model its commit names."""
    from assistant.engine import configure_threads
    from assistant.index.commits import open_commit

    _, body = open_commit(index_dir)
    settings = load_settings(index_dir=index_dir, model=(body.get("build") or {}).get("model"),
                             model_dir=REPO / "models")
    configure_threads(settings)
    return settings


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Time search and ask (encoding excluded) over the questions; one record per index, the
    indexes taking turns pass by pass (A B, B A, ...) so a change in load falls on each alike."""
    from assistant.engine import Engine
    from assistant.retrieval.learned import fusion_model
    from assistant.retrieval.search import dense_query, search_vector

    # The learned fusion's cost, timed as if every question were one it reorders (Swedish). It
    # does not apply to the stand-in's vectors (another scale: the order means nothing here),
    # but the work (deeper legs, coverage of every candidate) is what the real model's is.
    learned = fusion_model()

    if args.index:
        engines = [Engine(existing(d)) for d in args.index]
    else:
        engines = [Engine(ensure_index(args.chunks, args.seed))]
    if len({e.settings.model for e in engines}) > 1:
        raise SystemExit("the indexes were built with different models")
    texts = questions(args.questions)
    vectors = engines[0].embedder.queries([dense_query(q, engines[0].params) for q in texts])

    class Fixed:  # the engine's embedder, answering from the precomputed vectors
        def __init__(self, name: str) -> None:
            self.name = name
            self.by_text = {dense_query(q, engines[0].params): v
                            for q, v in zip(texts, vectors, strict=True)}

        def queries(self, items: list[str]) -> Any:
            return [self.by_text[i] for i in items]

    fixed = Fixed(engines[0].embedder.name)
    for engine in engines:
        engine._embedder = fixed  # type: ignore[assignment]
        for text, vector in zip(texts[:3], vectors[:3], strict=True):  # warm-up
            search_vector(engine.reader, text, vector, 5, None, engine.params)
    profiler = cProfile.Profile() if args.profile else None
    times: list[dict[str, list[float]]] = [
        {"search": [], "search_cpu": [], "deep": [], "deep_cpu": [], "ask": []} for _ in engines]
    load = os.getloadavg()
    if profiler:
        profiler.enable()
    for turn in range(args.repeat):
        order = list(zip(engines, times, strict=True))
        for engine, t in order[::-1] if turn % 2 else order:  # A B, B A, ...
            store = engine.reader
            for text, vector in zip(texts, vectors, strict=True):
                t0, c0 = time.perf_counter(), time.process_time()
                search_vector(store, text, vector, 5, None, engine.params)
                t["search"].append((time.perf_counter() - t0) * 1000)
                t["search_cpu"].append((time.process_time() - c0) * 1000)  # less swayed by load
                if learned is not None:
                    t0, c0 = time.perf_counter(), time.process_time()
                    search_vector(store, text, vector, 5, None, engine.params, language="sv",
                                  model=learned)
                    t["deep"].append((time.perf_counter() - t0) * 1000)
                    t["deep_cpu"].append((time.process_time() - c0) * 1000)
                t0 = time.perf_counter()
                engine.ask(text)
                t["ask"].append((time.perf_counter() - t0) * 1000)
    if profiler:
        profiler.disable()
        for order in ("cumulative", "tottime"):
            pstats.Stats(profiler, stream=sys.stderr).strip_dirs().sort_stats(order) \
                .print_stats(args.top)
    records = []
    for engine, t in zip(engines, times, strict=True):
        store = engine.reader
        records.append({
            "bench": "search_scale", "date": time.strftime("%Y-%m-%d %H:%M"),
            "commit": commit(), "chunks": store.size(),
            **({"index": str(engine.settings.index_dir), "alternated": len(engines)}
               if args.index else {"target": args.chunks}),
            "segments": len(getattr(store, "segments", ())),
            "queries": len(t["search"]), "loadavg": [round(x, 2) for x in load],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "search_ms": spread(t["search"]), "search_cpu_ms": spread(t["search_cpu"]),
            # the first pass meets every question's words for the first time (their document
            # frequencies are cached per commit, and pages are read in): apart from the rest
            "first_pass_ms": spread(t["search"][:len(texts)]),
            "first_pass_cpu_ms": spread(t["search_cpu"][:len(texts)]),
            "search_learned_ms": {**spread(t["deep"]),
                                  "cpu_p50": round(percentile(t["deep_cpu"], 50), 1)}
            if t["deep"] else None,
            "ask_ms": spread(t["ask"]),
            "profiled": bool(profiler)})
        engine.close()
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10000)
    parser.add_argument("--index", type=Path, nargs="+",
                        help="time these built folders instead (taking turns each pass)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--questions", type=Path, default=default_questions())
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    records = run(args)
    for record in records:
        print(json.dumps(record))
    if args.record and not args.profile:
        with (REPO / "bench" / "results" / "search_scale.jsonl").open("a") as fh:
            fh.writelines(json.dumps(record) + "\n" for record in records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
