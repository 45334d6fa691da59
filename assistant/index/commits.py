"""Commit points and segment folders on disk: the mechanics, whatever a segment holds.

Layout of the index folder::

    commit-000007.json   a commit point: the segments in service, their tombstones, how the
                         index was built, the size and sha256 of every segment file, and the
                         sha256 of the commit point itself; the newest one that checks is served.
                         It names no live document: those are in the segments, so a commit
                         point stays a few kilobytes whatever the corpus (format 7; format 6
                         also listed every document and is still read)
    seg-000012/          one immutable segment (`assistant.index.segment`), written once
    LOCK                 held by the build in progress

A build writes each new segment as ``seg-N.tmp/``, fsyncs its files and the folder, renames it
to ``seg-N`` and fsyncs the index folder; then it writes ``commit-N.json.tmp``, fsyncs it and
renames it into place (fsync of the folder again). Until that rename nothing it wrote is
served, so an interrupted build or merge leaves the last commit serving.

Retention (`prune`): the current commit is kept and, as the fallback, the newest older commit
that checks out and holds no document missing from the current one (which documents a segment
holds is the segment's to say: the caller passes `held_by`); every other commit point,
every segment neither of them lists, anything an interrupted build left behind, and the
generation folders of an index of format 5 or older are removed.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.errors import IndexCorruptError, IndexMissingError

FORMAT = 7  # 2: chunks keep the text as extracted before OCR repair; 3: compound terms,
# trigrams; 4: chunks keep the abbreviations they use, list items their lead-in sentence;
# 5: no trigram table; 6: segments and commit points, vectors only in FAISS (memory-mapped);
# 7: commit points list segments and tombstones, not documents
READABLE = (6, 7)  # format 6's segments are format 7's; its commit points list more
LOCK = "LOCK"
COMMIT_NAME = re.compile(r"commit-(\d{6})\.json")
SEGMENT_NAME = re.compile(r"seg-(\d{6})")
REBUILD_HINT = "run `assistant index` to rebuild it"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (new, renamed, removed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's build lock (waits for a build in another process or thread)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if the process dies
        yield
    finally:
        os.close(fd)


def commit_points(index_dir: Path) -> list[Path]:
    """Commit point files, oldest first."""
    if not index_dir.is_dir():
        return []
    return sorted(p for p in index_dir.glob("commit-*.json") if COMMIT_NAME.fullmatch(p.name))


def segment_folders(index_dir: Path) -> list[Path]:
    """Completed segment folders, oldest first (listed by a commit or not)."""
    if not index_dir.is_dir():
        return []
    return sorted(p for p in index_dir.glob("seg-*")
                  if p.is_dir() and SEGMENT_NAME.fullmatch(p.name))


def segment_number(name: str) -> int:
    """The number in a segment's name ("seg-000042" -> 42)."""
    found = SEGMENT_NAME.fullmatch(name)
    if found is None:
        raise ValueError(f"{name!r} is not a segment's name")
    return int(found.group(1))


def next_number(index_dir: Path, pattern: re.Pattern[str]) -> int:
    """One more than the highest number of a commit point or segment (finished or not)."""
    numbers = [int(m.group(1)) for p in index_dir.iterdir()
               if (m := pattern.match(p.name))] if index_dir.is_dir() else []
    return max(numbers, default=0) + 1


def new_segment_folder(index_dir: Path) -> Path:
    """A fresh ``seg-N.tmp/`` folder for a segment being written."""
    if not index_dir.exists():
        index_dir.mkdir(parents=True)
        fsync_dir(index_dir.parent)
    tmp = index_dir / f"seg-{next_number(index_dir, SEGMENT_NAME):06d}.tmp"
    tmp.mkdir()
    return tmp


