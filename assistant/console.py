"""What the CLI prints besides results: a build's progress bar, grouped search text, warnings
summed up by kind, and third-party libraries kept quiet."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.types import Hit


def quiet_third_parties() -> None:
    """No progress bars or advisory warnings of transformers and huggingface_hub inside ours
    (their documented switches; set before they are imported)."""
    import os
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for module in ("transformers", "sentence_transformers", "huggingface_hub", "torch"):
        warnings.filterwarnings("ignore", module=module)
    if "transformers" in sys.modules:  # already imported: the switch is read at import time
        sys.modules["transformers"].utils.logging.disable_progress_bar()


def warning_kind(problem: str) -> str:
    """What a per-file warning is about, without its page number or details."""
    kind = re.sub(r"^page \d+: ", "", problem)
    return re.split(r": | \(", kind, maxsplit=1)[0]


def print_warnings(problems: dict[str, list[str]], verbose: bool) -> None:
    """Every warning with --verbose; else one line per kind, with how many files it hit."""
    if verbose:
        for name, found in problems.items():
            for problem in found:
                print(f"  warning: {name}: {problem}")
        return
    counts: dict[str, int] = {}
    hit: dict[str, set[str]] = {}  # grown in place: a new set per file was quadratic
    for name, found in problems.items():
        for problem in found:
            kind = warning_kind(problem)
            counts[kind] = counts.get(kind, 0) + 1
            hit.setdefault(kind, set()).add(name)
    for kind, count in counts.items():
        files = hit[kind]
        where = next(iter(files)) if len(files) == 1 else f"{len(files)} files"
        times = f"{count}× " if count > 1 else ""
        print(f"  warning: {times}{kind} ({where}; --verbose lists them)")


class _Bar:
    """A build's progress (see builder.Progress) shown by a tqdm bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def start(self, total_bytes: int) -> None:
        self.bar.total = total_bytes
        self.bar.refresh()

    def done(self, name: str, size: int) -> None:
        self.bar.set_postfix_str(name[-40:], refresh=False)
        self.bar.update(size)


@contextmanager
def progress_bar() -> Iterator[_Bar]:
    """A build's progress bar by bytes (so rate and ETA hold for uneven files), on stderr; the
    build gives it the corpus's bytes once it has listed the files, so the folder is listed
    once."""
    from tqdm import tqdm

    with tqdm(unit="B", unit_scale=True, desc="indexing", file=sys.stderr) as bar:
        yield _Bar(bar)


def print_grouped(query: str, hits: list[Hit], as_json: bool) -> None:
    """One query's hits grouped by document: JSON, or each document with its best snippet."""
    from assistant.groups import grouped_search_json

    grouped = grouped_search_json(query, hits)
    if as_json:
        print(json.dumps(grouped, ensure_ascii=False))
        return
    print(f"# {query}")
    for rank, group in enumerate(grouped["groups"], start=1):
        best, more = group["passages"][0], len(group["passages"]) - 1
        print(f"{rank}. {group['title']} ({group['doc']})"
              + (f" — {more} more passage(s)" if more else ""))
        page = f", p. {best['page']}" if best["page"] is not None else ""
        print(f"     {best['section'] or '—'}{page}: {best['snippet']}")
    print()
