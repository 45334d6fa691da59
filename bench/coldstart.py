"""Cold start (issue 15): seconds from starting a new process to its first query answered.

Each run starts `assistant search --json` in a fresh Python process over an existing index and
times it until the process has printed its hits and exited (model loading included); then it
reports which heavy modules that kind of process imports. Run from the repository root:
    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/coldstart.py \
        --index DIR [--encoder auto|onnx|onnx-int8|sentence-transformers] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "Vem betalar ut etableringsersättning?"
HEAVY = ("torch", "transformers", "sentence_transformers", "onnxruntime", "tokenizers", "faiss")
SEARCH = "from assistant.cli import main; raise SystemExit(main())"
# The same query in process, then the heavy modules it left in sys.modules.
PROBE = (
    "import sys, json\n"
    "from assistant.config import load_settings\n"
    "from assistant.engine import Engine, configure_threads\n"
    "s = load_settings(); configure_threads(s)\n"
    "Engine(s).search([{q!r}], k=3)\n"
    "print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
)


def one_run(env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds for one new process to answer one search; the CPU
    figure is what a busy shared machine does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SEARCH, "search", "--json", "-k", "3", QUESTION],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"search failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu


def imported(env: dict[str, str]) -> list[str]:
    """The heavy modules a process that answers one search has imported."""
    code = PROBE.format(q=QUESTION, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index built beforehand")
    parser.add_argument("--encoder", default="auto")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, ASSISTANT_INDEX_DIR=str(args.index), ASSISTANT_ENCODER=args.encoder,
               OMP_WAIT_POLICY="PASSIVE")
    one_run(env)  # warms the page cache: the figure is a new process, not a cold disk
    runs = [one_run(env) for _ in range(args.runs)]
    print(json.dumps({
        "encoder": args.encoder, "wall_s": [round(w, 2) for w, _ in runs],
        "median_wall_s": round(statistics.median(w for w, _ in runs), 2),
        "cpu_s": [round(c, 2) for _, c in runs], "load_average": os.getloadavg()[0],
        "imports": imported(env),
    }))


if __name__ == "__main__":
    main()
