"""Where an update's time goes at one scale size: a no-op build, adding one small document and
removing it (full builds, as `assistant index`), then the same add and removal as a targeted
build (`build_index(only=...)`) after writing or dropping its catalog entry, as an API upload
or removal does. Each step's wall time is summed
over its calls by wrappers on the builder's functions (no profiler, so Python-heavy steps are
not inflated); steps nest, so the rows do not add up to the build.

Run from the repository root on an index that `bench/scale.py` built (never from a worktree
whose `bench/cache` links to main's: the stand-in's path is part of the build's fingerprint,
and a mismatch starts a full rebuild):

    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/update_steps.py --chunks 1000000

Nothing is recorded; bench/RESULTS.md quotes the runs it uses.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import scale  # noqa: E402
import scale_corpus  # noqa: E402

from assistant.config import load_settings  # noqa: E402
from assistant.engine import configure_threads  # noqa: E402
from assistant.index import builder, commits, filestats, segment, source, store, writer  # noqa: E402
from assistant.index.vectors import set_graph_threads  # noqa: E402

SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)

STEPS = [
    (builder, "_previous"), (builder, "_write"), (builder, "prune"), (builder, "embed_document"),
    (builder, "_index_one"), (commits, "read_commit"), (writer, "write_commit"),
    (segment.Segment, "__init__"), (store.SegmentStore, "documents"),
    (source, "folder_source"), (source, "named_source"), (source, "_listing"),
    (source, "read_catalog"), (filestats.FileStats, "__init__"),
    (filestats.FileStats, "fingerprint"), (filestats.FileStats, "save"),
    (writer.SegmentWriter, "commit"),
]


def timed(owner: Any, name: str) -> None:
    """Replace owner.name by a wrapper that adds its wall time to SPENT."""
    real: Callable[..., Any] = getattr(owner, name)
    label = f"{getattr(owner, '__name__', '?').split('.')[-1]}.{name}"

    @functools.wraps(real)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - started
            CALLS[label] += 1

    setattr(owner, name, wrapper)


def step(label: str, build: Callable[[], Any]) -> None:
    """Run one build and print its time and its steps, largest first."""
    SPENT.clear()
    CALLS.clear()
    started = time.perf_counter()
    report = build()
    print(f"{label}: {time.perf_counter() - started:.2f} s (indexed {len(report.indexed)}, "
          f"removed {len(report.removed)})")
    for name in sorted(SPENT, key=lambda n: -SPENT[n]):
        print(f"  {name:34s} {SPENT[name]:7.3f} s  x{CALLS[name]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, required=True, help="the scale size built")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--brief", action="store_true", help="the size's brief corpus")
    args = parser.parse_args()
    name = scale.size_name(args.chunks, args.seed, args.brief)
    corpus_dir, index_dir = scale.CACHE / f"corpus-{name}", scale.CACHE / f"index-{name}"
    if not index_dir.is_dir():
        print(f"no index at {index_dir}: build it with bench/scale.py first", file=sys.stderr)
        return 2
    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir,
                             model=str(scale.STANDIN), model_dir=REPO / "models")
    configure_threads(settings)
    set_graph_threads(settings.threads)
    embedder = scale.standin_embedder(settings, "onnx", bulk=True)
    small = scale_corpus.small_document(scale_corpus.read_pool(scale_corpus.source_folders(REPO)),
                                        args.seed)
    added = corpus_dir / small.name
    if added.exists():
        print(f"{added} exists: an earlier run was cut short; remove it and rebuild",
              file=sys.stderr)
        return 2
    for owner, attr in STEPS:
        timed(owner, attr)
    full = functools.partial(builder.build_index, settings, embedder)
    targeted = functools.partial(builder.build_index, settings, embedder, only=[small.name])
    step("no-op build", full)
    for label, build in (("full", full), ("targeted", targeted)):
        added.write_text(small.text, encoding="utf-8")
        try:
            if build is targeted:  # as the API does: the upload's catalog entry first
                entry_step(corpus_dir, small.name, {"form": f"uploaded as {small.name}"})
            step(f"add one document, {label} build", build)
        finally:
            added.unlink()
            if build is targeted:
                entry_step(corpus_dir, small.name, None)
        step(f"remove it, {label} build", build)
    return 0


def entry_step(corpus_dir: Path, name: str, entry: dict[str, Any] | None) -> None:
    """Write (None: drop) the document's catalog entry, as the API does before its build."""
    print(f"{'write' if entry else 'drop'} its catalog entry: "
          f"{scale.timed_entry(corpus_dir, name, entry):.3f} s")


if __name__ == "__main__":
    raise SystemExit(main())
