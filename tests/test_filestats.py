"""A build hashes only the files whose size, time or catalog entry changed."""

from __future__ import annotations

import os
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
