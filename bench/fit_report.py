"""The cross-validated figures of bench/fit.py as a Markdown table, one row per set and
question language."""

from __future__ import annotations

from collections import Counter
from typing import Any

HEAD = ("| corpus | set | lang | answerable | R@1 | R@5 | MRR@10 | unanswerable refused "
        "| answerable refused | first citation gold | answer / passages / refusal (right) "
        "| left-document-out refused |\n" + "|---" * 12 + "|")


def _row(corpus: str, part: str, lang: str, rows: list[dict[str, Any]]) -> str:
    real = [r for r in rows if r["real"]]
    pos = [r for r in real if r["answerable"]]
    neg = [r for r in real if not r["answerable"]]
    ldo = [r for r in rows if not r["real"]]
    n = len(pos)
    ranks = [r["rank"] for r in pos]
    r1 = sum(r == 1 for r in ranks) / n if n else 0.0
    r5 = sum(r is not None and r <= 5 for r in ranks) / n if n else 0.0
    mrr = sum(1 / r for r in ranks if r) / n if n else 0.0
    cited = sum((r["mode"] == "answer" and r["lead"]) or (r["mode"] == "passages" and r["top"])
                for r in pos)
    modes = []
    for mode in ("answer", "passages", "refusal"):
        chosen = [r for r in real if r["mode"] == mode]
        right = sum((not r["answerable"]) if mode == "refusal" else
                    r["answerable"] and r["lead" if mode == "answer" else "top"] for r in chosen)
        modes.append(f"{len(chosen)} ({right})")

    def ratio(a: int, b: int) -> str:
        return f"{a}/{b}" if b else "—"

    def refused(rows: list[dict[str, Any]]) -> int:
        return sum(r["mode"] == "refusal" for r in rows)

    return (f"| {corpus} | {part} | {lang} | {n} | {r1:.3f} | {r5:.3f} | {mrr:.3f} "
            f"| {ratio(refused(neg), len(neg))} | {ratio(refused(pos), n)} | {ratio(cited, n)} "
            f"| {' / '.join(modes)} | {ratio(refused(ldo), len(ldo))} |")


def report(scored: list[dict[str, Any]], picks: Counter[str]) -> list[str]:
    """The table, and which parameters the folds chose."""
    lines = [HEAD]
    keys = sorted({(r["corpus"], r["part"], r["lang"]) for r in scored},
                  key=lambda k: (("seed", "ret", "ref", "seed+ret").index(k[0]), k[1], k[2]))
    for corpus, part, lang in keys:
        lines.append(_row(corpus, part, lang, [r for r in scored if
                                               (r["corpus"], r["part"], r["lang"]) ==
                                               (corpus, part, lang)]))
    lines += ["", "Folds' fusion parameters: " + "; ".join(f"{p} ×{n}" for p, n in
                                                          picks.most_common())]
    return lines
