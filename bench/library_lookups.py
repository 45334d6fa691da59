"""What the catalog endpoints cost a server at one scale size, in process: the whole catalog
(`GET /api/documents`), one document's status (`GET /api/documents/{id}`) and finding its file
(`GET /api/documents/{id}/file`), median of a few calls each.

    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/library_lookups.py \\
        --chunks 22934 --brief

Run on an index that `bench/scale.py` built. Nothing is recorded; bench/RESULTS.md quotes the
runs it uses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import scale  # noqa: E402

from assistant.api.library import Library  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.engine import Engine, configure_threads  # noqa: E402


def median_ms(call: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, required=True, help="the scale size built")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--brief", action="store_true", help="the size's brief corpus")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    name = scale.size_name(args.chunks, args.seed, args.brief)
    settings = load_settings(corpus_dir=scale.CACHE / f"corpus-{name}",
                             index_dir=scale.CACHE / f"index-{name}", model=str(scale.STANDIN),
                             model_dir=REPO / "models")
    configure_threads(settings)
    engine = Engine(settings, scale.standin_embedder(settings, "onnx"))
    engine.load()
    library = Library(engine)
    documents = library.documents()
    doc = documents[len(documents) // 2].info.doc
    print(f"{len(documents)} documents; median of {args.rounds} calls:")
    for label, call in (("the whole catalog", library.documents),
                        ("one document's status", lambda: library.document(doc)),
                        ("one document's file", lambda: library.path(doc))):
        print(f"  {label}: {median_ms(call, args.rounds):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
