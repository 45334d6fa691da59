"""Rewrite a built index's segments into one segment per language, without embedding again
(issue 15, item 3: a language restriction then takes or skips whole segments).

    PYTHONPATH=$PWD .venv/bin/python bench/resegment.py SRC DEST

Copies SRC to DEST (hard links: segments are immutable) and commits there the merge of every
segment through the product's own writer (assistant/index/writer.py), which splits documents
by language and gives large segments their graphs; the commit is the same build otherwise.
A fresh `assistant index` writes segments this way by itself; this is for indexes built
before, such as the cached scale indexes, so that both layouts can be timed on one corpus.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.config import load_settings  # noqa: E402
from assistant.index.commits import open_commit  # noqa: E402
from assistant.index.store import open_store  # noqa: E402
from assistant.index.vectors import set_graph_threads  # noqa: E402
from assistant.index.writer import SegmentWriter  # noqa: E402


def resegment(source: Path, dest: Path) -> dict[str, object]:
    """Copy `source` to `dest` and merge every segment there; what was written."""
    shutil.copytree(source, dest, copy_function=lambda s, d: Path(d).hardlink_to(s))
    (dest / "LOCK").unlink(missing_ok=True)
    _, body = open_commit(dest)
    store = open_store(dest)
    started = time.perf_counter()
    try:
        writer = SegmentWriter(dest, store.dim, previous=store)
        for doc in store.docs:
            writer.keep(doc)
        old = writer._tombstoned()
        writer._merge(old, [s["name"] for s in old])
        keep = {k: body[k] for k in ("build", "embedder", "failed", "failed_keys") if k in body}
        commit = writer.commit(keep)
    finally:
        store.close()
    path, new = open_commit(dest)
    for entry in body["segments"]:  # no longer listed by the newest commit: drop them and
        shutil.rmtree(dest / entry["name"])  # the older commit points that list them
    for older in dest.glob("commit-*.json"):
        if older != path:
            older.unlink()
    return {"commit": commit, "seconds": round(time.perf_counter() - started, 1),
            "segments": [(s["name"], s.get("languages"), s["chunks"], s["sentences"])
                         for s in new["segments"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    set_graph_threads(load_settings().threads)  # as `assistant index` builds (cli.cmd_index)
    print(resegment(args.source, args.dest))


if __name__ == "__main__":
    main()
