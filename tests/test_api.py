"""The HTTP API over the tiny corpus with the fake embedder."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index
from assistant.model.embed import HashEmbedder


@pytest.fixture
def client(hash_settings: Settings) -> TestClient:
    build_index(hash_settings, HashEmbedder())
    app = create_app(hash_settings, Engine(hash_settings, HashEmbedder()))
    with TestClient(app) as test_client:
        yield test_client


def test_health(client: TestClient) -> None:
    assert client.get("/api/health").json() == {"status": "ok", "ready": True, "problem": None}


def test_search_get_and_post_agree(client: TestClient) -> None:
    got = client.get("/api/search", params={"q": "boende utgick", "k": 2})
    posted = client.post("/api/search", json={"q": "boende utgick", "k": 2})
    assert got.status_code == posted.status_code == 200
    assert got.json() == posted.json()
    assert got.json()["hits"][0]["doc"] == "housing.html"


def test_search_filters(client: TestClient) -> None:
    body = {"q": "kommuner", "k": 10, "filters": {"doc": "report.txt"}}
    hits = client.post("/api/search", json=body).json()["hits"]
    assert {h["doc"] for h in hits} == {"report.txt"}


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "x", "k": 0}, {"q": "x", "k": 1000}])
def test_bad_requests_are_422(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/api/search", params=params).status_code == 422


def test_not_ready_without_index(tmp_path, hash_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    settings = hash_settings.with_overrides(index_dir=tmp_path / "none")
    with TestClient(create_app(settings, Engine(settings, HashEmbedder()))) as test_client:
        health = test_client.get("/api/health").json()
        assert health["ready"] is False and "assistant index" in health["problem"]
        assert test_client.get("/api/search", params={"q": "x"}).status_code == 503
        asked = test_client.post("/api/ask", json={"question": "x"})
        assert asked.status_code == 503 and "assistant index" in asked.json()["error"]["message"]


def test_ask_answers_with_the_contract_shape(client: TestClient) -> None:
    first = client.post("/api/ask", json={"question": "Vem betalar ut etableringsersättningen?"})
    assert first.status_code == 200
    answer = first.json()
    assert set(answer) >= {"question", "language", "answer", "abstained", "mode", "citations",
                           "closest", "resolved_question", "plain_text"}
    assert answer["mode"] in ("answer", "passages", "refusal")
    assert answer["abstained"] == (answer["mode"] == "refusal")
    for citation in answer["citations"]:
        start, end = citation["offsets"]
        assert set(citation) >= {"n", "doc", "title", "section", "page", "quote", "text", "id"}
        assert citation["text"][start:end].split() == citation["quote"].split()
    follow = client.post("/api/ask", json={
        "question": "Och vem beslutar om den?",
        "history": [{"question": answer["question"], "answer": answer["answer"]}]})
    assert follow.status_code == 200 and follow.json()["question"] == "Och vem beslutar om den?"


def test_docs_page_works_offline(hash_settings: Settings) -> None:
    """/docs loads Swagger UI from the server itself, never from a CDN."""
    build_index(hash_settings, HashEmbedder())
    app = create_app(hash_settings, Engine(hash_settings, HashEmbedder()))
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN
