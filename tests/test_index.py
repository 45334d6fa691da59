"""Index builds: commits and segments, incremental reuse, removal, failures, verification."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.engine import Engine
from assistant.errors import (
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from assistant.index.builder import build_index, remove_document
from assistant.index.commits import (
    commit_points,
    open_commit,
    read_commit,
    segment_folders,
)
from assistant.index.embedding import main_title, sentence_text
from assistant.index.segment import FILES, STORE
from assistant.index.store import open_store
from assistant.model.embed import HashEmbedder
from assistant.types import Chunk, DocInfo, Sentence


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
    assert report.generation == "commit-000001"
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
    assert report.generation == "commit-000001"  # nothing changed: no new commit

    (hash_settings.corpus_dir / "report.txt").write_text("New text about parking permits.\n",
                                                         encoding="utf-8")
    report = build_index(hash_settings, embedder)
    assert report.indexed == ["report.txt"]
    assert sorted(report.unchanged) == ["ansvar.md", "housing.html"]
    assert 0 < embedder.embedded <= 3
    assert report.generation == "commit-000002"


def test_removed_file_disappears(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "housing.html").unlink()
    report = build_index(hash_settings, HashEmbedder())
    assert report.removed == ["housing.html"]
    hits = Engine(hash_settings, HashEmbedder()).search(["boende utgick"], k=10)[0]
    assert all(h.chunk.doc != "housing.html" for h in hits)


def test_a_targeted_build_looks_at_the_named_files_only(hash_settings: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.index import source

    corpus = hash_settings.corpus_dir
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    build_index(hash_settings, HashEmbedder())
    (corpus / "new.md").write_text("# Ny\n\nEtt nytt dokument om mottagande.\n",
                                   encoding="utf-8")
    (corpus / "report.txt").write_text("Changed by other means.\n", encoding="utf-8")
    (corpus.parent / "outside.md").write_text("# Ute\n\nUtanför korpusen.\n", encoding="utf-8")

    def no_listing(corpus_dir: Path) -> None:
        raise AssertionError(f"{corpus_dir} was listed")

    monkeypatch.setattr(source, "_listing", no_listing)
    named = ["new.md", "../outside.md", "never-there.md", "catalog.json"]
    report = build_index(hash_settings, HashEmbedder(), only=named)
    assert report.indexed == ["new.md"] and report.removed == []
    assert sorted(report.unchanged) == ["ansvar.md", "housing.html", "report.txt"]
    assert list(report.failed) == ["broken.pdf"]  # not retried, still reported
    hits = Engine(hash_settings, HashEmbedder()).search(["nytt dokument mottagande"], k=10)[0]
    assert "new.md" in {h.chunk.doc for h in hits}

    (corpus / "new.md").unlink()
    report = build_index(hash_settings, HashEmbedder(), only=["new.md"])
    assert report.removed == ["new.md"] and report.indexed == []
    with sqlite3.connect(hash_settings.index_dir / "file-stats.sqlite") as db:
        remembered = sorted(name for (name,) in db.execute("SELECT name FROM files"))
    assert remembered == ["ansvar.md", "broken.pdf", "housing.html", "report.txt"]

    monkeypatch.undo()  # a full build sees what changed by other means
    assert build_index(hash_settings, HashEmbedder()).indexed == ["report.txt"]


# Adds, a replacement and removals, one file a build: (name, new text or None to remove).
CHANGES = [("new.md", "# Ny\n\nEtt nytt dokument om mottagande i kommunen.\n"),
           ("report.txt", "Changed text about parking permits and housing.\n"),
           ("new.md", None), ("ansvar.md", None)]


def _change(corpus: Path, name: str, text: str | None) -> None:
    if text is None:
        (corpus / name).unlink()
    else:
        (corpus / name).write_text(text, encoding="utf-8")


@contextmanager
def _table_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the segments whose whole document table is read inside."""
    from assistant.index import segment

    real_table = segment.Segment._table
    read: list[str] = []

    def recorded(self: segment.Segment) -> object:
        read.append(self.name)
        return real_table.fget(self)  # type: ignore[attr-defined]

    with monkeypatch.context() as patched:
        patched.setattr(segment.Segment, "_table", property(recorded))
        yield read


