"""A build hashes only the files whose size, time or catalog entry changed."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from assistant.config import Settings
from assistant.index.builder import build_index
from assistant.index.filestats import FILE, FileStats, fingerprint
from assistant.ingest.catalog import write_entry
from assistant.model.embed import HashEmbedder

NAMES = ["ansvar.md", "housing.html", "report.txt"]


def _age(corpus: Path, seconds: float = 60) -> None:
    """Set every file's time into the past (a fresh file is hashed again: see filestats)."""
    past = time.time() - seconds
    for path in corpus.iterdir():
        os.utime(path, (past, past))


def test_unchanged_files_are_not_hashed_again(hash_settings: Settings) -> None:
    _age(hash_settings.corpus_dir)
    assert build_index(hash_settings, HashEmbedder()).hashed == 3
    report = build_index(hash_settings, HashEmbedder())
    assert report.hashed == 0
    assert sorted(report.unchanged) == NAMES


def test_touched_file_is_hashed_and_kept_when_its_bytes_are_the_same(hash_settings: Settings
                                                                      ) -> None:
    _age(hash_settings.corpus_dir)
    build_index(hash_settings, HashEmbedder())
    os.utime(hash_settings.corpus_dir / "report.txt", (time.time() - 30, time.time() - 30))
    report = build_index(hash_settings, HashEmbedder())
    assert report.hashed == 1  # the hash is the truth: same bytes, nothing re-embedded
    assert sorted(report.unchanged) == NAMES
    assert report.generation == "commit-000001"


def test_changed_file_or_catalog_entry_is_indexed_again(hash_settings: Settings) -> None:
    corpus = hash_settings.corpus_dir
    _age(corpus)
    build_index(hash_settings, HashEmbedder())
    (corpus / "report.txt").write_text("New text about parking permits.\n", encoding="utf-8")
    report = build_index(hash_settings, HashEmbedder())
    assert (report.indexed, report.hashed) == (["report.txt"], 1)
    _age(corpus)
    build_index(hash_settings, HashEmbedder())
    write_entry(corpus, "ansvar.md", {"title": "Ansvar", "type": "strategy"})
    _age(corpus)  # the catalog file itself is not a document
    report = build_index(hash_settings, HashEmbedder())
    assert report.indexed == ["ansvar.md"]


def test_a_file_changed_just_before_the_record_is_hashed_again(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one", encoding="utf-8")
    stats = FileStats(tmp_path)
    first = stats.fingerprint("a.txt", path, None)
    stats.save()
    path.write_text("two", encoding="utf-8")  # same size, within the same tick
    again = FileStats(tmp_path)
    assert again.fingerprint("a.txt", path, None) == fingerprint(path, None) != first
    assert again.hashed == 1


def test_a_damaged_record_only_costs_hashing(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text("{not json", encoding="utf-8")
    path = tmp_path / "a.txt"
    path.write_text("one", encoding="utf-8")
    stats = FileStats(tmp_path)
    assert stats.fingerprint("a.txt", path, None) == fingerprint(path, None)


def test_a_targeted_record_reads_and_writes_the_named_files_only(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name, encoding="utf-8")
    stats = FileStats(tmp_path)
    for name in ("a.txt", "b.txt", "c.txt"):
        stats.fingerprint(name, tmp_path / name, None)
    stats.save()
    (tmp_path / "b.txt").unlink()
    targeted = FileStats(tmp_path, only=["b.txt", "d.txt"])
    assert set(targeted.old) == {"b.txt"}  # the rows it named, not the others
    targeted.save()  # b.txt was not found: its row goes, the others stay
    with sqlite3.connect(tmp_path / FILE) as db:
        names = sorted(name for (name,) in db.execute("SELECT name FROM files"))
    assert names == ["a.txt", "c.txt"]


def test_a_removed_files_name_does_not_stay_in_the_record(tmp_path: Path) -> None:
    secret = "personakt-19121212-1212.txt"
    (tmp_path / secret).write_text("x", encoding="utf-8")
    stats = FileStats(tmp_path)
    stats.fingerprint(secret, tmp_path / secret, {"title": "Hemlig titel"})
    stats.save()
    assert secret.encode() in (tmp_path / FILE).read_bytes()
    FileStats(tmp_path).save()  # a full build that no longer sees it
    raw = (tmp_path / FILE).read_bytes()
    assert secret.encode() not in raw and b"Hemlig titel" not in raw


def test_the_earlier_json_record_is_removed(tmp_path: Path) -> None:
    (tmp_path / "file-stats.json").write_text('{"written_ns": 0, "files": {}}',
                                              encoding="utf-8")
    FileStats(tmp_path).save()
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE]
