"""Language knowledge as data: word lists under ``assistant/data/<language>/``.

Each list is a UTF-8 text file, one entry per line (a word or a phrase); blank lines and lines
starting with ``#`` are comments. Adding a language means adding a folder with the same file
names; code asks for a list by name and gets the union over the languages it names (default:
every language present), so nothing here knows which languages exist.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


@cache
def languages() -> tuple[str, ...]:
    """The languages that have a data folder, sorted."""
    return tuple(sorted(p.name for p in DATA.iterdir()
                        if p.is_dir() and not p.name.startswith((".", "_"))))


@cache
def entries(name: str, language: str) -> tuple[str, ...]:
    """The entries of one list of one language, in file order; empty when the file is absent."""
    path = DATA / language / f"{name}.txt"
    if not path.exists():
        return ()
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


def words(name: str, langs: tuple[str, ...] | None = None) -> frozenset[str]:
    """The entries of a list over the given languages (all by default), as a set."""
    return frozenset(e for lang in (langs or languages()) for e in entries(name, lang))


@cache
def alternation(name: str, langs: tuple[str, ...] | None = None) -> str:
    """A regex alternation of a list's entries, longest first so that a phrase wins over a word
    it starts with; spaces in phrases match any run of whitespace. An empty list gives a
    pattern that matches nothing (not the empty string, which would match everywhere)."""
    found = sorted(words(name, langs), key=lambda e: (-len(e), e))
    return "|".join(re.escape(e).replace(r"\ ", r"\s+") for e in found) or "(?!)"
