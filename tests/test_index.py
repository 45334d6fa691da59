"""Index builds: generations, incremental reuse, removal, failures, verification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embed import HashEmbedder
from assistant.engine import Engine
from assistant.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from assistant.indexer import build_index
from assistant.store import CURRENT, STORE, current_generation, generations, open_generation


class CountingEmbedder(HashEmbedder):
    """The fake embedder, counting how many passages it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def passages(self, texts):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return super().passages(texts)


def test_build_then_search(hash_settings: Settings) -> None:
    report = build_index(hash_settings, HashEmbedder())
    assert sorted(report.indexed) == ["ansvar.md", "housing.html", "report.txt"]
    assert report.failed == {}
    assert report.generation == "gen-000001"
    hits = Engine(hash_settings, HashEmbedder()).search(["Försäkringskassan betalar"], k=3)[0]
    assert hits[0].chunk.doc == "ansvar.md"
    assert hits[0].chunk.section == ("Ansvar för nyanlända", "Försäkringskassan")
    assert any("betalar ut etableringsersättningen" in h for h in hits[0].highlights)


def test_incremental_reuses_unchanged_files(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    embedder = CountingEmbedder()
    report = build_index(hash_settings, embedder)
    assert sorted(report.unchanged) == ["ansvar.md", "housing.html", "report.txt"]
    assert embedder.embedded == 0
    assert report.generation == "gen-000001"  # nothing changed: no new generation

    (hash_settings.corpus_dir / "report.txt").write_text("New text about parking permits.\n",
                                                         encoding="utf-8")
    report = build_index(hash_settings, embedder)
    assert report.indexed == ["report.txt"]
    assert sorted(report.unchanged) == ["ansvar.md", "housing.html"]
    assert 0 < embedder.embedded <= 3
    assert report.generation == "gen-000002"


def test_removed_file_disappears(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "housing.html").unlink()
    report = build_index(hash_settings, HashEmbedder())
    assert report.removed == ["housing.html"]
    hits = Engine(hash_settings, HashEmbedder()).search(["boende utgick"], k=10)[0]
    assert all(h.chunk.doc != "housing.html" for h in hits)


def test_broken_file_is_reported_and_others_indexed(hash_settings: Settings) -> None:
    (hash_settings.corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (hash_settings.corpus_dir / "notes.docx").write_bytes(b"PK\x03\x04")
    report = build_index(hash_settings, HashEmbedder())
    assert set(report.failed) == {"broken.pdf", "notes.docx"}
    assert "unsupported file type .docx" in report.failed["notes.docx"]
    assert len(report.indexed) == 3


def test_generations_are_kept_two_deep(hash_settings: Settings) -> None:
    path = hash_settings.corpus_dir / "report.txt"
    for i in range(4):
        path.write_text(f"Report number {i}.\n", encoding="utf-8")
        build_index(hash_settings, HashEmbedder())
    names = [g.name for g in generations(hash_settings.index_dir)]
    assert names == ["gen-000003", "gen-000004"]
    assert current_generation(hash_settings.index_dir).name == "gen-000004"


def test_corrupt_current_falls_back_then_fails_clearly(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "report.txt").write_text("Changed.\n", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    newest = current_generation(hash_settings.index_dir)
    store = newest / STORE
    store.write_bytes(store.read_bytes()[:100])  # truncate
    generation, _ = open_generation(hash_settings.index_dir)
    assert generation.name == "gen-000001"
    older = hash_settings.index_dir / "gen-000001" / STORE
    older.write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="assistant index"):
        open_generation(hash_settings.index_dir)


def test_missing_index_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="assistant index"):
        open_generation(tmp_path / "nothing")


def test_model_mismatch_names_the_command(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    other = hash_settings.with_overrides(model="some/other-model")
    with pytest.raises(IndexMismatchError, match="assistant index"):
        Engine(other, HashEmbedder()).search(["x"])


def test_manifest_describes_the_build(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    generation = current_generation(hash_settings.index_dir)
    manifest = json.loads((generation / "manifest.json").read_text())
    assert manifest["build"]["model"] == "hash"
    assert set(manifest["files"]) == {"store.sqlite", "chunks.faiss", "sentences.faiss"}
    assert (hash_settings.index_dir / CURRENT).read_text().strip() == generation.name
