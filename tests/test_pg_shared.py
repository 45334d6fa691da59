"""What several servers on one PostgreSQL database share besides the index: feedback, and a
health check that watches the database; a real server (pgserver)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index
from assistant.index.feedback_store import FeedbackStore, open_feedback
from assistant.index.pgfeedback import PgFeedbackStore
from assistant.model.embed import HashEmbedder

from .servers import create_app
from .test_api_daily import check_retention_on_write

KEY = "test-key-0123456789"
PERSONNUMMER = "19811218-9876"  # valid date and Luhn check digit


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    build_index(pg_settings, HashEmbedder())
    return pg_settings.with_overrides(api_keys=KEY)


def _server(settings: Settings, folder: Path) -> TestClient:
    own = settings.with_overrides(index_dir=folder / "index", corpus_dir=folder / "corpus")
    return TestClient(create_app(own, Engine(own, HashEmbedder())))


def test_feedback_sent_to_one_server_is_listed_by_another(settings: Settings,
                                                          tmp_path: Path) -> None:
    with _server(settings, tmp_path / "a") as a, _server(settings, tmp_path / "b") as b:
        sent = a.post("/api/feedback", json={"verdict": "wrong", "answer": "",
                                             "question": f"Gäller det {PERSONNUMMER}?"})
        assert sent.status_code == 201
        listed = b.get("/api/feedback", headers={"X-API-Key": KEY}).json()["entries"]
    assert [(e["id"], e["verdict"]) for e in listed] == [(sent.json()["id"], "wrong")]
    assert PERSONNUMMER not in listed[0]["question"]  # masked before it is stored
    assert datetime.fromisoformat(listed[0]["created"]).tzinfo is not None
    assert not list(tmp_path.rglob("*.sqlite"))  # no server kept a file of its own


def test_feedback_store_follows_the_settings(settings: Settings, hash_settings: Settings) -> None:
    assert isinstance(open_feedback(settings), PgFeedbackStore)
    assert isinstance(open_feedback(hash_settings), FeedbackStore)


def test_database_feedback_retention_applies_on_write(pg_url: str) -> None:
    store = PgFeedbackStore(pg_url, retention_days=30)
    check_retention_on_write(store)  # the file store's test: the same entries, the same times
    store.close()


def _with_password(url: str, password: str) -> str:
    """The same address with a password (the test server trusts local connections)."""
    return url.replace("postgres:@", f"postgres:{password}@", 1)


def _database_accepts(url: str, name: str, accepts: bool) -> None:
    """Let connections to a database in, or shut them out and end the open ones."""
    base, query = url.split("?", 1)
    with psycopg.connect(f"{base.rsplit('/', 1)[0]}/postgres?{query}", autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(accepts).lower()}")
        if not accepts:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


def test_health_is_not_ready_while_the_database_is_down(settings: Settings,
                                                        tmp_path: Path) -> None:
    url = settings.database_url
    assert "postgres:@" in url, url  # pgserver's address: user postgres, no password
    name = url.split("?", 1)[0].rsplit("/", 1)[1]
    secret = settings.with_overrides(database_url=_with_password(url, "s3cret-pw"))
    with _server(secret, tmp_path) as client:
        assert client.get("/api/health").json() == {"status": "ok", "ready": True,
                                                    "problem": None}
        _database_accepts(url, name, False)
        try:
            for _ in range(2):  # the kept connection fails, then a new one is refused
                health = client.get("/api/health")
                body = health.json()
                assert health.status_code == 200 and body["ready"] is False, body
                assert "s3cret-pw" not in body["problem"] and "***@" in body["problem"]
                assert "database" in body["problem"]
        finally:
            _database_accepts(url, name, True)
        assert client.get("/api/health").json()["ready"] is True  # back without a restart


def test_a_database_indexed_before_it_kept_its_corpus_waits_for_the_import(
        settings: Settings) -> None:
    from assistant.errors import DatabaseError
    from assistant.index.pgfiles import PgFiles

    first = build_index(settings, HashEmbedder())
    built = set(first.indexed) | set(first.unchanged)
    assert built
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        # as a database at schema 2 had it: documents indexed, no files table rows
        conn.execute("DELETE FROM files")
        conn.execute("DELETE FROM schema_version WHERE version >= 5")
    PgFiles(settings.database_url).close()  # any process's first connection migrates
    with pytest.raises(DatabaseError, match="run `assistant index` once"):
        build_index(settings, HashEmbedder(), from_folder=False)  # what a worker does
    engine = Engine(settings, HashEmbedder())
    try:
        assert set(engine.reader.docs) == built  # nothing was removed
    finally:
        engine.close()
    assert set(build_index(settings, HashEmbedder()).unchanged) == built  # the import
    report = build_index(settings, HashEmbedder(), from_folder=False)
    assert set(report.unchanged) == built and not report.removed
