"""Growth of the scale figures with corpus size: log-log slopes and a markdown summary."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# (label, path into a scale.jsonl record) of the figures that are fitted and summarised
FIGURES = (
    ("full build s", ("build", "full_s")),
    ("full build CPU s", ("build", "full_cpu_s")),
    ("no-op build s", ("build", "noop_s")),
    ("no-op `assistant index` s", ("build", "noop_cli_s")),
    ("add one doc s", ("build", "add_s")),
    ("add one doc CPU s", ("build", "add_cpu_s")),
    ("remove it s", ("build", "remove_s")),
    ("its parsing and encoding s", ("build", "add_document_s")),
    ("add one doc, API path s", ("build", "upload_add_s")),
    ("remove it, API path s", ("build", "upload_remove_s")),
    ("MB per generation", ("disk", "generation_mb")),
    ("index folder MB", ("disk", "index_after_add_mb")),
    ("build peak RSS MB", ("build", "peak_rss_mb")),
    ("search p50 ms", ("serve", "search_ms", "p50")),
    ("search p95 ms", ("serve", "search_ms", "p95")),
    ("search CPU p50 ms", ("serve", "search_cpu_ms", "p50")),
    ("ask p50 ms", ("serve", "ask_ms", "p50")),
    ("ask CPU p50 ms", ("serve", "ask_cpu_ms", "p50")),
    ("serving peak RSS MB", ("serve", "peak_rss_mb")),
    ("cold start s", ("serve", "cold_start_s")),
    ("cold start CPU s", ("serve", "cold_start_cpu_s")),
)


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def figure(record: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    """A nested value of a record, or None where the run did not measure it."""
    value: Any = record
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def latest_by_size(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per target size, the records merged oldest first (so each figure is its newest
    measurement: a --skip-build run keeps the full build of the run before), smallest first."""
    by_size: dict[int, dict[str, Any]] = {}
    for record in records:
        # brief corpora (one paragraph a document) are no point on the growth curve
        if (record.get("bench") == "scale" and record.get("corpus")
                and not record["corpus"].get("brief")):
            size = int(record["corpus"]["target_chunks"])
            by_size[size] = _merged(by_size.get(size, {}), record)
    return [by_size[k] for k in sorted(by_size)]


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """old updated with new, nested dicts merged key by key."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log y over log x (1.0: linear growth), or None with < 2 points."""
    points = [(x, y) for x, y in points if x > 0 and y > 0]
    if len({x for x, _ in points}) < 2:
        return None
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
            / sum((x - mx) ** 2 for x in xs))


def growth(records: list[dict[str, Any]], to_chunks: int = 1_000_000) -> dict[str, Any]:
    """Per figure: the log-log slope over the sizes, and the largest size extrapolated."""
    rows = latest_by_size(records)
    fitted: dict[str, Any] = {}
    for label, keys in FIGURES:
        points = [(float(r["index"]["chunks"]), v) for r in rows
                  if (v := figure(r, keys)) is not None]
        fitted_slope = slope(points)
        if fitted_slope is None:
            continue
        x, y = points[-1]
        fitted[label] = {"slope": round(fitted_slope, 2),
                         "at_1m": round(y * (to_chunks / x) ** fitted_slope, 1)}
    return fitted


def summary(records: list[dict[str, Any]]) -> str:
    """A markdown summary: one column per size, the fitted slope and 1M extrapolation."""
    rows = latest_by_size(records)
    if not rows:
        return "No scale records yet.\n"
    fitted = growth(records)
    head = [f"{r['index']['chunks']:,} chunks ({r['index']['sentences']:,} sent.)" for r in rows]
    lines = ["| figure | " + " | ".join(head) + " | log-log slope | at 1M (fitted) |",
             "|---" * (len(head) + 3) + "|"]
    for label, keys in FIGURES:
        values = [figure(r, keys) for r in rows]
        cells = ["–" if v is None else f"{v:,.1f}" for v in values]
        fit = fitted.get(label)
        tail = [f"{fit['slope']:.2f}", f"{fit['at_1m']:,.0f}"] if fit else ["", ""]
        lines.append(f"| {label} | " + " | ".join(cells + tail) + " |")
    notes = [f"- {r['index']['chunks']:,} chunks: {r['date']}, commit {r['commit']}, "
             f"load average at start {r['machine']['loadavg_start']}, "
             f"{r['machine']['cpus']} cores"
             + ("" if "full_s" in r.get("build", {}) else " (reused the index: no full build)")
             for r in records if r.get("bench") == "scale" and r.get("index")]
    throughput = [r for r in records if r.get("throughput")]
    if throughput:
        t = throughput[-1]["throughput"]
        notes.append(f"- real model ({t['model']}, batch {t['batch_size']}, {t['threads']} "
                     f"threads): {t['chunks_per_s']} chunks/s ({t['chunks']} chunks of "
                     f"~{t['chunk_words']} words), {t['sentences_per_s']} sentences/s "
                     f"({t['sentences']} sentences)")
    return "\n".join(lines + [""] + notes) + "\n"
