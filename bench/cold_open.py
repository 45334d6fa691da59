"""A new server's first answer with the page cache cold (issue 15): checkouts taking turns.

Each round drops the kernel's page cache (as root: /proc/sys/vm/drop_caches; `--warm` keeps it)
and starts, for each checkout and index in turn, that checkout's `bench/scale.py` serving child
on that scale index: a fresh process that opens the index and loads the stand-in as a server does,
answers one question (`cold_start_s`, from the process's start), then times one pass of
searches and questions while the cache may still be filling. Run from the repository root:
    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/cold_open.py \
        --index bench/cache/scale/index-1000000-s15 [...] [--checkout DIR ...] [--rounds 3] \
        [--warm] [--record]
Compare checkouts (or indexes) within one run: the disk and the host's load change between runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402

from assistant.config import load_settings  # noqa: E402


def drop_page_cache() -> None:
    """Write dirty pages out, then drop the clean ones (root only)."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        raise SystemExit(f"cannot drop the page cache ({exc}); run as root, or pass --warm"
                         ) from exc


def one_child(checkout: Path, env: dict[str, str], questions: Path) -> dict[str, Any]:
    """That checkout's serving child: cold start, CPU, one pass of searches and asks, RSS."""
    command = [sys.executable, str(checkout / "bench" / "scale.py"), "--serve-child",
               str(time.time()), "--questions", str(questions), "--repeat", "1",
               "--serve-encoder", "onnx"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"serving child of {checkout} failed:\n{done.stderr[-3000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cold_start_s": found["cold_start_s"], "cpu_s": found["cold_start_cpu_s"],
            "search_p50_ms": found["search_ms"]["p50"], "ask_p50_ms": found["ask_ms"]["p50"],
            "rss_mb": found["rss_mb"], "peak_rss_mb": found["peak_rss_mb"]}


def child_env(index: Path) -> dict[str, str]:
    """The serving child's settings: that index, its corpus, the stand-in."""
    settings = load_settings(index_dir=index,
                             corpus_dir=index.with_name(index.name.replace("index-", "corpus-")),
                             model=str(scale.STANDIN), model_dir=scale.REPO / "models")
    return scale.child_env(settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, nargs="+", required=True,
                        help="scale index folders (each beside its corpus-* folder)")
    parser.add_argument("--checkout", type=Path, nargs="+", default=[scale.REPO],
                        help="repository checkouts to compare (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", action="store_true", help="leave the page cache as it is")
    parser.add_argument("--questions", type=Path, default=scale.default_questions())
    parser.add_argument("--record", action="store_true",
                        help="append to bench/results/cold_open.jsonl")
    args = parser.parse_args()
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {
        (str(c.resolve()), str(i.resolve())): [] for c in args.checkout for i in args.index}
    for _ in range(args.rounds):
        for checkout, index in runs:
            if not args.warm:
                drop_page_cache()
            runs[checkout, index].append(one_child(Path(checkout), child_env(Path(index)),
                                                   args.questions))
            print(checkout, index, runs[checkout, index][-1], flush=True)
    record = {"bench": "cold_open", "date": time.strftime("%Y-%m-%d %H:%M"),
              "machine": scale.machine(), "page_cache": "warm" if args.warm
              else "dropped before each run", "runs": [
                  {"checkout": checkout, "commit": scale.commit(Path(checkout)), "index": index,
                   "runs": found,
                   "median_cold_start_s": statistics.median(r["cold_start_s"] for r in found)}
                  for (checkout, index), found in runs.items()]}
    print(json.dumps(record, indent=2))
    if args.record:
        with (scale.RESULTS / "cold_open.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
