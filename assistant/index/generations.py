"""Index generations on disk: the folder mechanics, whatever a generation holds.

Layout of the index folder::

    CURRENT              name of the generation in service (replaced atomically)
    gen-000007/          one complete build
        manifest.json    how it was built, its documents, size and sha256 of every file
        ...              the store's files (`assistant.index.store`)
    LOCK                 held by the build in progress

A build writes ``gen-N.tmp/``, fsyncs its files and the folder, renames it to ``gen-N``,
fsyncs the index folder, and only then points CURRENT at it (write, fsync, rename, fsync), so
an interrupted build leaves the previous generation serving. Retention (`prune_generations`):
the current generation is kept, and of the older ones only the newest that verifies and holds
no document missing from the current one (the fallback); the rest are removed. So a build
that removes a document leaves no copy of it in an older generation. Builds take an
exclusive lock on ``LOCK`` so that two never write at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.errors import IndexCorruptError, IndexMissingError

FORMAT = 5  # 2: chunks keep the text as extracted before OCR repair; 3: compound terms,
# trigrams; 4: chunks keep the abbreviations they use, list items their lead-in sentence;
# 5: no trigram table (the `ngrams` compound mode left production for bench/)
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
LOCK = "LOCK"
_GENERATION_NAME = re.compile(r"gen-\d{6}")
REBUILD_HINT = "run `assistant index` to rebuild it"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
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


def generations(index_dir: Path) -> list[Path]:
    """Completed generation folders, oldest first."""
    if not index_dir.is_dir():
        return []
    return sorted(p for p in index_dir.glob("gen-*")
                  if p.is_dir() and _GENERATION_NAME.fullmatch(p.name))


def current_generation(index_dir: Path) -> Path | None:
    """The generation CURRENT points at, if any (a damaged pointer counts as none)."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return index_dir / name if _GENERATION_NAME.fullmatch(name) else None


def new_generation(index_dir: Path) -> tuple[Path, str]:
    """A fresh ``gen-N.tmp/`` folder for the next build, and the name it will have."""
    if not index_dir.exists():
        index_dir.mkdir(parents=True)
        _fsync_dir(index_dir.parent)
    for stale in [*index_dir.glob("gen-*.tmp"), *index_dir.glob("gen-*.old")]:
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was interrupted
    existing = generations(index_dir)
    number = int(existing[-1].name.split("-")[1]) + 1 if existing else 1
    name = f"gen-{number:06d}"
    tmp = index_dir / f"{name}.tmp"
    tmp.mkdir()
    return tmp, name


def publish_generation(tmp: Path, files: Iterable[str], manifest: dict[str, Any]) -> Path:
    """Seal a written ``gen-N.tmp/`` and switch CURRENT to it; returns its folder.

    Each file is fsynced and recorded (size, sha256) in the manifest, then the manifest and
    the folder are fsynced, the folder renamed to ``gen-N`` and CURRENT pointed at it. Call
    `prune_generations` afterwards (under the build lock) to apply the retention rule.
    """
    name = tmp.name.removesuffix(".tmp")
    recorded = {}
    for fname in files:
        _fsync_file(tmp / fname)
        recorded[fname] = {"size": (tmp / fname).stat().st_size,
                           "sha256": file_sha256(tmp / fname)}
    full_manifest = {**manifest, "format": FORMAT, "generation": name, "files": recorded}
    (tmp / MANIFEST).write_text(json.dumps(full_manifest, ensure_ascii=False, indent=2),
                                encoding="utf-8")
    _fsync_file(tmp / MANIFEST)
    _fsync_dir(tmp)
    final = tmp.with_name(name)
    tmp.rename(final)
    _fsync_dir(tmp.parent)
    _point_current(tmp.parent, name)
    return final


def _point_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f"{CURRENT}.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    _fsync_file(tmp)
    tmp.replace(index_dir / CURRENT)
    _fsync_dir(index_dir)


def prune_generations(index_dir: Path) -> list[str]:
    """Apply the retention rule (see the module docstring); returns the removed generations."""
    current = current_generation(index_dir)
    if current is None or not current.is_dir():
        return []
    try:
        manifest = read_manifest(current)
        allowed: set[str] | None = set(manifest.get("documents", {})) | set(
            manifest.get("failed") or {})
    except IndexCorruptError:
        allowed = None  # cannot tell what the current one holds: keep the best fallback
    fallback = None
    for older in reversed([g for g in generations(index_dir) if g.name < current.name]):
        try:
            held_manifest = verify_generation(older)
        except IndexCorruptError:
            continue
        held = set(held_manifest.get("documents", {})) | set(held_manifest.get("failed") or {})
        if allowed is None or held <= allowed:
            fallback = older
            break
    removed = []
    for generation in generations(index_dir):
        if generation in (current, fallback):
            continue
        # renamed first, so a removal cut short never leaves a half-deleted generation
        doomed = generation.with_name(generation.name + ".old")
        generation.rename(doomed)
        removed.append(generation.name)
    if removed:
        _fsync_dir(index_dir)
    for doomed in index_dir.glob("gen-*.old"):
        shutil.rmtree(doomed, ignore_errors=True)
    return removed


def read_manifest(generation: Path) -> dict[str, Any]:
    """A generation's manifest, checked for format."""
    path = generation / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path}: unreadable manifest ({exc}); {REBUILD_HINT}") from exc
    if manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"{generation}: index format {manifest.get('format')} is not "
                                f"{FORMAT}; {REBUILD_HINT}")
    return dict(manifest)


def verify_generation(generation: Path) -> dict[str, Any]:
    """The manifest, after checking every file's size and sha256 against it."""
    manifest = read_manifest(generation)
    for fname, expected in manifest["files"].items():
        path = generation / fname
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}")
        if path.stat().st_size != expected["size"]:
            raise IndexCorruptError(f"{path} has {path.stat().st_size} bytes, manifest says "
                                    f"{expected['size']} (truncated?); {REBUILD_HINT}")
        if file_sha256(path) != expected["sha256"]:
            raise IndexCorruptError(f"{path} does not match its checksum; {REBUILD_HINT}")
    return manifest


def open_generation(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The newest generation that verifies, preferring CURRENT; errors name the fix."""
    current = current_generation(index_dir)
    candidates = [current] if current is not None else []
    candidates += [g for g in reversed(generations(index_dir)) if g != current]
    if not candidates:
        raise IndexMissingError(f"no index in {index_dir}; run `assistant index` to build it")
    problems = []
    for generation in candidates:
        try:
            return generation, verify_generation(generation)
        except IndexCorruptError as exc:
            problems.append(str(exc))
    raise IndexCorruptError("no usable index generation: " + " | ".join(problems))
