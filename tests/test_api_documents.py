"""The catalog endpoints: list, show, serve the file, upload, remove; the fake embedder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.config import Settings

from .servers import indexed_app

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def app(hash_settings: Settings) -> FastAPI:
    return indexed_app(hash_settings.with_overrides(api_keys=KEY))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def wait_indexed(client: TestClient) -> None:
    assert client.app.state.library.wait_idle(60)  # type: ignore[attr-defined]


def upload(client: TestClient, name: str, data: bytes, media: str = "text/plain",
           headers: dict[str, str] | None = None, **form: str):  # type: ignore[no-untyped-def]
    return client.post("/api/documents", files={"file": (name, data, media)}, data=form,
                       headers=AUTH if headers is None else headers)


def test_one_document_and_its_file_are_found_without_listing_the_corpus(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.index import source

    listed = client.get("/api/documents").json()["documents"]
    wanted = {d["id"]: d for d in listed}

    def no_listing(corpus_dir: Path) -> None:
        raise AssertionError(f"{corpus_dir} was listed for one document")

    monkeypatch.setattr(source, "_listing", no_listing)
    for doc, shown in wanted.items():
        assert client.get(f"/api/documents/{doc}").json() == shown
        assert client.get(f"/api/documents/{doc}/file").status_code == 200
    assert client.get("/api/documents/never-there.md").status_code == 404
    assert client.get("/api/documents/never-there.md/file").status_code == 404


def test_catalog_lists_every_document_with_its_state(client: TestClient) -> None:
    documents = client.get("/api/documents").json()["documents"]
    assert [d["id"] for d in documents] == ["ansvar.md", "housing.html", "report.txt"]
    ansvar = documents[0]
    assert ansvar["title"] == "Ansvar för nyanlända"
    assert ansvar["status"] == "indexed" and ansvar["chunks"] >= 1
    assert ansvar["file"] == "/api/documents/ansvar.md/file"
    assert set(ansvar) >= {"id", "title", "publisher", "year", "type", "language", "pages",
                           "chunks", "status", "problems"}


def test_one_document_and_unknown_ones(client: TestClient) -> None:
    assert client.get("/api/documents/report.txt").json()["id"] == "report.txt"
    for doc in ("nope.txt", "..%2F..%2Fetc%2Fpasswd", "catalog.json"):
        response = client.get(f"/api/documents/{doc}")
        assert response.status_code == 404
        assert response.json()["error"]["status"] == 404
        assert client.get(f"/api/documents/{doc}/file").status_code == 404


def test_file_is_served_with_its_media_type(client: TestClient, tiny_corpus: Path) -> None:
    response = client.get("/api/documents/housing.html/file")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == (tiny_corpus / "housing.html").read_bytes()
    # Somebody else's HTML on this origin: sandboxed, no script, nothing fetched.
    assert "sandbox" in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert client.get("/api/documents/ansvar.md/file").headers["content-type"].startswith(
        "text/markdown")


def test_pdf_is_served_as_pdf(client: TestClient, tiny_corpus: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Etableringsersättning betalas av Försäkringskassan.")
    response = upload(client, "rapport.pdf", bytes(pdf.output()), "application/pdf")
    assert response.status_code == 202
    doc = response.json()["id"]
    wait_indexed(client)
    served = client.get(f"/api/documents/{doc}/file")
    assert served.headers["content-type"] == "application/pdf"
    assert served.content.startswith(b"%PDF-")
    indexed = client.get(f"/api/documents/{doc}").json()
    assert indexed["status"] == "indexed" and indexed["pages"] == 1


def test_upload_is_indexed_and_searchable(client: TestClient, tiny_corpus: Path) -> None:
    response = upload(client, "Riktlinjer tolk.md",
                      "# Tolkstöd\n\nHandläggaren bokar tolk via tolkförmedlingen.\n".encode(),
                      "text/markdown", year="2024", type="service", region="Kalmar")
    assert response.status_code == 202
    body = response.json()
    doc = body["id"]
    assert body["status"] == "queued" and response.headers["location"] == f"/api/documents/{doc}"
    assert doc.startswith("upload-") and doc.endswith(".md")
    wait_indexed(client)
    entry = client.get(f"/api/documents/{doc}").json()
    assert entry["status"] == "indexed" and entry["chunks"] == 1
    assert (entry["title"], entry["year"], entry["type"], entry["region"]) == \
        ("Riktlinjer tolk", 2024, "service", "Kalmar")
    assert entry["form"] == "uploaded as Riktlinjer tolk.md"
    hits = client.get("/api/search", params={"q": "tolkförmedlingen", "k": 1}).json()["hits"]
    assert hits[0]["doc"] == doc
    catalog = json.loads((tiny_corpus / "catalog.json").read_text(encoding="utf-8"))
    assert catalog["documents"][doc]["type"] == "service"


def test_upload_name_is_metadata_never_a_path(client: TestClient, tmp_path: Path,
                                               tiny_corpus: Path) -> None:
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    for name in ("../../x.txt", "..\\..\\x.txt", "/etc/passwd.txt", "sub/../../x.txt"):
        response = upload(client, name, b"Kommunen ansvarar for mottagandet.")
        assert response.status_code == 202, name
        doc = response.json()["id"]
        assert "/" not in doc and ".." not in doc
        assert (tiny_corpus / doc).is_file()
    wait_indexed(client)
    created = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    outside = [p for p in created
               if tiny_corpus not in p.parents and (tmp_path / "index") not in p.parents]
    assert outside == []
    titles = {d["title"] for d in client.get("/api/documents").json()["documents"]}
    assert {"x", "passwd"} <= titles


@pytest.mark.parametrize(("name", "data", "media"), [
    ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
    ("picture.png", b"\x89PNG\r\n", "image/png"),
    ("fake.pdf", b"not a pdf at all", "application/pdf"),
    ("binary.txt", b"abc\x00\x01\x02", "text/plain"),
])
def test_unsupported_uploads_are_415(client: TestClient, tiny_corpus: Path, name: str,
                                     data: bytes, media: str) -> None:
    response = upload(client, name, data, media)
    assert response.status_code == 415
    assert "PDF" in response.json()["error"]["message"]
    assert sorted(p.name for p in tiny_corpus.iterdir()) == \
        ["ansvar.md", "housing.html", "report.txt"]


def test_type_comes_from_the_media_type_when_the_name_has_none(client: TestClient) -> None:
    response = upload(client, "notes", b"Some plain notes about reception.", "text/plain")
    assert response.status_code == 202 and response.json()["id"].endswith(".txt")


def test_bad_uploads_are_400_or_422(client: TestClient) -> None:
    assert upload(client, "empty.txt", b"").status_code == 400
    missing = client.post("/api/documents", data={"title": "no file"}, headers=AUTH)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "body.file"
    assert upload(client, "a.txt", b"text", type="novel").status_code == 422
    assert upload(client, "a.txt", b"text", year="20x4").status_code == 422


def test_failed_indexing_is_visible(client: TestClient) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()  # a page with no text: the kind of scan the catalog must flag
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Second page text about the introduction programme.")
    doc = upload(client, "scan.pdf", bytes(pdf.output()), "application/pdf").json()["id"]
    wait_indexed(client)
    entry = client.get(f"/api/documents/{doc}").json()
    assert entry["status"] == "indexed"
    assert any("page 1" in p and "no text" in p for p in entry["problems"])
    broken = upload(client, "broken.pdf", b"%PDF-1.4 then nothing", "application/pdf")
    wait_indexed(client)
    entry = client.get(f"/api/documents/{broken.json()['id']}").json()
    assert entry["status"] == "failed" and entry["error"]


def test_delete_removes_from_every_leg(client: TestClient, tiny_corpus: Path) -> None:
    query = {"q": "Området boende utgick från överenskommelsen", "k": 10}
    assert "housing.html" in {h["doc"] for h in client.get("/api/search", params=query).json()
                              ["hits"]}
    response = client.delete("/api/documents/housing.html", headers={"X-API-Key": KEY})
    assert response.status_code == 202
    assert response.json() == {"id": "housing.html", "status": "removing"}
    assert not (tiny_corpus / "housing.html").exists()
    wait_indexed(client)
    hits = client.get("/api/search", params=query).json()["hits"]
    assert all(h["doc"] != "housing.html" for h in hits)
    assert all(h["ranks"] for h in hits)  # the other documents still come from the legs
    reader = client.app.state.engine.reader  # type: ignore[attr-defined]
    assert "housing.html" not in reader.docs
    assert "housing.html" not in reader.documents()
    assert reader.chunk_by_id("housing.html#0") is None
    assert client.get("/api/documents/housing.html").status_code == 404
    assert client.delete("/api/documents/housing.html", headers=AUTH).status_code == 404


def test_upload_then_delete_round_trip(client: TestClient) -> None:
    doc = upload(client, "temp.txt", b"Temporary text about language cafes.").json()["id"]
    wait_indexed(client)
    assert client.delete(f"/api/documents/{doc}", headers=AUTH).status_code == 202
    wait_indexed(client)
    assert doc not in {d["id"] for d in client.get("/api/documents").json()["documents"]}


def test_upload_into_an_empty_server_makes_it_ready(hash_settings: Settings,
                                                    tmp_path: Path) -> None:
    from assistant.api import create_app
    from assistant.engine import Engine
    from assistant.model.embed import HashEmbedder

    corpus = tmp_path / "empty-corpus"
    corpus.mkdir()
    settings = hash_settings.with_overrides(corpus_dir=corpus, index_dir=tmp_path / "new-index",
                                            api_keys=KEY)
    with TestClient(create_app(settings, Engine(settings, HashEmbedder()))) as client:
        assert client.get("/api/health").json()["ready"] is False
        assert client.get("/api/documents").json() == {"documents": []}
        assert upload(client, "first.txt", b"The first document of all.").status_code == 202
        wait_indexed(client)
        assert client.get("/api/health").json()["ready"] is True
        assert client.get("/api/search", params={"q": "first document"}).json()["hits"]
