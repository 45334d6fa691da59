"""What a build reads: the corpus files with their catalog entries and fingerprints, from the
corpus folder or, with a database, from the database's `files` table (so a worker on any
machine builds from the same corpus)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

from assistant.config import Settings
from assistant.index.filestats import FileStats, content_fingerprint
from assistant.ingest.catalog import CATALOG_FILE, read_catalog


@dataclass(frozen=True)
class SourceFile:
    """One corpus file: its corpus-relative name, catalog entry, content fingerprint and size
    in bytes; `fetch` gives it as a local file (a database's is written out only when asked
    for)."""

    name: str
    entry: dict[str, Any] | None
    fingerprint: str
    fetch: Callable[[], Path]
    size: int


def fingerprint(data: bytes, entry: dict[str, Any] | None) -> str:
    """`content_fingerprint` of a file's bytes held in memory (a database's)."""
    return content_fingerprint([data], entry)


def corpus_files(corpus_dir: Path) -> list[tuple[str, Path]]:
    """(corpus-relative name, path) of every candidate document, in a stable order."""
    return [(name, Path(path)) for name, path, _ in _listing(corpus_dir)]


def corpus_names(corpus_dir: Path) -> set[str]:
    """The corpus-relative name of every candidate document (without a Path made per file)."""
    return {name for name, _, _ in _listing(corpus_dir)}


def _document_name(name: str) -> bool:
    """Whether a file name can be a corpus document (not the catalog, not hidden)."""
    return name != CATALOG_FILE and not name.startswith(".")


def _local_file(name: str, path: str | Path, stat: os.stat_result,
                catalog: dict[str, dict[str, Any]], stats: FileStats) -> SourceFile:
    """A corpus folder's file as a build reads it, its fingerprint remembered by `stats`."""
    entry = catalog.get(name)
    return SourceFile(name, entry, stats.fingerprint(name, path, entry, stat),
                      lambda: Path(path), stat.st_size)


def _listing(corpus_dir: Path) -> list[tuple[str, str, os.stat_result]]:
    """`corpus_files` with each file's stat, paths as strings: one stat a file, which the
    fingerprint cache reuses, and no Path object a file (at 21,000 files those were most of
    a build's listing: bench/RESULTS.md, issue 15, "1M")."""
    found = []
    # symbolic links to folders are not followed, links to files are (as Path.rglob and
    # is_file do); sorted by path parts, as Path compares
    for folder, _, names in os.walk(corpus_dir):
        relative = Path(folder).relative_to(corpus_dir).parts
        for name in names:
            if not _document_name(name):
                continue
            full = os.path.join(folder, name)
            try:
                stat = os.stat(full)
            except OSError:  # a broken link, or gone since the folder was read
                continue
            if S_ISREG(stat.st_mode):
                found.append(((*relative, name), full, stat))
    found.sort(key=lambda item: item[0])
    return [("/".join(parts), full, stat) for parts, full, stat in found]


def folder_source(corpus_dir: Path, stats: FileStats | None = None) -> list[SourceFile]:
    """The files of a corpus folder with their catalog entries (fingerprints remembered by
    `stats` while a file's size and time are unchanged)."""
    catalog = read_catalog(corpus_dir)
    stats = stats or FileStats(None)
    return [_local_file(name, path, stat, catalog, stats)
            for name, path, stat in _listing(corpus_dir)]


def corpus_file(corpus_dir: Path, name: str) -> tuple[Path, os.stat_result] | None:
    """The file and stat of one corpus document by its corpus-relative name, without listing
    the folder; None when `corpus_files` would not list that name (no such regular file, a
    name that is no document, a dot segment, a folder reached through a link). The name is
    checked as the listing lists files, never followed out of the folder."""
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts) or not _document_name(parts[-1]):
        return None
    path = corpus_dir.joinpath(*parts)
    try:
        stat = path.stat()
        # a listing does not follow a link to a folder: neither does a name
        linked = any(corpus_dir.joinpath(*parts[:i]).is_symlink() for i in range(1, len(parts)))
    except OSError:
        return None
    return (path, stat) if S_ISREG(stat.st_mode) and not linked else None


@contextmanager
def named_source(corpus_dir: Path, names: Iterable[str], stats: FileStats
                 ) -> Iterator[list[SourceFile]]:
    """`folder_source` of some corpus files only, by corpus-relative name (`corpus_file`),
    without listing the folder; a name that is no corpus file now (removed, or never one) is
    left out."""
    catalog = read_catalog(corpus_dir)
    files = []
    for name in sorted(set(names)):
        found = corpus_file(corpus_dir, name)
        if found is not None:
            files.append(_local_file(name, found[0], found[1], catalog, stats))
    yield files


@contextmanager
def corpus_source(settings: Settings, from_folder: bool = True, stats: FileStats | None = None
                  ) -> Iterator[list[SourceFile]]:
    """The files a build indexes. Without a database: the corpus folder. With one: its
    `files` table, after the corpus folder is imported into it when `from_folder` (what
    `assistant index` does; a worker builds from the table alone)."""
    if not settings.database_url:
        yield folder_source(settings.corpus_dir, stats)
        return
    import tempfile

    from assistant.index.pgfiles import PgFiles

    files = PgFiles(settings.database_url)
    try:
        if from_folder:
            files.import_folder(settings.corpus_dir)
        sweep_scratch(Path(tempfile.gettempdir()))
        with tempfile.TemporaryDirectory(prefix=f"{SCRATCH}{os.getpid()}-") as scratch:
            yield files.source(Path(scratch))
    finally:
        files.close()


SCRATCH = "assistant-files-"  # then the building process's id: a killed one's is swept later


def sweep_scratch(folder: Path) -> list[Path]:
    """Remove the scratch folders that builds killed before their clean-up left in `folder`
    (their process is gone); returns them. Another live build's folder is kept."""
    removed = []
    for path in folder.glob(f"{SCRATCH}*"):
        pid, dash, _ = path.name[len(SCRATCH):].partition("-")
        if not (dash and pid.isdigit()) or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
