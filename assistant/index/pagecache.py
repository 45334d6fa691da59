"""Bringing a served index's vector files into the page cache while it opens.

A server maps every FAISS file, and mapping an HNSW file reads its graph (everything before the
codes); searches then read codes a page at a time. With the page cache cold, both went a page
fault at a time: 18-19 s to map a 1M-chunk index's 5.4 GB, and first questions that waited on
thousands of reads (bench/RESULTS.md, issue 15). `Warming` reads the files on background
threads: every file's mapped part first, in the order they are mapped, then the codes. It
asks with `MADV_POPULATE_READ` (Linux 5.14): the kernel reads, nothing is copied into the
process, and pages already cached cost next to nothing (0.06 s for all of them at 1M); with
`posix_fadvise` elsewhere. Best effort throughout: a file it cannot read is read by its faults.
"""

from __future__ import annotations

import mmap
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

THREADS = 2  # two readers kept a 2-core machine's disk as busy as eight did
_WINDOW = 64 << 20  # bytes mapped and asked for at a time
# Linux's value (uapi/asm-generic/mman-common.h); Python names it from 3.13 on
_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22 if sys.platform == "linux" else None)


class Warming:
    """Reads `files` into the page cache on `threads` daemon threads: the first `head(file)`
    bytes of each, in order, then the rest of each. `ready` waits for a file's head."""

    def __init__(self, files: Sequence[Path], head: Callable[[Path], int],
                 threads: int = THREADS) -> None:
        self._head = head
        self._heads: dict[Path, int] = {}  # bytes of each head, once read
        self._heads_read = {path: threading.Event() for path in files}
        self._stopped = threading.Event()
        self._jobs: queue.SimpleQueue[tuple[Path, bool] | None] = queue.SimpleQueue()
        for path in files:
            self._jobs.put((path, True))
        for path in files:
            self._jobs.put((path, False))
        for _ in range(threads):
            self._jobs.put(None)
            threading.Thread(target=self._read, name="page-cache", daemon=True).start()

    def ready(self, *files: Path) -> None:
        """Wait until the heads of `files` have been read (or given up on)."""
        for path in files:
            event = self._heads_read.get(path)
            if event is not None:
                event.wait()

    def stop(self) -> None:
        """Skip what is not read yet (the index closes); nobody waits on it any more."""
        self._stopped.set()
        for event in self._heads_read.values():
            event.set()

    def _read(self) -> None:
        while (job := self._jobs.get()) is not None:
            path, is_head = job
            try:
                if self._stopped.is_set():
                    continue
                if is_head:
                    self._heads[path] = self._head(path)
                    populate(path, 0, self._heads[path])
                else:  # a head that is not known (yet) is read again: no loss but time
                    populate(path, self._heads.get(path, 0), None)
            except (OSError, ValueError, AttributeError):
                pass  # left to the page faults
            finally:
                if is_head:
                    self._heads_read[path].set()


def populate(path: Path, start: int, end: int | None) -> None:
    """Bring bytes [start, end) of a file (to its end with None) into the page cache; returns
    once they are read, where the kernel can populate a mapping."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        end = size if end is None else min(end, size)
        for offset in range(start - start % mmap.ALLOCATIONGRANULARITY, end, _WINDOW):
            length = min(_WINDOW, end - offset)
            if _POPULATE_READ is not None:
                try:
                    with mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset) as window:
                        window.madvise(_POPULATE_READ)
                    continue
                except OSError:  # a kernel before 5.14 does not know the advice
                    pass
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)
