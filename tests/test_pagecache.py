"""Reading a served index's vector files into the page cache (`assistant.index.pagecache`)."""

from __future__ import annotations

import mmap
import threading
import time
from pathlib import Path

import pytest

from assistant.index import pagecache

PAGE = mmap.ALLOCATIONGRANULARITY


@pytest.fixture
def advised(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The (offset, length) of every posix_fadvise request, in windows of two pages."""
    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(pagecache, "_WINDOW", 2 * PAGE)
    monkeypatch.setattr(pagecache.os, "posix_fadvise",
                        lambda fd, offset, length, advice: asked.append((offset, length)))
    return asked


@pytest.mark.parametrize("advice", [None, 9999])  # none known here; one the kernel refuses
def test_populate_falls_back_to_asking_for_every_window(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, advised: list[tuple[int, int]],
        advice: int | None) -> None:
    monkeypatch.setattr(pagecache, "_POPULATE_READ", advice)
    path = tmp_path / "codes.bin"
    path.write_bytes(b"x" * (5 * PAGE + 100))
    pagecache.populate(path, PAGE + 5, None)  # from the page holding the start to the end
    assert advised == [(PAGE, 2 * PAGE), (3 * PAGE, 2 * PAGE), (5 * PAGE, 100)]
    advised.clear()
    pagecache.populate(path, 0, PAGE + 7)
    assert advised == [(0, PAGE + 7)]
    advised.clear()
    pagecache.populate(path, 0, 0)
    assert advised == []


def test_populate_asks_the_kernel_to_read_into_the_cache(
        tmp_path: Path, advised: list[tuple[int, int]]) -> None:
    if pagecache._POPULATE_READ is None:
        pytest.skip("no MADV_POPULATE_READ here")
    path = tmp_path / "codes.bin"
    path.write_bytes(b"x" * (3 * PAGE))
    pagecache.populate(path, 0, None)
    assert advised == []  # no fallback needed (Linux 5.14 or later)
    with pytest.raises(FileNotFoundError):
        pagecache.populate(tmp_path / "gone.bin", 0, None)


def _readers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "page-cache"}


def _wait_for(readers: set[threading.Thread]) -> None:
    """Until no reader but these is left."""
    deadline = time.monotonic() + 10
    while _readers() - readers:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_warming_reads_heads_then_the_rest_gives_up_quietly_and_stops_when_told(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[tuple[str, int, int | None]] = []
    monkeypatch.setattr(pagecache, "populate",
                        lambda path, start, end: read.append((path.name, start, end)))
    before = _readers()
    first, second = tmp_path / "a.faiss", tmp_path / "b.faiss"
    pagecache.Warming([first, second], lambda path: 10, threads=1).ready(first, second)
    _wait_for(before)
    assert read == [("a.faiss", 0, 10), ("b.faiss", 0, 10), ("a.faiss", 10, None),
                    ("b.faiss", 10, None)]
    files = [tmp_path / "gone.faiss", tmp_path / "c.faiss"]  # no such files: heads unknown
    pagecache.Warming(files, lambda path: path.stat().st_size).ready(*files)  # given up
    _wait_for(before)
    read.clear()
    entered, go_on = threading.Event(), threading.Event()

    def slow_head(path: Path) -> int:
        entered.set()
        go_on.wait(10)
        return 10

    before = _readers()
    warming = pagecache.Warming([first, second], slow_head, threads=1)
    assert entered.wait(10)
    warming.stop()
    warming.ready(first, second)  # nobody waits once stopped
    go_on.set()
    _wait_for(before)
    assert read == [("a.faiss", 0, 10)]  # the read under way ends; nothing starts after it
