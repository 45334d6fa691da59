"""Give an existing index folder's large segments their HNSW graphs, in a copy (issue 15).

    nice -n 5 .venv/bin/python bench/graph_segments.py bench/cache/scale/index-100000-s15 \
        --to build/index-100000-s15-hnsw

An index written before graphs were switched on scans every vector exactly. This copies the
served commit's segments (default destination: the folder's name plus ``-hnsw``), rewrites in
the copy each ``chunks.faiss`` / ``sentences.faiss`` of `vectors.HNSW_MIN` vectors or more
through `vectors.finished` (what the segment writer does today), reseals each segment (sizes
and sha256) and writes a new commit point listing them, with the product's own functions; the
original folder is only read. The graphs are built on one FAISS thread, as `assistant index`
builds them. Prints one JSON line per graph (build wall and CPU seconds) and one for the whole
copy; `--record` appends them to bench/results/graph_segments.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scale import commit, folder_bytes  # noqa: E402

from assistant.config import load_settings  # noqa: E402
from assistant.index.commits import (  # noqa: E402
    open_commit,
    prune,
    seal_segment,
    write_commit,
)
from assistant.index.segment import (  # noqa: E402
    CHUNK_VECTORS,
    FILES,
    SENTENCE_VECTORS,
    held_documents,
)
from assistant.index.store import set_search_threads  # noqa: E402
from assistant.index.vectors import finished, set_graph_threads  # noqa: E402


def graph_file(path: Path) -> dict[str, Any] | None:
    """Rewrite one vector file as the segment writer would now; its build figures, or None
    when it stays flat."""
    import faiss

    index = faiss.read_index(str(path))
    before = path.stat().st_size
    t0, c0 = time.perf_counter(), time.process_time()
    graph = finished(index)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if graph is index:
        return None
    faiss.write_index(graph, str(path))
    return {"file": path.name, "vectors": int(graph.ntotal), "build_wall_s": round(wall, 1),
            "build_cpu_s": round(cpu, 1), "bytes_before": before,
            "bytes_after": path.stat().st_size}


def graph_copy(source: Path, target: Path,
               rewrite: Callable[[Path], dict[str, Any] | None] = graph_file,
               names: Sequence[str] = (CHUNK_VECTORS, SENTENCE_VECTORS)) -> list[dict[str, Any]]:
    """Copy the served commit of `source` into `target`, each of its vector files `names`
    passed through `rewrite` (default: with graphs, see the module docstring; also
    bench/codes_copy.py), then resealed under a new commit point; one record per file
    rewritten (`rewrite` returns None for one left as it was), then one for the copy."""
    source_commit, body = open_commit(source)
    target.mkdir(parents=True)
    shutil.copy2(source_commit, target / source_commit.name)  # numbers the new commit after it
    records, segments = [], []
    for entry in body["segments"]:
        tmp = target / f"{entry['name']}.tmp"
        shutil.copytree(source / entry["name"], tmp)
        for fname in names:
            built = rewrite(tmp / fname)
            if built is not None:
                records.append({"segment": entry["name"], **built})
                print(json.dumps(records[-1]), flush=True)
        name, files = seal_segment(tmp, FILES)
        segments.append({**entry, "name": name, "files": files})
    kept = {k: v for k, v in body.items() if k not in ("checksum", "commit", "format")}
    new_commit = write_commit(target, {**kept, "segments": segments})
    prune(target, held_documents)  # the copied commit no longer checks against the new files
    records.append({"source": str(source), "source_commit": source_commit.name,
                    "target": str(target), "target_commit": new_commit.name,
                    "source_bytes": folder_bytes(source), "target_bytes": folder_bytes(target)})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path, help="the index folder to copy (only read)")
    parser.add_argument("--to", type=Path, help="the copy (default: INDEX-hnsw); must not exist")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    source = args.index
    target = args.to or source.with_name(source.name + "-hnsw")
    if target.exists():
        parser.error(f"{target} exists; remove it first")
    set_search_threads(1)  # as `assistant index` searches (engine.configure_threads)
    set_graph_threads(load_settings().threads)  # and builds graphs (cli.cmd_index)
    started = {"bench": "graph_segments", "date": time.strftime("%Y-%m-%d %H:%M"),
               "commit": commit(), "loadavg": [round(x, 2) for x in os.getloadavg()]}
    records = graph_copy(source, target)
    summary = {**started, **records[-1], "graphs": records[:-1],
               "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(summary))
    if args.record:
        with (REPO / "bench" / "results" / "graph_segments.jsonl").open("a") as fh:
            fh.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
