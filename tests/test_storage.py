"""The storage seam: the FAISS + SQLite store implements the protocols, and nothing past the
index stage touches FAISS or SQLite."""

from __future__ import annotations

import ast
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.index.commits import FORMAT, commit_points, open_commit, segment_folders
from assistant.index.segment import STORE, held_documents
from assistant.index.storage import IndexStore, IndexWriter, StoredDocument
from assistant.index.store import SHIFT, SegmentStore, open_store
from assistant.index.writer import SegmentWriter
from assistant.model.embed import HashEmbedder
from assistant.types import DocInfo

from .memory_store import MemoryStore, make_chunk

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"


def _members(protocol: type) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")} | set(
        getattr(protocol, "__annotations__", {}))


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py")
                                        if p.relative_to(PACKAGE).parts[0] != "index"),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_index_stage_touches_faiss_or_sqlite(path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"faiss", "sqlite3"}


def _document(doc: str, language: str, texts: list[list[str]]) -> StoredDocument:
    embedder = HashEmbedder()
    chunks = tuple(make_chunk(doc, i, sentences) for i, sentences in enumerate(texts))
    return StoredDocument(
        DocInfo(doc, doc.upper(), language), f"sha-{doc}", 2, (f"page 2: {doc}",), chunks,
        embedder.passages([c.text for c in chunks]),
        embedder.passages([s for c in chunks for s in c.sentence_texts()]))


def _half(vectors: np.ndarray) -> np.ndarray:
    """Vectors as the store keeps them: float16."""
    return vectors.astype(np.float16).astype(np.float32)


A = _document("a.md", "sv", [["Kommunen ansvarar för bostad.", "Skolan börjar."],
                             ["Etableringsersättning betalas ut."]])
B = _document("b.md", "en", [["Language cafes meet on Mondays."]])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SegmentStore]:
    first = SegmentWriter(tmp_path, HashEmbedder().dim)
    first.add(A)
    first.commit({"build": {"model": "hash"}})
    previous = open_store(tmp_path)
    writer = SegmentWriter(tmp_path, HashEmbedder().dim, previous)
    writer.add(B)
    writer.keep("a.md")
    writer.commit({"build": {"model": "hash"}, "failed": {"c.pdf": "broken"}})
    previous.close()
    opened = open_store(tmp_path, "hash")
    yield opened
    opened.close()


def test_the_store_offers_every_protocol_member(store: SegmentStore) -> None:
    missing = {n for n in _members(IndexStore) if not hasattr(store, n)}
    assert not missing
    assert not {n for n in _members(IndexWriter) if not hasattr(SegmentWriter, n)}
    memory = MemoryStore({})
    assert not {n for n in _members(IndexStore) if not hasattr(memory, n)}


def test_written_and_kept_documents_read_back(store: SegmentStore) -> None:
    facts = store.documents()
    assert list(facts) == ["a.md", "b.md"]  # a.md stays in the first segment, b.md is new
    assert (facts["a.md"].chunks, facts["a.md"].sentences, facts["a.md"].pages) == (2, 3, 2)
    assert facts["a.md"].problems == ("page 2: a.md",) and facts["a.md"].fingerprint == "sha-a.md"
    assert store.size() == 3 and store.failed == {"c.pdf": "broken"} and store.model == "hash"
    kept = store.stored("a.md")
    assert kept.chunks == A.chunks
    assert np.array_equal(kept.sentence_vectors, _half(A.sentence_vectors))  # float16 codes
    rows = {store.chunk_row(c): c for c in A.chunks}
    assert store.chunks(rows) == rows and {store.row_doc(r) for r in rows} == {"a.md"}


def test_vector_search_restricted_to_documents(store: SegmentStore) -> None:
    vector = HashEmbedder().queries(["Language cafes meet"])[0]
    assert store.row_doc(store.search_chunks(vector, 5, None)[0][0]) == "b.md"
    only_a = store.search_chunks(vector, 5, ["a.md"])
    assert {store.row_doc(r) for r, _ in only_a} == {"a.md"} and len(only_a) == 2
    sentences = store.search_sentences(vector, 10, ["a.md"])
    assert len(sentences) == 3 and {store.row_doc(r) for r, _ in sentences} == {"a.md"}
    row = store.chunk_row(A.chunks[0])
    assert np.array_equal(store.sentence_vectors(row), _half(A.sentence_vectors[:2]))


@pytest.mark.parametrize(("words", "docs"), [
    (["kommun"], {"a.md"}),  # a prefix of "kommunen"
    (["ersattning"], {"a.md"}),  # a part of a compound
    (["cafes", "skolan"], {"a.md", "b.md"}),
    (["saknas"], set()),
    ([], set()),
])
def test_lexical_search(store: SegmentStore, words: list[str], docs: set[str]) -> None:
    found = store.lexical(words, 10, prefix_min=5)
    assert {store.row_doc(r) for r, _ in found} == docs
    if len(words) == 1:
        assert store.document_frequency(words[0], 5) == len(found)


def test_format_7_keeps_vectors_only_in_faiss(store: SegmentStore, tmp_path: Path) -> None:
    _, body = open_commit(tmp_path)
    assert body["format"] == FORMAT == 7
    for folder in segment_folders(tmp_path):
        db = sqlite3.connect(folder / STORE)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        columns = {c[1] for c in db.execute("PRAGMA table_info(chunks)")}
        db.close()
        assert "lexical" in tables and "ngrams" not in tables and "sentences" not in tables
        assert "vector" not in columns


def test_keeping_a_document_leaves_its_segment_untouched(store: SegmentStore,
                                                         tmp_path: Path) -> None:
    _, body = open_commit(tmp_path)
    assert [(s["name"], sorted(held_documents(tmp_path / s["name"])), s["deleted"])
            for s in body["segments"]] == [
        ("seg-000001", ["a.md"], []), ("seg-000002", ["b.md"], [])]
    assert {r >> SHIFT for r in (store.chunk_row(c) for c in A.chunks)} == {1}
    assert store.chunk_by_id("a.md#1") == A.chunks[1] and store.chunk_by_id("a.md#2") is None


def test_an_aborted_write_leaves_nothing(tmp_path: Path) -> None:
    writer = SegmentWriter(tmp_path, HashEmbedder().dim)
    writer.add(A)
    writer.abort()
    assert commit_points(tmp_path) == [] and list(tmp_path.glob("seg-*")) == []