def _served_segments(settings: Settings) -> set[str]:
    return {s["name"] for s in open_store(settings.index_dir).commit["segments"]}


def test_targeted_builds_read_no_document_table_and_agree_with_full_builds(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_view() -> tuple[list[str], int, int]:
        """What a full build that changes nothing reports: unchanged, chunks, sentences."""
        report = build_index(hash_settings, HashEmbedder())
        assert not report.indexed and not report.removed
        return sorted(report.unchanged), report.chunks, report.sentences

    build_index(hash_settings, HashEmbedder())
    for name, text in CHANGES:
        _change(hash_settings.corpus_dir, name, text)
        with _table_reads(monkeypatch) as read:
            report = build_index(hash_settings, HashEmbedder(), only=[name])
        assert (report.indexed, report.removed) == (([name], []) if text else ([], [name]))
        # only a merge reads a segment's documents, and the merged segments are gone
        assert not set(read) & _served_segments(hash_settings)
        targeted = sorted(report.unchanged), report.chunks, report.sentences
        assert targeted[0] == sorted(set(full_view()[0]) - {name})
        assert targeted[1:] == full_view()[1:]
        assert open_store(hash_settings.index_dir).size() == report.chunks  # no row twice
    served = open_store(hash_settings.index_dir)
    assert sorted(served.docs) == ["housing.html", "report.txt"]
    with sqlite3.connect(hash_settings.index_dir / "file-stats.sqlite") as db:
        assert sorted(n for (n,) in db.execute("SELECT name FROM files")) == sorted(served.docs)
    stored = [(p.name, (p / STORE).read_bytes()) for p in hash_settings.index_dir.glob("seg-*")]
    assert stored and all(b"mottagande i kommunen" not in data for _, data in stored)


def test_full_builds_read_only_fingerprints_and_agree_with_a_fresh_build(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(hash_settings, HashEmbedder())
    for step, (name, text) in enumerate([*CHANGES, ("broken.pdf", "%PDF-1.4 not a pdf")]):
        _change(hash_settings.corpus_dir, name, text)
        with _table_reads(monkeypatch) as read:
            report = build_index(hash_settings, HashEmbedder())
        assert not set(read) & _served_segments(hash_settings)
        fresh_settings = replace(hash_settings,
                                 index_dir=hash_settings.index_dir.parent / f"fresh-{step}")
        fresh = build_index(fresh_settings, HashEmbedder())
        assert sorted(report.unchanged + report.indexed) == sorted(fresh.indexed)
        assert (report.chunks, report.sentences, report.failed) == (
            fresh.chunks, fresh.sentences, fresh.failed)
        served = open_store(hash_settings.index_dir)
        assert served.size() == report.chunks  # no row twice
        assert sorted(served.docs) == sorted(open_store(fresh_settings.index_dir).docs)
    assert report.indexed == [] and list(report.failed) == ["broken.pdf"]
    assert sorted(served.docs) == ["housing.html", "report.txt"]


def test_broken_file_is_reported_and_others_indexed(hash_settings: Settings) -> None:
    (hash_settings.corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (hash_settings.corpus_dir / "notes.docx").write_bytes(b"PK\x03\x04")
    report = build_index(hash_settings, HashEmbedder())
    assert set(report.failed) == {"broken.pdf", "notes.docx"}
    assert "unsupported file type .docx" in report.failed["notes.docx"]
    assert len(report.indexed) == 3


def _names(paths: list[Path]) -> list[str]:
    return [p.name.removesuffix(".json") for p in paths]


def test_commits_are_kept_two_deep(hash_settings: Settings) -> None:
    path = hash_settings.corpus_dir / "report.txt"
    for i in range(4):
        path.write_text(f"Report number {i}.\n", encoding="utf-8")
        build_index(hash_settings, HashEmbedder())
    assert _names(commit_points(hash_settings.index_dir)) == ["commit-000003", "commit-000004"]
    assert open_commit(hash_settings.index_dir)[0].name == "commit-000004.json"
    listed = {s["name"] for p in commit_points(hash_settings.index_dir)
              for s in read_commit(p)["segments"]}
    assert _names(segment_folders(hash_settings.index_dir)) == sorted(listed)


def test_corrupt_current_falls_back_then_fails_clearly(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "report.txt").write_text("Changed.\n", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    store = hash_settings.index_dir / "seg-000003" / STORE  # report.txt's new segment
    store.write_bytes(store.read_bytes()[:100])  # truncate
    path, _ = open_commit(hash_settings.index_dir)
    assert path.name == "commit-000001.json"
    older = hash_settings.index_dir / "seg-000001" / STORE
    older.write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="assistant index"):
        open_commit(hash_settings.index_dir)


def test_missing_index_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="assistant index"):
        open_commit(tmp_path / "nothing")


def test_model_mismatch_names_the_command(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    other = hash_settings.with_overrides(model="some/other-model")
    with pytest.raises(IndexMismatchError, match="assistant index"):
        Engine(other, HashEmbedder()).search(["x"])


def test_int8_index_is_not_served_by_the_fp32_encoder(
    hash_settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # int8 vectors differ from fp32 ones (cosine about 0.995): a build records int8, and a
    # server whose settings load another encoder refuses the index instead of mixing them
    import assistant.index.builder as builder

    monkeypatch.setattr(builder, "encoder_mark", lambda settings: {"encoder": "onnx-int8"})
    build_index(hash_settings, HashEmbedder())
    monkeypatch.undo()
    with pytest.raises(IndexMismatchError, match="ASSISTANT_ENCODER=onnx-int8"):
        Engine(hash_settings, HashEmbedder()).search(["x"])


def test_commit_point_describes_the_build(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    path, body = open_commit(hash_settings.index_dir)
    assert body["build"]["model"] == "hash" and body["commit"] == path.stem
    assert [set(s["files"]) for s in body["segments"]] == [set(FILES)] * 2  # sv, en
    # the segments list their documents; the commit point names none, so it stays small
    assert "documents" not in body and all("docs" not in s for s in body["segments"])
    assert "ansvar.md" not in path.read_text(encoding="utf-8")
    assert sorted(open_store(hash_settings.index_dir).documents()) == [
        "ansvar.md", "housing.html", "report.txt"]


# --- retention and removal ----------------------------------------------------------------------


def _docs_on_disk(index_dir: Path) -> set[str]:
    """Every document named in any commit point or segment store in the index folder."""
    import sqlite3

    names: set[str] = set()
    for path in commit_points(index_dir):  # a commit names documents in tombstones, failures
        body = read_commit(path)
        names |= {d for s in body["segments"] for d in s["deleted"]} | set(body["failed"])
    for folder in segment_folders(index_dir):
        db = sqlite3.connect(folder / STORE)
        names |= {doc for (doc,) in db.execute("SELECT DISTINCT doc FROM chunks")}
        names |= {doc for (doc,) in db.execute("SELECT doc FROM documents")}
        db.close()
    return names


def _write_catalog(settings: Settings, entries: dict[str, dict[str, str]]) -> None:
    (settings.corpus_dir / "catalog.json").write_text(json.dumps({"documents": entries}),
                                                       encoding="utf-8")


def test_remove_document_leaves_no_copy_in_any_generation(hash_settings: Settings) -> None:
    _write_catalog(hash_settings, {"housing.html": {"title": "Boende"},
                                   "report.txt": {"title": "Report"}})
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "report.txt").write_text("A second version.\n", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    assert len(commit_points(hash_settings.index_dir)) == 2  # the fallback is kept
    embedder = CountingEmbedder()

    report = remove_document(hash_settings, "housing.html", embedder)

    assert report.removed == ["housing.html"]
    assert embedder.embedded == 0  # the others reuse their vectors
    assert not (hash_settings.corpus_dir / "housing.html").exists()
    catalog = json.loads((hash_settings.corpus_dir / "catalog.json").read_text())
    assert catalog["documents"] == {"report.txt": {"title": "Report"}}
    assert _names(commit_points(hash_settings.index_dir)) == [report.generation]
    assert {"commit-000001", "commit-000002", "seg-000001"} <= set(report.pruned)
    assert _docs_on_disk(hash_settings.index_dir) == {"ansvar.md", "report.txt"}


def test_remove_document_loads_no_model_when_none_is_needed(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    report = remove_document(hash_settings, "report.txt")  # the lazy embedder stays unloaded
    assert report.removed == ["report.txt"]
    assert _docs_on_disk(hash_settings.index_dir) == {"ansvar.md", "housing.html"}


@pytest.mark.parametrize("name", ["missing.txt", "../corpus/report.txt", "/etc/passwd", ""])
def test_remove_unknown_document(hash_settings: Settings, name: str) -> None:
    build_index(hash_settings, HashEmbedder())
    with pytest.raises(DocumentNotFoundError, match="no document"):
        remove_document(hash_settings, name, HashEmbedder())
    assert (hash_settings.corpus_dir / "report.txt").exists()


def test_removing_a_failed_document_rewrites_the_failures(hash_settings: Settings) -> None:
    (hash_settings.corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    first = build_index(hash_settings, HashEmbedder())
    assert "broken.pdf" in first.failed
    report = remove_document(hash_settings, "broken.pdf", HashEmbedder())
    assert report.generation != first.generation
    _, body = open_commit(hash_settings.index_dir)
    assert body["failed"] == {}
    assert _names(commit_points(hash_settings.index_dir)) == [report.generation]


def test_a_deleted_file_takes_the_fallback_commit_with_it(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "report.txt").unlink()
    report = build_index(hash_settings, HashEmbedder())
    assert report.removed == ["report.txt"]
    assert _names(commit_points(hash_settings.index_dir)) == ["commit-000002"]
    assert _docs_on_disk(hash_settings.index_dir) == {"ansvar.md", "housing.html"}


def test_fallback_is_the_newest_older_commit_that_checks(hash_settings: Settings) -> None:
    path = hash_settings.corpus_dir / "report.txt"
    for i in range(2):
        path.write_text(f"Report number {i}.\n", encoding="utf-8")
        build_index(hash_settings, HashEmbedder())
    damaged = hash_settings.index_dir / "seg-000003" / STORE  # only commit-000002's
    damaged.write_bytes(damaged.read_bytes()[:100])
    path.write_text("Report number 2.\n", encoding="utf-8")
    report = build_index(hash_settings, HashEmbedder())  # over commit-000001, the last good one
    assert report.generation == "commit-000003"
    assert _names(commit_points(hash_settings.index_dir)) == ["commit-000001", "commit-000003"]


def test_leftovers_of_interrupted_builds_are_cleared(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.index_dir / "seg-000007.old").mkdir()  # a removal cut short
    (hash_settings.index_dir / "seg-000008.tmp").mkdir()  # a write cut short
    (hash_settings.index_dir / "seg-000009").mkdir()  # written by a build killed before commit
    (hash_settings.index_dir / "commit-000002.json.tmp").write_text("{")
    (hash_settings.corpus_dir / "report.txt").write_text("Changed.\n", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    names = sorted(p.name for p in hash_settings.index_dir.iterdir())
    assert names == ["LOCK", "commit-000001.json", "commit-000003.json", "file-stats.sqlite",
                     "seg-000001", "seg-000002", "seg-000010"]


@pytest.mark.parametrize("change", ["edited", "escaping"])
def test_a_tampered_commit_point_falls_back(hash_settings: Settings, change: str) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "report.txt").write_text("Changed.\n", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    newest = hash_settings.index_dir / "commit-000002.json"
    body = json.loads(newest.read_text())
    if change == "edited":  # its own checksum no longer matches
        body["segments"][0]["chunks"] += 1
    else:  # a segment outside the folder, checksum recomputed: the name is refused anyway
        from assistant.index.commits import _checksum

        body["segments"][0]["name"] = "../../etc"
        body["checksum"] = _checksum(body)
    newest.write_text(json.dumps(body))
    path, _ = open_commit(hash_settings.index_dir)
    assert path.name == "commit-000001.json"


def test_concurrent_builds_take_turns(hash_settings: Settings) -> None:
    import threading

    errors: list[BaseException] = []

    def build() -> None:
        try:
            build_index(hash_settings, HashEmbedder())
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _names(commit_points(hash_settings.index_dir)) == ["commit-000001"]


@pytest.mark.parametrize(("title", "main"), [
    ("Strategisk överenskommelse i Kronoberg – Rapport om resultat 2019–2024",
     "Strategisk överenskommelse i Kronoberg"),
    ("Integration: a report", "Integration"),
    ("Integrationsstrategi Blekinge 2023–2026", "Integrationsstrategi Blekinge 2023–2026"),
    ("Arbetsmarknad/kompetens - del 2", "Arbetsmarknad/kompetens"),
])
def test_main_title(title: str, main: str) -> None:
    assert main_title(title) == main


def test_sentence_text_has_context_list_lead_and_spelled_out_abbreviation() -> None:
    text = "Delmål: SÖK:en löper ut."
    chunk = Chunk("r.md#0", "r.md", 0, ("Hälsa",), 1, 1, 0, len(text), text,
                  (Sentence(0, 7, 1, ("Hälsa",)),
                   Sentence(8, len(text), 1, ("Hälsa",), lead="Delmål:")),
                  abbreviations=(("SÖK", "strategiska överenskommelse"),))
    info = DocInfo("r.md", "Överenskommelsen – Rapport", "sv")
    assert sentence_text(info, chunk, 0) == "Överenskommelsen › Hälsa: Delmål:"
    assert sentence_text(info, chunk, 1) == (
        "Överenskommelsen › Hälsa: Delmål: SÖK:en (strategiska överenskommelse) löper ut.")


def test_abbreviations_and_list_leads_are_stored_and_searchable(hash_settings: Settings
                                                                ) -> None:
    (hash_settings.corpus_dir / "sok.md").write_text(
        "# Rapport\n\nLänets strategiska överenskommelse (SÖK) gäller för länet.\n\n"
        "## Framåtblick\n\nArbetet har två delar:\n\n- Uppföljning av resultat.\n"
        "- Nya rekommendationer.\n\n"
        + "Fler ord om arbetet i länet. " * 20 + "\n\nSÖK:en löper ut vid årsskiftet.\n",
        encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    engine = Engine(hash_settings, HashEmbedder())
    chunks = engine.reader.stored("sok.md").chunks
    expiry = next(c for c in chunks if "löper ut" in c.text)
    assert expiry.abbreviations == (("SÖK", "strategiska överenskommelse"),)
    items = [s for c in chunks for s in c.sentences if s.lead]
    assert {s.lead for s in items} == {"Arbetet har två delar:"} and len(items) >= 2
    # The passage that writes only "SÖK:en" is found by the long form's words.
    hits = engine.search(["strategiska överenskommelse löper ut"], k=5)[0]
    assert "lexical" in next(h for h in hits if h.chunk.id == expiry.id).ranks
