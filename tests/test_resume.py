"""A killed build resumes from the segments it completed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.config import Settings
from assistant.engine import Engine
from assistant.index import resume
from assistant.index.builder import build_index
from assistant.model.embed import HashEmbedder

NAMES = ["ansvar.md", "housing.html", "report.txt"]


class Dying(HashEmbedder):
    """The fake embedder, killed (as by Ctrl-C) at its `at`-th call; counts passages."""

    def __init__(self, at: int = 0) -> None:
        super().__init__()
        self.at, self.calls, self.embedded = at, 0, 0

    def passages(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        self.embedded += len(texts)
        return super().passages(texts)


@pytest.fixture
def killed(hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A first build killed while embedding the third document, after a checkpoint each."""
    monkeypatch.setattr(resume, "CHECKPOINT_CHUNKS", 1)
    with pytest.raises(KeyboardInterrupt):
        build_index(hash_settings, Dying(at=5))  # two calls per document
    assert (hash_settings.index_dir / resume.PROGRESS).exists()
    assert not list(hash_settings.index_dir.glob("commit-*.json"))  # nothing served yet
    return hash_settings


def test_a_killed_build_resumes_from_its_checkpoints(killed: Settings) -> None:
    embedder = Dying()
    report = build_index(killed, embedder)
    assert sorted(report.indexed) == NAMES and report.generation == "commit-000001"
    assert embedder.calls == 2  # only report.txt was embedded again
    assert not (killed.index_dir / resume.PROGRESS).exists()
    hits = Engine(killed, HashEmbedder()).search(["Försäkringskassan betalar"], k=3)[0]
    assert hits[0].chunk.doc == "ansvar.md"
    assert sorted(p.name for p in killed.index_dir.glob("seg-*")) == [
        "seg-000001", "seg-000002", "seg-000003"]
    again = build_index(killed, Dying())
    assert sorted(again.unchanged) == NAMES and again.generation == "commit-000001"


def test_a_file_changed_since_the_kill_is_embedded_again(killed: Settings) -> None:
    (killed.corpus_dir / "ansvar.md").write_text("# Ansvar\n\nKommunen ordnar skolplatser.\n",
                                                 encoding="utf-8")
    embedder = Dying()
    report = build_index(killed, embedder)
    assert sorted(report.indexed) == NAMES and embedder.calls == 4
    engine = Engine(killed, HashEmbedder())
    chunk = engine.reader.chunk_by_id("ansvar.md#0")
    assert chunk is not None and "Kommunen ordnar skolplatser." in chunk.text
    # the stale copy's segment held only it: merged away, no copy left on disk
    assert "seg-000001" not in {p.name for p in killed.index_dir.glob("seg-*")}


def test_other_build_settings_do_not_resume(killed: Settings) -> None:
    other = replace(killed, chunk_words=killed.chunk_words + 10)
    embedder = Dying()
    build_index(other, embedder)
    assert embedder.calls == 6
