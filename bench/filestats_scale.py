"""What the fingerprint record (assistant/index/filestats.py) costs a build at a corpus size,
without an index: a full no-op pass (every file looked at, nothing changed) and a targeted
pass (one new file named, as an API upload builds), each with the record's read and save.

The files are the synthetic corpus's names and catalog entries (bench/scale_corpus.py) with
one line of text each: once a file is remembered its size does not matter, only the number
of files and their entries. 21,064 files is the 1M-chunk corpus.

Runs against whichever `FileStats` is importable, so a worktree at an older commit gives the
figures of its record with the same script (the JSON record before 2026-11-30 took the
targeted names through `keep_others`):

    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/filestats_scale.py --files 21064

Nothing is recorded; bench/RESULTS.md quotes the runs it uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import scale_corpus  # noqa: E402

from assistant.index import filestats  # noqa: E402


def stats_for(folder: Path, only: list[str] | None) -> Any:
    """A record opened as a build opens it, by either commit's interface."""
    if hasattr(filestats.FileStats, "keep_others"):  # the JSON record
        return filestats.FileStats(folder)
    return filestats.FileStats(folder, only)


def full_pass(folder: Path, files: list[tuple[str, str, os.stat_result, Any]]) -> float:
    """Seconds for a no-op full build's use of the record."""
    started = time.perf_counter()
    stats = stats_for(folder, None)
    for name, path, stat, entry in files:
        stats.fingerprint(name, path, entry, stat)
    stats.save()
    assert stats.hashed == 0, "the record should remember every file"
    return time.perf_counter() - started


def targeted_pass(folder: Path, name: str, path: str, entry: Any) -> float:
    """Seconds for one upload's use of the record (the file is new each time)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"{name} {time.time_ns()}\n")
    started = time.perf_counter()
    stats = stats_for(folder, [name])
    stats.fingerprint(name, path, entry, os.stat(path))
    if hasattr(stats, "keep_others"):
        stats.keep_others({name})
    stats.save()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=21_064)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    pool = scale_corpus.read_pool(scale_corpus.source_folders(REPO))
    with tempfile.TemporaryDirectory() as scratch:
        corpus, record = Path(scratch) / "corpus", Path(scratch) / "index"
        record.mkdir()
        files = []
        for number in range(args.files):
            doc = scale_corpus.document(pool, args.seed, number)
            path = corpus / doc.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.name + "\n", encoding="utf-8")
            files.append((doc.name, str(path), path.stat(), doc.entry))
        past = time.time() - 60  # older than the record: not hashed again as racy
        for _, path, _, _ in files:
            os.utime(path, (past, past))
        files = [(n, p, os.stat(p), e) for n, p, _, e in files]
        stats = stats_for(record, None)
        for name, path, stat, entry in files:
            stats.fingerprint(name, path, entry, stat)
        stats.save()  # the first build: every file hashed
        small = scale_corpus.small_document(pool, args.seed)
        upload = corpus / small.name
        upload.parent.mkdir(exist_ok=True)
        full, targeted = [], []
        for _ in range(args.rounds):
            full.append(full_pass(record, files))
            targeted.append(targeted_pass(record, small.name, str(upload), small.entry))
        size = sum(p.stat().st_size for p in record.iterdir())
    print(f"{args.files} files, record {size / 1e6:.1f} MB ({filestats.FILE}); "
          f"{args.rounds} rounds, median (min-max):")
    for label, times in (("full no-op pass", full), ("targeted pass, one file", targeted)):
        print(f"  {label}: {statistics.median(times) * 1000:.1f} ms "
              f"({min(times) * 1000:.1f}-{max(times) * 1000:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