def seal_segment(tmp: Path, files: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """fsync a written ``seg-N.tmp/`` and rename it to ``seg-N``: its name and the size and
    sha256 of each file, computed here once and carried by every commit that lists it."""
    recorded = {}
    for fname in files:
        _fsync_file(tmp / fname)
        recorded[fname] = {"size": (tmp / fname).stat().st_size,
                           "sha256": file_sha256(tmp / fname)}
    fsync_dir(tmp)
    final = tmp.with_name(tmp.name.removesuffix(".tmp"))
    tmp.rename(final)
    fsync_dir(tmp.parent)
    return final.name, recorded


def _checksum(body: dict[str, Any]) -> str:
    content = {k: v for k, v in body.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


def write_commit(index_dir: Path, body: dict[str, Any]) -> Path:
    """Write the next commit point atomically (tmp, fsync, rename, fsync); its path."""
    number = next_number(index_dir, COMMIT_NAME)
    name = f"commit-{number:06d}.json"
    full = {**body, "format": FORMAT, "commit": name.removesuffix(".json")}
    full["checksum"] = _checksum(full)
    tmp = index_dir / f"{name}.tmp"
    # no indent: json's C encoder then writes it (an indent takes the pure-Python one; a
    # format 6 body listing 1M chunks' documents was 6 MB: bench/RESULTS.md, issue 15, "1M")
    tmp.write_text(json.dumps(full, ensure_ascii=False), encoding="utf-8")
    _fsync_file(tmp)
    tmp.rename(index_dir / name)
    fsync_dir(index_dir)
    return index_dir / name


def read_commit(path: Path) -> dict[str, Any]:
    """A commit point, checked for format and its own checksum."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path}: unreadable commit point ({exc}); {REBUILD_HINT}"
                                ) from exc
    if not isinstance(body, dict) or body.get("format") not in READABLE:
        found = body.get("format") if isinstance(body, dict) else None
        raise IndexCorruptError(f"{path}: index format {found} is not {FORMAT}; {REBUILD_HINT}")
    if body.get("checksum") != _checksum(body):
        raise IndexCorruptError(f"{path} does not match its checksum; {REBUILD_HINT}")
    for segment in body["segments"]:
        if not SEGMENT_NAME.fullmatch(segment["name"]):
            raise IndexCorruptError(f"{path} names a bad segment {segment['name']!r}; "
                                    f"{REBUILD_HINT}")
    return dict(body)


def check_commit(index_dir: Path, path: Path, rehash: bool = False) -> dict[str, Any]:
    """The commit point after checking that every segment file it lists is there with its
    size; with `rehash`, also its sha256 (`assistant index --verify`)."""
    body = read_commit(path)
    for segment in body["segments"]:
        for fname, expected in segment["files"].items():
            file = index_dir / segment["name"] / fname
            if not file.is_file():
                raise IndexCorruptError(f"{file} is missing; {REBUILD_HINT}")
            if file.stat().st_size != expected["size"]:
                raise IndexCorruptError(f"{file} has {file.stat().st_size} bytes, the commit "
                                        f"says {expected['size']} (truncated?); {REBUILD_HINT}")
            if rehash and file_sha256(file) != expected["sha256"]:
                raise IndexCorruptError(f"{file} does not match its checksum; {REBUILD_HINT}")
    return body


def open_commit(index_dir: Path, rehash: bool = False) -> tuple[Path, dict[str, Any]]:
    """The newest commit point that checks; errors name the fix."""
    candidates = list(reversed(commit_points(index_dir)))
    if not candidates and _legacy(index_dir):
        raise IndexCorruptError(f"the index in {index_dir} is in an older format (generations, "
                                f"not segments); {REBUILD_HINT}")
    if not candidates:
        raise IndexMissingError(f"no index in {index_dir}; run `assistant index` to build it")
    problems = []
    for path in candidates:
        try:
            return path, check_commit(index_dir, path, rehash)
        except IndexCorruptError as exc:
            problems.append(str(exc))
    raise IndexCorruptError("no usable index commit: " + " | ".join(problems))


def _legacy(index_dir: Path) -> list[Path]:
    """What an index of format 5 or older left: generation folders and their pointer."""
    if not index_dir.is_dir():
        return []
    return [p for p in index_dir.iterdir()
            if re.fullmatch(r"gen-\d{6}(\.tmp|\.old)?|CURRENT(\.tmp)?", p.name)]


def held(index_dir: Path, body: dict[str, Any], held_by: Callable[[Path], set[str]]
         ) -> set[str]:
    """Every document a commit's segments physically hold (tombstoned rows too), and its
    failures."""
    names = {d for s in body["segments"] for d in held_by(index_dir / s["name"])}
    return names | set(body.get("failed") or {})


def allowed(index_dir: Path, body: dict[str, Any], held_by: Callable[[Path], set[str]]
            ) -> set[str]:
    """The documents a commit serves, and its failures: what may stay on disk."""
    names = {d for s in body["segments"]
             for d in held_by(index_dir / s["name"]) - set(s["deleted"])}
    return names | set(body.get("failed") or {})


def prune(index_dir: Path, held_by: Callable[[Path], set[str]]) -> list[str]:
    """Apply the retention rule (see the module docstring); the commits and segments removed.
    `held_by` names the documents a segment folder holds."""
    try:
        current_path, current = open_commit(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return []
    keep = {current_path: current}
    held_by = functools.cache(held_by)  # the two commits share most of their segments
    served: set[str] | None = None  # read only when there is an older commit to weigh
    for older in reversed([p for p in commit_points(index_dir) if p.name < current_path.name]):
        try:
            body = check_commit(index_dir, older)
        except IndexCorruptError:
            continue
        served = allowed(index_dir, current, held_by) if served is None else served
        if held(index_dir, body, held_by) <= served:
            keep[older] = body
            break
    listed = {s["name"] for body in keep.values() for s in body["segments"]}
    removed = [p.name.removesuffix(".json") for p in commit_points(index_dir) if p not in keep]
    for path in commit_points(index_dir):
        if path not in keep:  # commit points first: none may list a segment being removed
            path.unlink()
    for leftover in index_dir.glob("commit-*.json.tmp"):
        leftover.unlink()
    fsync_dir(index_dir)
    for folder in segment_folders(index_dir):
        if folder.name not in listed:
            # renamed first, so a removal cut short never leaves a half-deleted segment
            folder.rename(folder.with_name(folder.name + ".old"))
            removed.append(folder.name)
    fsync_dir(index_dir)
    for doomed in [*index_dir.glob("seg-*.old"), *index_dir.glob("seg-*.tmp")]:
        shutil.rmtree(doomed, ignore_errors=True)
    for legacy in _legacy(index_dir):  # an older format's copies of documents go too
        removed.append(legacy.name)
        if legacy.is_dir():
            shutil.rmtree(legacy, ignore_errors=True)
        else:
            legacy.unlink()
    return removed
