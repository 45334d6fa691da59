"""What protects the API: keys, the body cap, the rate limit, headers and JSON errors."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.api.guards import PAGE_CSP
from assistant.config import Settings

from .servers import indexed_app, running

KEY = "s3cret-key-for-tests"
CAP = 4000


@pytest.fixture
def app(hash_settings: Settings) -> FastAPI:
    return indexed_app(hash_settings.with_overrides(api_keys=f"{KEY},other-key",
                                                    max_upload_bytes=CAP))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def a_file(size: int = 100) -> dict[str, Any]:
    return {"file": ("a.txt", b"x " * (size // 2), "text/plain")}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong"},
    {"X-API-Key": "wrong"},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": "Bearer "},
])
def test_writes_without_a_valid_key_are_401(client: TestClient,
                                            headers: dict[str, str]) -> None:
    for response in (client.post("/api/documents", files=a_file(), headers=headers),
                     client.delete("/api/documents/report.txt", headers=headers)):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["status"] == 401
    assert client.get("/api/documents/report.txt").status_code == 200  # nothing was removed


def test_either_header_carries_the_key(client: TestClient) -> None:
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": "other-key"}):
        assert client.post("/api/documents", files=a_file(), headers=headers).status_code == 202


def test_no_configured_keys_means_no_writes(hash_settings: Settings) -> None:
    with TestClient(indexed_app(hash_settings)) as client:
        response = client.post("/api/documents", files=a_file(), headers={"X-API-Key": "x"})
        assert response.status_code == 401
        assert "ASSISTANT_API_KEYS" in response.json()["error"]["message"]


def test_keys_never_reach_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/api/documents", files=a_file(), headers={"Authorization": f"Bearer {KEY}"})
    client.post("/api/documents", files=a_file(), headers={"X-API-Key": "wrong-guess-key"})
    assert client.app.state.library.wait_idle(30)  # type: ignore[attr-defined]
    assert "uploaded" in caplog.text
    assert KEY not in caplog.text and "wrong-guess-key" not in caplog.text
    assert KEY not in repr(client.app.state.settings)  # type: ignore[attr-defined]


def test_declared_oversize_body_is_413(client: TestClient) -> None:
    response = client.post("/api/documents", files=a_file(CAP * 2),
                           headers={"X-API-Key": KEY})
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]["message"]


def test_lying_content_length_is_counted_not_trusted(client: TestClient) -> None:
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n" \
        + b"y" * (CAP * 3) + b"\r\n--b--\r\n"
    response = client.post("/api/documents", content=body, headers={
        "X-API-Key": KEY, "Content-Length": "120",
        "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413


def test_body_reading_stops_at_the_cap(app: FastAPI) -> None:
    """Straight through ASGI: a false small Content-Length, then far more body than the cap."""
    head = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
    chunks = [head] + [b"z" * 1000] * 50
    consumed = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        consumed += 1
        return {"type": "http.request", "body": chunks[consumed - 1],
                "more_body": consumed < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/api/documents", "raw_path": b"",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5),
             "server": ("127.0.0.1", 80), "headers": [
                 (b"content-length", b"10"), (b"x-api-key", KEY.encode()),
                 (b"content-type", b"multipart/form-data; boundary=b")]}
    with TestClient(app):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert consumed <= CAP // 1000 + 1


def test_chunked_upload_without_length_is_cut_off_early(app: FastAPI) -> None:
    """A real server: the 413 arrives while the client is still sending."""
    with running(app) as url:
        host, port = urlsplit(url).hostname, urlsplit(url).port
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"POST /api/documents HTTP/1.1\r\nHost: x\r\n"
                         + f"X-API-Key: {KEY}\r\n".encode()
                         + b"Content-Type: multipart/form-data; boundary=b\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")
            head = b"--b\r\nContent-Disposition: form-data; name=\"file\"; " \
                b"filename=\"a.txt\"\r\n\r\n"
            sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
            piece = b"w" * 1000
            answer = b""
            # Past the cap, but the body never ends. Sent in one piece: chunk by chunk, the
            # client would race the server's close and sometimes see a reset, not the 413.
            sock.sendall(b"".join(b"%x\r\n%s\r\n" % (len(piece), piece)
                                  for _ in range(CAP // 1000 + 3)))
            sock.settimeout(10)
            while b"\r\n\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_rate_limit_gives_429_with_retry_after(hash_settings: Settings) -> None:
    with TestClient(indexed_app(hash_settings.with_overrides(rate_limit=3))) as client:
        for _ in range(3):
            assert client.get("/api/search", params={"q": "kommun"}).status_code == 200
        limited = client.get("/api/documents")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["status"] == 429
        assert client.get("/api/health").status_code == 200  # liveness is never limited


def test_a_valid_key_has_its_own_bucket(hash_settings: Settings) -> None:
    settings = hash_settings.with_overrides(rate_limit=2, api_keys=KEY)
    with TestClient(indexed_app(settings)) as client:
        for _ in range(2):
            client.get("/api/documents")
        assert client.get("/api/documents").status_code == 429
        # A made-up key does not buy a fresh bucket; a valid one does.
        assert client.get("/api/documents", headers={"X-API-Key": "made-up"}).status_code == 429
        assert client.get("/api/documents", headers={"X-API-Key": KEY}).status_code == 200


@pytest.mark.parametrize("request_args", [
    ("GET", "/api/search", {"params": {"q": "x" * 1001}}),
    ("GET", "/api/search", {"params": {"q": "x", "k": 51}}),
    ("POST", "/api/search", {"json": {"q": "x", "k": 0}}),
    ("POST", "/api/search", {"json": {"q": "x", "filters": {"colour": "red"}}}),
    ("POST", "/api/ask", {"json": {"question": "x" * 1001}}),
    ("POST", "/api/ask", {"json": {"question": ""}}),
    ("POST", "/api/ask", {"json": {"question": "x", "history": [{"question": "y"}] * 21}}),
])
def test_caps_are_422(client: TestClient, request_args: tuple[str, str, dict[str, Any]]) -> None:
    method, path, kwargs = request_args
    response = client.request(method, path, **kwargs)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["status"] == 422 and error["message"] and error["details"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\"just a string\""])
def test_malformed_bodies_are_400(client: TestClient, content: bytes) -> None:
    for path in ("/api/search", "/api/ask"):
        response = client.post(path, content=content,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, content)
        assert response.json()["error"]["status"] == 400


def test_unknown_routes_and_methods_are_json(client: TestClient) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"status": 404,
                                        "message": "there is nothing at this address"}}
    wrong = client.put("/api/search")
    assert wrong.status_code == 405 and wrong.json()["error"]["status"] == 405


def test_unexpected_errors_are_500_without_a_traceback(app: FastAPI) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("secret internals at /srv/x.py line 3")

        client.app.state.engine.search = broken  # type: ignore[attr-defined]
        response = client.get("/api/search", params={"q": "x"})
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith("internal error")
    assert "Traceback" not in response.text and "secret" not in response.text


def test_security_headers_and_no_cors(client: TestClient) -> None:
    for path in ("/", "/search", "/upload", "/api/health", "/static/chat.js"):
        response = client.get(path, headers={"Origin": "https://elsewhere.example"})
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in response.headers
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert csp == PAGE_CSP
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "<script>" not in page.text
    preflight = client.options("/api/search", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_server_binds_loopback_by_default() -> None:
    assert Settings().host == "127.0.0.1"


def test_a_write_without_a_key_is_refused_before_its_body_is_read(
        client: TestClient) -> None:
    """The 401 comes from the headers alone: no byte of the body is asked for."""
    import asyncio

    asked: list[str] = []

    async def receive() -> dict[str, object]:
        asked.append("body")
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/documents", "raw_path": b"",
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "headers": [(b"content-type", b"multipart/form-data; boundary=x")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(client.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 401 and asked == []
