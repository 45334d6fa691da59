"""Daily use over the API: grouped search with counts and export, answers as plain text,
feedback stored and exported as gold, bulk upload in one build; the fake embedder."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.api.unzip import expand
from assistant.cli import main
from assistant.config import Settings
from assistant.index.feedback_store import Feedback, FeedbackLog, FeedbackStore

from .servers import indexed_app

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
PERSONNUMMER = "19811218-9876"  # valid date and Luhn check digit


@pytest.fixture
def app(hash_settings: Settings) -> FastAPI:
    return indexed_app(hash_settings.with_overrides(api_keys=KEY, rate_limit=0))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# --- grouped search ---------------------------------------------------------------------------

def test_grouped_search_names_each_document_once_with_right_counts(client: TestClient) -> None:
    plain = client.get("/api/search", params={"q": "kommunerna boende survey", "k": 20}).json()
    body = client.get("/api/search", params={"q": "kommunerna boende survey", "k": 20,
                                             "group": "document"}).json()
    assert "groups" not in plain and body["hits"] == plain["hits"]  # ungrouped stays as it was
    docs = [g["doc"] for g in body["groups"]]
    assert sorted(docs) == sorted({h["doc"] for h in plain["hits"]})  # each document once
    passages = sum(len(g["passages"]) for g in body["groups"])
    assert passages == len(plain["hits"])
    for group in body["groups"]:
        scores = [p["score"] for p in group["passages"]]
        assert scores == sorted(scores, reverse=True)  # best passage first
        for p in group["passages"]:
            assert len(p["snippet"]) <= 330 and p["link"].startswith("/api/documents/")
            for start, end in p["marks"]:
                assert p["snippet"][start:end].lower() in {"kommunerna", "boende", "survey"}
    for name in ("type", "year", "region", "language"):
        expected = Counter(str(g[name]) for g in body["groups"]
                           if g[name] is not None and g[name] != "und")
        assert body["facets"][name] == dict(expected)
    posted = client.post("/api/search", json={"q": "kommunerna boende survey", "k": 20,
                                              "group": "document"}).json()
    assert posted == body


def test_sort_by_year_puts_newest_first(client: TestClient, hash_settings: Settings) -> None:
    body = client.get("/api/search", params={"q": "kommunerna survey boende", "k": 20,
                                             "group": "document", "sort": "year"}).json()
    years = [g["year"] for g in body["groups"] if g["year"] is not None]
    assert years == sorted(years, reverse=True)
    assert body["sort"] == "year"


def test_export_csv_and_json(client: TestClient) -> None:
    params = {"q": "kommunerna", "k": 10, "format": "csv"}
    response = client.get("/api/search/export", params=params)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows and set(rows[0]) >= {"title", "section", "page", "snippet", "link"}
    assert rows[0]["link"].startswith("http://testserver/api/documents/")
    as_json = client.get("/api/search/export", params={**params, "format": "json"}).json()
    assert [r["snippet"] for r in as_json["results"]] == [r["snippet"] for r in rows]


def test_openapi_documents_the_grouped_response(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"GroupedSearchResponse", "DocumentGroup", "GroupedPassage", "BatchResult",
            "FeedbackRequest"} <= set(schemas)
    params = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"group", "sort"} <= params
    assert "plain_text" in schemas["AskResponse"]["properties"]


# --- feedback ---------------------------------------------------------------------------------

def test_feedback_export_eval_round_trip_without_personal_numbers(
        client: TestClient, hash_settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    question = f"Vem betalar ut etableringsersättningen till {PERSONNUMMER}?"
    hit = client.get("/api/search", params={"q": "betalar etableringsersättningen"}).json()
    passage = hit["hits"][0]["id"]
    assert client.post("/api/feedback", json={"verdict": "helpful", "question": "Vad är SFI?",
                                              "answer": "Svenska."}).status_code == 201
    sent = client.post("/api/feedback", json={
        "verdict": "wrong", "question": question, "answer": "Kommunerna [1]",
        "comment": f"fel, gäller {PERSONNUMMER}", "passage": passage})
    assert sent.status_code == 201
    assert client.post("/api/feedback", json={"verdict": "wrong", "question": "x",
                                              "passage": "nope#9"}).status_code == 400
    assert client.get("/api/feedback").status_code == 401  # reading needs the key
    entries = client.get("/api/feedback", headers=AUTH).json()["entries"]
    assert [e["verdict"] for e in entries] == ["helpful", "wrong"]
    stored = (hash_settings.index_dir / "feedback.sqlite").read_bytes()
    assert b"9876" not in stored and "[personnummer]" in entries[1]["question"]

    monkeypatch.setenv("ASSISTANT_MODEL", "hash")
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(hash_settings.corpus_dir))
    out = tmp_path / "gold.jsonl"
    index = ["--index", str(hash_settings.index_dir)]
    assert main(["feedback", "export", "--out", str(out), *index]) == 0
    text = out.read_text(encoding="utf-8")
    assert "9876" not in text and "811218" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 1 and lines[0]["gold"][0]["doc"] == "ansvar.md"
    assert lines[0]["kind"] == "answerable" and lines[0]["lang"] == "sv"
    capsys.readouterr()
    assert main(["eval", str(out), "--json", *index]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["overall"]["n"] == 1
    assert report["questions"][0]["rank"] is not None  # the pointed passage is found again


def check_retention_on_write(store: FeedbackLog) -> None:
    """A store kept 30 days drops what is older as it takes a new entry (either backend)."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    store.add(Feedback("helpful", "old question"), now=now - timedelta(days=31))
    store.add(Feedback("helpful", "recent question"), now=now - timedelta(days=29))
    store.add(Feedback("wrong", "new question"), now=now)
    assert [e["question"] for e in store.entries()] == ["recent question", "new question"]
    assert store.entries()[-1]["created"] == "2026-06-01T00:00:00+00:00"


def test_feedback_retention_applies_on_write(tmp_path: Path) -> None:
    check_retention_on_write(FeedbackStore(tmp_path, retention_days=30))


# --- bulk upload ------------------------------------------------------------------------------

def test_twenty_files_one_broken_in_one_request_and_one_build(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.index.builder as builder

    builds: list[int] = []
    real_build = builder.build_index

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        builds.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(builder, "build_index", counted)
    files = [("file", (f"note-{i:02d}.txt", f"Anteckning {i} om mottagning av nyanlända "
                       f"i kommun nummer {i}.".encode(), "text/plain")) for i in range(19)]
    files.append(("file", ("broken.pdf", b"%PDF-1.7\n1 0 obj <</Type /Cat", "application/pdf")))
    response = client.post("/api/documents/batch", files=files, headers=AUTH)
    assert response.status_code == 202
    assert response.json()["queued"] == 20
    assert client.app.state.library.wait_idle(120)  # type: ignore[attr-defined]
    docs = {d["id"]: d for d in client.get("/api/documents").json()["documents"]}
    ids = [f["id"] for f in response.json()["files"]]
    states = Counter(docs[i]["status"] for i in ids)
    assert states == {"indexed": 19, "failed": 1}
    broken = docs[ids[-1]]
    assert broken["status"] == "failed" and broken["error"]
    assert len(builds) == 1


def test_zip_entries_are_checked_like_single_uploads(client: TestClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good/one.md", "# Ett\n\nOm samhällsorientering i kommunen.\n")
        archive.writestr("../evil.txt", "escape")
        archive.writestr("image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
        archive.writestr("bomb.txt", b"a" * 5_000_000)
        archive.writestr("__MACOSX/._one.md", "junk")
    response = client.post("/api/documents/batch", headers=AUTH,
                           files=[("file", ("docs.zip", buffer.getvalue(), "application/zip"))])
    assert response.status_code == 202
    rows = {r["name"]: r for r in response.json()["files"]}
    assert set(rows) == {"docs.zip/good/one.md", "docs.zip/../evil.txt", "docs.zip/image.png",
                         "docs.zip/bomb.txt"}
    assert rows["docs.zip/good/one.md"]["status"] == "queued"
    assert "unsafe path" in rows["docs.zip/../evil.txt"]["error"]
    assert "cannot index" in rows["docs.zip/image.png"]["error"]
    assert "zip bomb" in rows["docs.zip/bomb.txt"]["error"]
    assert client.post("/api/documents/batch", files=[("file", ("x.txt", b"hi", "text/plain"))]
                       ).status_code == 401


def test_zip_caps_entries_and_total_size() -> None:
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(201):
            archive.writestr(f"f{i}.txt", "x")
    with pytest.raises(ValueError, match="at most 200"):
        expand(many.getvalue(), 1000, 10_000)
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w") as archive:
        for i in range(5):
            archive.writestr(f"f{i}.txt", bytes(range(256)) * 4)  # 1 KB each, stored
    with pytest.raises(ValueError, match="in all"):
        expand(big.getvalue(), 2000, 3000)
    with pytest.raises(ValueError, match="not a readable zip"):
        expand(b"PK\x03\x04garbage", 1000, 1000)


def test_plain_text_names_every_source_with_its_page() -> None:
    from assistant.serialize import answer_plain_text
    from assistant.types import Answer, Chunk, Citation, DocInfo, Hit

    chunk = Chunk("a.pdf#3", "a.pdf", 3, ("Ansvar", "Staten"), 4, 5, 0, 10, "Staten betalar.")
    hit = Hit(chunk, DocInfo("a.pdf", "Strategi", "sv"), 1.0)
    answer = Answer("Vem betalar?", "Vem betalar?", "sv", "Staten betalar [1].", False,
                    (Citation(1, hit, "Staten betalar.", 0, 15, 5, ("Ansvar", "Staten")),))
    assert answer_plain_text(answer) == (
        "Staten betalar [1].\n\nKällor:\n[1] Strategi, Ansvar › Staten, s. 5\n"
        "    /api/documents/a.pdf/file#page=5\n")


def test_feedback_is_rate_limited_and_keeps_no_identity(hash_settings: Settings) -> None:
    import sqlite3

    app = indexed_app(hash_settings.with_overrides(api_keys=KEY, rate_limit=2))
    with TestClient(app) as client:
        body = {"verdict": "helpful", "question": "Vad är SFI?"}
        codes = [client.post("/api/feedback", json=body).status_code for _ in range(3)]
        assert codes == [201, 201, 429]
    db = sqlite3.connect(hash_settings.index_dir / "feedback.sqlite")
    columns = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
    db.close()
    assert not columns & {"ip", "address", "client", "key", "user", "agent"}
    assert "feedback.sqlite" not in {p.name for p in hash_settings.index_dir.glob("gen-*/*")}
