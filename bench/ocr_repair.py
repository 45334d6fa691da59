"""Measure repair_swedish on a clean Swedish text with å/ä/ö folded away; prints the figures.

Run from the repository root:
    .venv/bin/python bench/ocr_repair.py [PATH ...] [--errors N]
Default PATH is the Kronoberg report (the development text); lansstyrelserna is the held-out one.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path

from assistant.lang.diacritics import repair_swedish, swedish_damage

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "corpus" / "kronoberg-sok-rapport-2019-2024.md"
_WORD = re.compile(r"[^\W\d_]{2,}")
_FOLD = str.maketrans("åäöÅÄÖ", "aaoAAO")


def measure(text: str) -> dict[str, float]:
    """Accuracy over all words and over diacritic words, speed, and the errors made."""
    folded = text.translate(_FOLD)
    start = time.perf_counter()
    repaired = repair_swedish(folded)
    seconds = time.perf_counter() - start
    assert len(repaired) == len(text)
    words = [m.span() for m in _WORD.finditer(text)]
    right = marked = marked_right = 0
    errors: Counter[tuple[str, str]] = Counter()
    for a, b in words:
        truth, got = text[a:b], repaired[a:b]
        has_mark = truth != folded[a:b]
        right += truth == got
        marked += has_mark
        marked_right += has_mark and truth == got
        if truth != got:
            errors[(truth, got)] += 1
    return {
        "words": len(words),
        "all": right / len(words),
        "marked_words": marked,
        "marked": marked_right / marked if marked else 1.0,
        "words_per_s": len(words) / seconds,
        "errors": errors,
    }


def main() -> None:
    """Print the figures for each path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT])
    parser.add_argument("--errors", type=int, default=15, help="show the N commonest errors")
    args = parser.parse_args()
    for path in args.paths:
        text = path.read_text(encoding="utf-8")
        m = measure(text)
        print(
            f"{path.name}: {m['words']} words, all {m['all']:.2%}, "
            f"diacritic {m['marked']:.2%} of {m['marked_words']}, "
            f"{m['words_per_s']:.0f} words/s (cold cache), damage clean {swedish_damage(text):.4f}"
        )
        for (truth, got), n in m["errors"].most_common(args.errors):
            print(f"  {n:3d}  {truth} -> {got}")


if __name__ == "__main__":
    main()
