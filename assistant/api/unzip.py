"""The entries of an uploaded zip, each checked before it becomes an upload of its own."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_ENTRIES = 200
MAX_RATIO = 100  # uncompressed / compressed size of one entry: beyond it, a zip bomb
_READ = 1 << 16


@dataclass(frozen=True)
class Entry:
    """One file of the zip: its name, and its bytes or why it is refused."""

    name: str
    data: bytes = b""
    error: str | None = None


def is_zip(filename: str | None, data: bytes) -> bool:
    """A zip by name or by its first bytes."""
    return (filename or "").lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    if not path.parts:
        return True
    return path.is_absolute() or ".." in path.parts or ":" in path.parts[0]


def _skipped(name: str) -> bool:
    """Folders, and the hidden files archivers add (__MACOSX/, .DS_Store)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.endswith("/") or any(
        (p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """The entry's bytes, counted as they come out (sizes in the header can lie)."""
    out = bytearray()
    with archive.open(info) as fh:
        while chunk := fh.read(_READ):
            out += chunk
            if len(out) > budget:
                raise ValueError
    return bytes(out)


def expand(data: bytes, max_entry_bytes: int, max_total_bytes: int) -> list[Entry]:
    """The files of a zip, each refused with its reason when its path is unsafe, it is
    encrypted, a nested zip, over the size cap or compressed suspiciously well; the whole zip
    is refused (ValueError) when it is unreadable, has too many entries or too much in all."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not _skipped(i.filename)]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not a readable zip file ({exc})") from exc
    if len(infos) > MAX_ENTRIES:
        raise ValueError(f"the zip holds {len(infos)} files; at most {MAX_ENTRIES} at once")
    entries: list[Entry] = []
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe(name):
            entries.append(Entry(name, error="unsafe path in the zip (absolute or with ..)"))
            continue
        if info.flag_bits & 0x1:
            entries.append(Entry(name, error="encrypted in the zip; cannot be read"))
            continue
        if name.lower().endswith(".zip"):
            entries.append(Entry(name, error="a zip inside the zip is not expanded"))
            continue
        budget = min(max_entry_bytes, max_total_bytes - total,
                     max(info.compress_size, 1) * MAX_RATIO)
        try:
            content = _read(archive, info, budget)
        except ValueError:
            if total + budget >= max_total_bytes:
                raise ValueError(f"the zip unpacks to more than "
                                 f"{max_total_bytes / 1_000_000:g} MB in all") from None
            entries.append(Entry(name, error="too large once unpacked (or a zip bomb)"))
            continue
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            entries.append(Entry(name, error=f"cannot be unpacked ({exc})"))
            continue
        total += len(content)
        entries.append(Entry(name, content))
    return entries
