"""Fuzz the document loaders with atheris; append the result to bench/results/fuzz.jsonl.

Run from the repository root (needs the `fuzz` extra: `.venv/bin/pip install -e ".[fuzz]"`):

    .venv/bin/python bench/fuzz_loaders.py [--seconds 120]

The first byte of each input picks a loader (PDF, HTML, Markdown, text), the rest is the file.
A loader may raise IngestError (a reason for the user); anything else is a finding. Recursion
and memory errors are counted apart: in production the parsing sandbox turns them into reasons
("nested too deeply", the memory limit). Findings do not stop the run: each distinct one (type
and innermost frame) is counted once and its input kept in a temporary folder for reproduction.
libFuzzer itself stops the run on an input that hangs (-timeout) or uses too much memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "fuzz.jsonl"
SUFFIXES = (".pdf", ".html", ".md", ".txt")
PER_INPUT_TIMEOUT_S = 20
RSS_LIMIT_MB = 2048
MAX_LEN = 32_768


def seeds(folder: Path) -> int:
    """Write the seed inputs (selector byte + file) into `folder`; returns how many."""
    from fpdf import FPDF

    files = {".md": [REPO / "tests/data/sample.md"], ".html": [REPO / "tests/data/sample.html"],
             ".txt": [REPO / "tests/data/sample.txt"], ".pdf": []}
    count = 0
    for index, suffix in enumerate(SUFFIXES):
        for path in files[suffix]:
            (folder / f"seed-{count}").write_bytes(bytes([index]) + path.read_bytes()[:MAX_LEN])
            count += 1
    pdf = FPDF()
    for heading in ("1 Inledning", "2 Ansvar"):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 8, heading)
        pdf.set_font("Helvetica", size=11)
        pdf.set_xy(20, 40)
        pdf.multi_cell(170, 6, "Kommunerna ska erbjuda svenska för invandrare. " * 3)
    for compress in (True, False):
        pdf.set_compression(compress)
        (folder / f"seed-{count}").write_bytes(bytes([0]) + bytes(pdf.output()))
        count += 1
    return count


def worker(findings_path: Path, keep: Path, libfuzzer_args: list[str]) -> None:
    """Run inside libFuzzer: call the loaders on each input and log what escapes them."""
    import atheris

    with atheris.instrument_imports():
        from assistant.errors import IngestError
        from assistant.ingest import LOADERS

    seen: set[str] = set()

    def one_input(data: bytes) -> None:
        if not data:
            return
        suffix = SUFFIXES[data[0] % len(SUFFIXES)]
        try:
            LOADERS[suffix](data[1:], f"fuzz{suffix}")
        except IngestError:
            return
        except (RecursionError, MemoryError) as exc:
            _record(findings_path, seen, keep, "contained", exc, suffix, data)
        except Exception as exc:  # the fuzzer's top level: anything else is a finding
            _record(findings_path, seen, keep, "finding", exc, suffix, data)

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def _record(path: Path, seen: set[str], keep: Path, kind: str, exc: BaseException,
            suffix: str, data: bytes) -> None:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    where = f"{Path(frame.filename).name}:{frame.lineno}"
    signature = f"{type(exc).__name__} at {where}"
    if signature in seen:
        return
    seen.add(signature)
    sample = keep / f"{kind}-{len(seen)}{suffix}"
    sample.write_bytes(data[1:])
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, "signature": signature, "loader": suffix,
                              "message": str(exc)[:200], "input": str(sample)}) + "\n")


def run(seconds: int) -> dict[str, object]:
    """Fuzz for `seconds` in a child process and summarise what it found."""
    work = Path(tempfile.mkdtemp(prefix="fuzz-loaders-"))
    corpus, keep = work / "corpus", work / "findings"
    corpus.mkdir()
    keep.mkdir()
    seed_count = seeds(corpus)
    findings_path = work / "findings.jsonl"
    args = [str(corpus), f"-max_total_time={seconds}", f"-timeout={PER_INPUT_TIMEOUT_S}",
            f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_len={MAX_LEN}", "-print_final_stats=1",
            f"-artifact_prefix={keep}/", "-seed=1"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(findings_path), str(keep), *args],
        capture_output=True, text=True, errors="replace", check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    elapsed = time.perf_counter() - started
    log = done.stdout + done.stderr
    (work / "libfuzzer.log").write_text(log, encoding="utf-8")
    executions = re.findall(r"stat::number_of_executed_units: (\d+)", log) or re.findall(
        r"Done (\d+) runs", log)
    records = [json.loads(line) for line in findings_path.read_text().splitlines()
               ] if findings_path.exists() else []
    stop = "time limit"
    for pattern, reason in ((r"libFuzzer: timeout", "an input hung (per-input timeout)"),
                            (r"out-of-memory", "an input used too much memory"),
                            (r"libFuzzer: deadly signal|Uncaught Python exception", "crash")):
        if re.search(pattern, log):
            stop = reason
    return {
        "bench": "fuzz_loaders", "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "commit": _commit(),
        "seconds": round(elapsed, 1), "seeds": seed_count,
        "executions": int(executions[-1]) if executions else None,
        "findings": [r for r in records if r["kind"] == "finding"],
        "contained": [r for r in records if r["kind"] == "contained"],
        "stopped_by": stop, "exit_code": done.returncode, "work_dir": str(work),
    }


def _commit() -> str:
    """The commit measured, marked "+changes" when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "assistant/ingest"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{head}+changes" if dirty else head


def main() -> None:
    """Command line: fuzz, print a summary line, append the record."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120, help="how long to fuzz (120)")
    parser.add_argument("--no-record", action="store_true",
                        help=f"do not append the result to {RESULTS.relative_to(REPO)}")
    args = parser.parse_args()
    result = run(args.seconds)
    if not args.no_record:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    print(f"{result['executions']} executions in {result['seconds']} s, "
          f"{len(result['findings'])} finding(s), {len(result['contained'])} contained, "
          f"stopped by {result['stopped_by']}; details in {result['work_dir']}")
    for record in [*result["findings"], *result["contained"]]:  # type: ignore[misc]
        print(f"  {record['kind']}: {record['signature']} ({record['loader']}): "
              f"{record['message']}")


if __name__ == "__main__":
    main()
