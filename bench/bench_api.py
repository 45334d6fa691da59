"""HTTP overhead and load: the API server against in-process search, and 20 clients at once.

Run from the repository root after `assistant index`:
    .venv/bin/python bench/bench_api.py [--clients 20] [--seconds 60]

1. latency: one process times `Engine.search` in-process and `GET /api/search` over HTTP
   (server in a child process on 127.0.0.1), alternating question by question, so both see
   the same machine load; then `POST /api/ask`.
2. load: `--clients` threads send a mix of searches (2/3) and asks (1/3) for `--seconds`;
   then the same again while a document is uploaded and indexed in the background.
Results are printed and appended to bench/results/api.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from itertools import cycle
from pathlib import Path

import httpx

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import machine, percentile  # noqa: E402

from assistant.config import load_settings  # noqa: E402
from assistant.engine import Engine, configure_threads  # noqa: E402
from assistant.evaluate import read_questions  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    """`assistant serve` over copies of the corpus and index, rate limit off, one key."""
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(root / "corpus"),
           "ASSISTANT_INDEX_DIR": str(root / "index"),
           "ASSISTANT_MODEL_DIR": str(REPO / "models"), "ASSISTANT_RATE_LIMIT": "0",
           "ASSISTANT_API_KEYS": KEY}
    server = subprocess.Popen([str(REPO / ".venv" / "bin" / "assistant"), "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json().get("ready"):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not become ready")


def latency(base: str, questions: list[str], repeat: int) -> dict[str, object]:
    """In-process search vs HTTP search vs HTTP ask, alternating per question."""
    settings = load_settings(model_dir=REPO / "models")
    configure_threads(settings)
    engine = Engine(settings)
    engine.search(questions[:2])
    local, http, ask = [], [], []
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get("/api/search", params={"q": questions[0]})
        for _ in range(repeat):
            for q in questions:
                t0 = time.perf_counter()
                engine.search([q], k=5)
                local.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                client.get("/api/search", params={"q": q, "k": 5}).raise_for_status()
                http.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                client.post("/api/ask", json={"question": q}).raise_for_status()
                ask.append((time.perf_counter() - t0) * 1000)
    engine.close()

    def summary(values: list[float]) -> dict[str, float]:
        return {"n": len(values), "p50": round(percentile(values, 50), 1),
                "p95": round(percentile(values, 95), 1)}

    result: dict[str, object] = {"in_process_search_ms": summary(local),
                                 "http_search_ms": summary(http), "http_ask_ms": summary(ask)}
    result["http_over_in_process_p50"] = round(percentile(http, 50) / percentile(local, 50), 2)
    return result


def load(base: str, questions: list[str], clients: int, seconds: float,
         upload: Path | None = None, upload_after: float = 0.0) -> dict[str, object]:
    """`clients` threads mixing search and ask for `seconds`; optionally an upload meanwhile,
    sent `upload_after` seconds in."""
    stop = time.monotonic() + seconds
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            for i, q in enumerate(cycle(questions[offset:] + questions[:offset])):
                if time.monotonic() >= stop:
                    return
                t0 = time.perf_counter()
                try:
                    if i % 3 == 2:
                        r = http.post("/api/ask", json={"question": q})
                    else:
                        r = http.get("/api/search", params={"q": q, "k": 5})
                    ok = r.status_code == 200
                    problem = f"{r.status_code}"
                except httpx.HTTPError as exc:
                    ok, problem = False, type(exc).__name__
                with lock:
                    times.append((time.perf_counter() - t0) * 1000)
                    if not ok:
                        errors.append(problem)

    indexing: dict[str, object] = {}
    if upload is not None:
        def send() -> None:
            time.sleep(upload_after)
            with httpx.Client(base_url=base, timeout=120) as http:
                t0 = time.perf_counter()
                r = http.post("/api/documents", headers={"X-API-Key": KEY},
                              files={"file": (upload.name, upload.read_bytes(), "text/plain")})
                indexing["upload_status"] = r.status_code
                doc = r.json().get("id") if r.status_code < 300 else None
                while doc and time.monotonic() < stop + 300:
                    status = http.get(f"/api/documents/{doc}").json().get("status")
                    if status in ("indexed", "failed"):
                        indexing["status"] = status
                        indexing["indexed_after_s"] = round(time.perf_counter() - t0, 1)
                        return
                    time.sleep(1)
        uploader = threading.Thread(target=send)
        uploader.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if upload is not None:
        uploader.join()
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(times),
            "errors": len(errors), "error_kinds": sorted(set(errors)),
            "throughput_rps": round(len(times) / elapsed, 2),
            "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
            **({"upload": indexing} if upload is not None else {})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path,
                        default=REPO.parent / "shared" / "eval" / "questions.jsonl")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    questions = [q.question for q in read_questions(args.questions)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "corpus", root / "corpus")
        shutil.copytree(REPO / "index", root / "index")
        port = free_port()
        server = start_server(root, port)
        base = f"http://127.0.0.1:{port}"
        try:
            result = {"bench": "api", "date": time.strftime("%Y-%m-%d %H:%M"),
                      "machine": machine(),
                      "latency": latency(base, questions, args.repeat),
                      "load": load(base, questions, args.clients, args.seconds)}
            upload = root / "upload.txt"
            upload.write_text((REPO / "corpus" / "lansstyrelserna-integration-2021.txt")
                              .read_text(encoding="utf-8"), encoding="utf-8")
            result["load_during_upload"] = load(base, questions, args.clients, args.seconds,
                                                upload)
        finally:
            server.terminate()
            server.wait(30)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    with (REPO / "bench" / "results" / "api.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
