"""Segments: an update writes only what it adds, tombstones hide replaced rows, merges keep
the segment count small and drop tombstoned rows, a removal rewrites every segment that held
the document, and `--verify` re-hashes what opening only sizes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index, remove_document
from assistant.index.commits import open_commit, segment_folders, segment_number
from assistant.index.segment import STORE
from assistant.index.store import open_store
from assistant.index.writer import MERGE_AT, SEGMENT_CHUNKS, merge_plan
from assistant.model.embed import HashEmbedder


def _segments(settings: Settings) -> list[dict]:  # type: ignore[type-arg]
    return list(open_commit(settings.index_dir)[1]["segments"])


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _held(folder: Path) -> set[str]:
    db = sqlite3.connect(folder / STORE)
    try:
        return {doc for (doc,) in db.execute("SELECT doc FROM chunks")}
    finally:
        db.close()


def test_adding_a_document_writes_one_small_segment(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    first = hash_settings.index_dir / "seg-000001"
    before = _stamps(first)
    (hash_settings.corpus_dir / "new.md").write_text(
        "# Ny\n\nSpråkcaféet på biblioteket är öppet för alla som vill öva svenska.\n",
        encoding="utf-8")
    report = build_index(hash_settings, HashEmbedder())
    assert report.indexed == ["new.md"] and report.generation == "commit-000002"
    assert [(s["name"], sorted(_held(hash_settings.index_dir / s["name"])), s["languages"],
             s["deleted"]) for s in _segments(hash_settings)] == [
        ("seg-000001", ["ansvar.md", "housing.html"], ["sv"], []),  # one per language
        ("seg-000002", ["report.txt"], ["en"], []),
        ("seg-000003", ["new.md"], ["sv"], [])]
    assert _stamps(first) == before  # not rewritten, not copied


def test_a_replaced_document_is_a_tombstone(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "housing.html").write_text(
        "<html><body><p>Parkeringstillstånd för boende.</p></body></html>", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    swedish, _, changed = _segments(hash_settings)
    assert swedish["deleted"] == ["housing.html"]
    assert _held(hash_settings.index_dir / changed["name"]) == {"housing.html"}
    store = open_store(hash_settings.index_dir)
    try:
        facts = store.documents()
        assert store.size() == sum(f.chunks for f in facts.values())
        vector = HashEmbedder().queries(["boende"])[0]
        rows = [r for r, _ in store.search_chunks(vector, 100, None)]
        assert len(rows) == store.size()
        assert ([store.row_doc(r) for r in rows].count("housing.html")
                == facts["housing.html"].chunks)
        assert store.document_frequency("parkeringstillstand", 5) == 1
        assert all(store.chunks([r])[r].text.startswith("Parkering")
                   for r, _ in store.lexical(["parkeringstillstand", "boende"], 10, 5)
                   if store.row_doc(r) == "housing.html")
    finally:
        store.close()


def test_merges_keep_the_segment_count_small(hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    for i in range(3 * MERGE_AT):
        (hash_settings.corpus_dir / f"note-{i}.md").write_text(
            f"# Not {i}\n\nAnteckning nummer {i} om mottagande.\n", encoding="utf-8")
        build_index(hash_settings, HashEmbedder())
        assert len(_segments(hash_settings)) <= 2 * MERGE_AT
    segments = _segments(hash_settings)
    assert len(segments) < MERGE_AT + 2
    assert all(not s["deleted"] for s in segments)
    hits = Engine(hash_settings, HashEmbedder()).search(["anteckning nummer 7"], k=20)[0]
    assert "note-7.md" in {h.chunk.doc for h in hits}


def test_a_merge_seals_its_segments_at_the_segment_size(hash_settings: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.index import writer

    monkeypatch.setattr(writer, "SEGMENT_CHUNKS", 3)
    build_index(hash_settings, HashEmbedder())
    for i in range(2 * MERGE_AT):
        (hash_settings.corpus_dir / f"note-{i}.md").write_text(
            f"# Not {i}\n\nAnteckning nummer {i} om mottagande.\n", encoding="utf-8")
        build_index(hash_settings, HashEmbedder())
    store = open_store(hash_settings.index_dir)
    try:
        segments = list(store.segments.values())
        merged = [s for s in segments if sum(d.startswith("note-") for d in s.docs) > 1]
        assert len(merged) > 1  # a tier merged, into more than one segment
        for s in segments:  # sealed once the limit is reached: only the last one passes it
            lo, hi, _, _ = s.doc_rows[list(s.docs)[-1]]
            assert s.size(sentences=False) - (hi - lo) < 3
    finally:
        store.close()
    hits = Engine(hash_settings, HashEmbedder()).search(["anteckning nummer 7"], k=20)[0]
    assert "note-7.md" in {h.chunk.doc for h in hits}


def test_removal_rewrites_every_segment_that_held_the_document(hash_settings: Settings
                                                                ) -> None:
    build_index(hash_settings, HashEmbedder())
    (hash_settings.corpus_dir / "report.txt").write_text("Second version.\n", encoding="utf-8")
    build_index(hash_settings, HashEmbedder())  # version 1 stays, tombstoned, in seg-000002
    assert "report.txt" in _held(hash_settings.index_dir / "seg-000002")
    remove_document(hash_settings, "report.txt", HashEmbedder())
    assert all("report.txt" not in _held(f) for f in segment_folders(hash_settings.index_dir))
    assert all("report.txt" not in s["deleted"] for s in _segments(hash_settings))


@pytest.mark.parametrize(("sizes", "deleted", "removed", "chosen"), [
    ([10_000, 5, 5, 5, 5], [], set(), []),  # four small ones: not yet
    ([10_000, 5, 5, 5, 5, 5], [], set(), ["s1", "s2", "s3", "s4", "s5"]),  # a tier of five
    ([1000, 5, 5, 5, 5], [], set(), ["s0", "s1", "s2", "s3", "s4"]),  # under the floor: a tier
    ([2000, 5, 5, 5], [], set(), []),  # four at the floor: not yet
    ([999, 1000, 9999, 5, 1], [], set(), ["s0", "s1", "s2", "s3", "s4"]),  # one tier, exactly
    ([1000, 40], [("s1", 30)], set(), ["s1"]),  # more than half tombstoned
    ([1000, 40], [], {"s0"}, ["s0"]),  # holds a removed document: rewritten, however large
    ([SEGMENT_CHUNKS] * 6, [], set(), []),  # full segments are not merged further
])
def test_merge_plan(sizes: list[int], deleted: list[tuple[str, int]], removed: set[str],
                    chosen: list[str]) -> None:
    # a removed document is a tombstone of its segment that the new commit does not allow
    segments = [{"name": f"s{i}", "deleted": [f"d{i}"] if f"s{i}" in removed else [],
                 "chunks": n} for i, n in enumerate(sizes)]
    live = {s["name"]: s["chunks"] for s in segments}
    live.update({name: live[name] - n for name, n in deleted})
    allowed = {f"d{i}" for i in range(len(sizes))} - {f"d{s[1:]}" for s in removed}
    assert merge_plan(segments, live, allowed) == chosen


def test_verify_rehashes_what_opening_only_sizes(hash_settings: Settings,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    build_index(hash_settings, HashEmbedder())
    monkeypatch.setenv("ASSISTANT_MODEL", "hash")
    args = ["index", "--verify", "--index", str(hash_settings.index_dir)]
    assert main(args) == 0
    assert "2 segments, 8 files match" in capsys.readouterr().out
    vectors = hash_settings.index_dir / "seg-000001" / "chunks.faiss"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF  # same size: opening does not notice
    vectors.write_bytes(bytes(data))
    open_store(hash_settings.index_dir).close()
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "chunks.faiss does not match its checksum" in error and "assistant index" in error


def test_opening_hashes_nothing(hash_settings: Settings, monkeypatch: pytest.MonkeyPatch
                                ) -> None:
    from assistant.index import commits

    build_index(hash_settings, HashEmbedder())

    def refuse(path: Path) -> str:
        raise AssertionError(f"{path} hashed on open")

    monkeypatch.setattr(commits, "file_sha256", refuse)
    store = open_store(hash_settings.index_dir)
    assert store.size() > 0
    store.close()


def test_an_older_format_asks_for_a_rebuild_and_goes_with_it(hash_settings: Settings) -> None:
    from assistant.errors import IndexCorruptError

    old = hash_settings.index_dir / "gen-000003"
    old.mkdir(parents=True)
    (old / "store.sqlite").write_bytes(b"a format 5 store with a removed document's text")
    (hash_settings.index_dir / "CURRENT").write_text("gen-000003\n")
    with pytest.raises(IndexCorruptError, match="older format.*assistant index"):
        open_store(hash_settings.index_dir)
    report = build_index(hash_settings, HashEmbedder())
    assert {"gen-000003", "CURRENT"} <= set(report.pruned)
    assert sorted(p.name for p in hash_settings.index_dir.iterdir()) == [
        "LOCK", "commit-000001.json", "file-stats.sqlite", "seg-000001", "seg-000002"]


def test_merge_plan_keeps_languages_apart() -> None:
    languages = ["sv", "sv", "sv", "en", "en", "sv", "sv", None]  # None: written before the split
    segments = [{"name": f"s{i}", "deleted": [], "chunks": 5}
                | ({"languages": [lang]} if lang else {}) for i, lang in enumerate(languages)]
    live = {s["name"]: 5 for s in segments}
    allowed = {f"d{i}" for i in range(len(segments))}
    assert merge_plan(segments, live, allowed) == ["s0", "s1", "s2", "s5", "s6"]


def test_a_language_is_searched_in_its_own_segments_without_a_selector(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.index import store as store_module

    build_index(hash_settings, HashEmbedder())
    searched: list[tuple[int, object]] = []

    def recording(index, query, k, selector=None, selected=0):  # type: ignore[no-untyped-def]
        searched.append((int(index.ntotal), selector))
        return real(index, query, k, selector, selected)

    real = store_module.search
    monkeypatch.setattr(store_module, "search", recording)
    store = open_store(hash_settings.index_dir)
    try:
        english = tuple(d for d, info in store.docs.items() if info.language == "en")
        vector = HashEmbedder().queries(["annual report"])[0]
        hits = store.search_sentences(vector, 50, english)
        assert english == ("report.txt",) and {store.row_doc(r) for r, _ in hits} == set(english)
        assert searched == [(store.segments[2].size(True), None)]  # seg-000002 only, whole
    finally:
        store.close()


def test_a_merge_copies_the_lexical_rows_a_build_writes(hash_settings: Settings) -> None:
    from assistant.index.segment import lexical_text
    from assistant.lang.compounds import compound_terms

    build_index(hash_settings, HashEmbedder())
    for i in range(MERGE_AT):  # the fifth small Swedish segment merges the tier
        long = " ".join(f"Språkcaféet i kommunhuset har öppet tisdag {n}." for n in range(30))
        (hash_settings.corpus_dir / f"note-{i}.md").write_text(  # two chunks or more
            f"# Not {i}\n\n{long}\n\nFrågor om samhällsorientering besvaras av "
            f"integrationssamordnaren, vecka {i}.\n", encoding="utf-8")
        build_index(hash_settings, HashEmbedder())
    store = open_store(hash_settings.index_dir)
    try:
        merged = [s for s in store.segments.values() if "note-0.md" in s.docs]
        assert len(merged) == 1 and len(merged[0].docs) > 2
        assert merged[0].doc_rows["note-0.md"][1] - merged[0].doc_rows["note-0.md"][0] >= 2
        for segment in store.segments.values():
            rows = segment.db.execute("SELECT rowid, text, compounds FROM lexical").fetchall()
            chunks = segment.chunks([r for r, _, _ in rows])
            assert [(text, compounds) for _, text, compounds in rows] == [
                (lexical_text(chunks[r]), " ".join(compound_terms(lexical_text(chunks[r]))))
                for r, _, _ in rows]
    finally:
        store.close()


def test_a_format_6_commit_point_is_read_and_the_next_build_writes_format_7(
        hash_settings: Settings) -> None:
    import json

    from assistant.index.commits import _checksum

    build_index(hash_settings, HashEmbedder())
    path, body = open_commit(hash_settings.index_dir)
    store = open_store(hash_settings.index_dir)
    facts = store.documents()
    store.close()
    # what format 6 wrote: every document with its segment, and each segment's documents
    body["format"] = 6
    body["documents"] = {doc: {"segment": "seg-00000" + ("2" if doc == "report.txt" else "1"),
                               "fingerprint": f.fingerprint, "chunks": f.chunks,
                               "sentences": f.sentences, "problems": list(f.problems)}
                         for doc, f in facts.items()}
    for s in body["segments"]:
        s["docs"] = sorted(_held(hash_settings.index_dir / s["name"]))
    body["checksum"] = _checksum(body)
    path.write_text(json.dumps(body), encoding="utf-8")
    assert open_store(hash_settings.index_dir).documents() == facts
    (hash_settings.corpus_dir / "new.md").write_text("# Ny\n\nEtt nytt dokument.\n",
                                                     encoding="utf-8")
    report = build_index(hash_settings, HashEmbedder())
    assert report.indexed == ["new.md"] and report.unchanged == sorted(facts)
    newest = open_commit(hash_settings.index_dir)[1]
    assert newest["format"] == 7 and "documents" not in newest
    assert sorted(open_store(hash_settings.index_dir).documents()) == sorted([*facts, "new.md"])


def test_a_build_reads_no_vectors_of_the_segments_it_keeps(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

    build_index(hash_settings, HashEmbedder())
    read: list[str] = []
    real = faiss.read_index

    def recording(path, *args):  # type: ignore[no-untyped-def]
        read.append(path)
        return real(path, *args)

    monkeypatch.setattr(faiss, "read_index", recording)
    (hash_settings.corpus_dir / "new.md").write_text("# Ny\n\nEtt nytt dokument.\n",
                                                     encoding="utf-8")
    assert build_index(hash_settings, HashEmbedder()).indexed == ["new.md"]
    assert read == []
    Engine(hash_settings, HashEmbedder()).search(["nytt dokument"])
    assert len(read) == 2 * len(_segments(hash_settings))  # a server opens them all at once


def test_a_served_commit_keeps_answering_after_a_build_removes_its_segments(
        hash_settings: Settings) -> None:
    build_index(hash_settings, HashEmbedder())
    served = open_store(hash_settings.index_dir)
    try:
        remove_document(hash_settings, "report.txt", HashEmbedder())
        assert not (hash_settings.index_dir / "seg-000002").exists()  # erased, as it must be
        vector = HashEmbedder().queries(["report"])[0]
        rows = [r for r, _ in served.search_chunks(vector, 50, None)]
        assert "report.txt" in {served.row_doc(r) for r in rows}  # mapped before the prune
    finally:
        served.close()


def test_a_served_store_reads_its_vectors_ahead_and_a_build_does_not(
        hash_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import faiss

    from assistant.index import segment as segment_module
    from assistant.index.vectors import read_ahead

    build_index(hash_settings, HashEmbedder())
    events: list[str] = []  # what was asked ahead and what was mapped, in order
    monkeypatch.setattr(segment_module, "read_ahead", lambda path: events.append(path.name))
    real_read = faiss.read_index
    monkeypatch.setattr(faiss, "read_index",
                        lambda path, *flags: events.append("map " + Path(path).name)
                        or real_read(path, *flags))
    store = open_store(hash_settings.index_dir, lazy=True)  # a build's: mapped when used
    mapped = [s.sentence_index for s in store.segments.values()]
    store.close()
    assert len(mapped) >= 2 and events and all(e.startswith("map ") for e in events)
    events.clear()
    open_store(hash_settings.index_dir).close()
    # each file asked for just before it is mapped, every segment's
    pair = ["chunks.faiss", "map chunks.faiss", "sentences.faiss", "map sentences.faiss"]
    assert events == pair * (len(events) // 4) and len(events) >= 8
    # best effort: a file that is gone is skipped, not an error
    read_ahead(tmp_path / "gone.faiss")
    read_ahead(hash_settings.index_dir)  # a folder: the request fails, quietly


def test_a_segment_number_comes_from_its_name_only() -> None:
    assert segment_number("seg-000042") == 42
    for name in ("commit-000042.json", "seg-000042.tmp", "seg-42"):
        with pytest.raises(ValueError, match="not a segment's name"):
            segment_number(name)
