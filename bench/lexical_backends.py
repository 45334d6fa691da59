"""The lexical leg alone with SQLite FTS5 or bm25s over the same folded texts (issue 2, item 6).

Run from the repository root after `assistant index`:
    .venv/bin/python bench/lexical_backends.py [--rounds N] [--scale N]
Both backends index the texts the built index holds for each chunk (folded text and compound
terms), take the same query words (long ones as prefixes: FTS5's `"word"*`, for bm25s every
indexed word that starts with it) and hand their hits to the same coverage gate. Prints a
Markdown table (lexical-only R@1, R@5, MRR@10 on the dev and held-out questions; query time of
the backend alone, p50/p95 over every question and round; build time and size), the same
timings over the texts repeated --scale times (a corpus that size, without the quality
figures), and appends a record to bench/results/lexical_backends.jsonl.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_core import percentile  # bench/ is on the path when run as a script

from assistant.config import load_settings
from assistant.evaluate import Question, matches, read_questions, summary
from assistant.index.store import SHIFT, SegmentStore, fts_match, open_store
from assistant.retrieval.concepts import query_concepts
from assistant.retrieval.fusion import FusionParams
from assistant.retrieval.legs import gate_lexical

REPO = Path(__file__).resolve().parent.parent
DEV = REPO.parent / "shared" / "eval" / "questions.jsonl"
HELDOUT = REPO / "bench" / "heldout" / "questions.jsonl"
RESULTS = REPO / "bench" / "results" / "lexical_backends.jsonl"
_TOKEN = re.compile(r"\w+")

Search = Callable[[list[str], int], list[tuple[int, float]]]


def folder_size(path: Path) -> int:
    """Bytes of the files under a path (or of the file)."""
    return path.stat().st_size if path.is_file() else sum(
        p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_fts5(rows: list[tuple[int, str, str]], folder: Path, params: FusionParams
               ) -> tuple[Search, float, int]:
    """An FTS5 table like the product's; its search, build seconds and bytes on disk."""
    path = folder / "fts5.sqlite"
    start = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE lexical USING fts5(text, compounds, "
               "tokenize = 'unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO lexical(rowid, text, compounds) VALUES (?, ?, ?)", rows)
    db.commit()
    seconds = time.perf_counter() - start
    db.close()
    size = folder_size(path)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def search(words: list[str], limit: int) -> list[tuple[int, float]]:
        match = fts_match(words, params.prefix_min)
        if not match:
            return []
        found = db.execute("SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ? "
                           "ORDER BY bm25(lexical) LIMIT ?", (match, limit))
        return [(int(r), -float(s)) for r, s in found]

    return search, seconds, size


def build_bm25s(rows: list[tuple[int, str, str]], folder: Path, params: FusionParams
                ) -> tuple[Search, float, int]:
    """A bm25s index (k1 1.2, b 0.75, as FTS5's bm25()); its search, build seconds and bytes
    saved to disk."""
    import bm25s

    start = time.perf_counter()
    corpus = [_TOKEN.findall(f"{text} {compounds}") for _, text, compounds in rows]
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index(corpus, show_progress=False)
    seconds = time.perf_counter() - start
    retriever.save(str(folder / "bm25s"), show_progress=False)
    size = folder_size(folder / "bm25s")
    vocabulary = sorted(retriever.vocab_dict)
    row_ids = np.array([r for r, _, _ in rows])

    def expand(word: str) -> list[str]:
        if len(word) < params.prefix_min:
            return [word] if word in retriever.vocab_dict else []
        i = bisect.bisect_left(vocabulary, word)
        out = []
        while i < len(vocabulary) and vocabulary[i].startswith(word):
            out.append(vocabulary[i])
            i += 1
        return out

    def search(words: list[str], limit: int) -> list[tuple[int, float]]:
        tokens = [t for w in dict.fromkeys(words) for t in expand(w)]
        if not tokens:
            return []
        scores = retriever.get_scores(tokens)
        order = np.lexsort((row_ids, -scores))[:limit]
        return [(int(row_ids[i]), float(scores[i])) for i in order if scores[i] > 0]

    return search, seconds, size


def quality(reader: SegmentStore, questions: list[Question], search: Search,
            params: FusionParams) -> dict[str, float]:
    """Lexical-only R@1, R@5 and MRR@10 over the answerable questions."""
    ranks: list[int | None] = []
    for question in questions:
        if not question.answerable:
            continue
        concepts = query_concepts(reader, question.question, params)
        found = search([w for c in concepts for form in c.forms for w in form], params.depth * 4)
        rows = [r for r, _ in gate_lexical(reader, concepts, found, params)][:10]
        chunks = reader.chunks(rows)
        ranks.append(next((i for i, r in enumerate(rows, 1) if any(
            matches(chunks[r].doc, chunks[r].text, g) for g in question.gold)), None))
    return {k: v for k, v in summary(ranks).items() if k != "n"}


def query_times(queries: list[list[str]], search: Search, limit: int, rounds: int
                ) -> list[float]:
    """Seconds the backend takes for each query in each round (after one warm-up round)."""
    times = []
    for words in queries:
        search(words, limit)
        for _ in range(rounds):
            start = time.perf_counter()
            search(words, limit)
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--scale", type=int, default=100,
                        help="also time both backends over the texts repeated this many times")
    args = parser.parse_args()
    settings = load_settings()
    reader = open_store(settings.index_dir)
    params = FusionParams()
    rows = [((number << SHIFT) + int(r), t, c) for number, segment in reader.segments.items()
            for r, t, c in segment.db.execute("SELECT rowid, text, compounds FROM lexical "
                                              "ORDER BY rowid") if r not in segment.dead_rows]
    sets = {"dev": read_questions(DEV), "held-out": read_questions(HELDOUT)}
    queries = [[w for c in query_concepts(reader, q.question, params) for form in c.forms
                for w in form] for questions in sets.values() for q in questions if q.answerable]
    record: dict[str, object] = {"date": time.strftime("%Y-%m-%d"), "chunks": len(rows),
                                 "generation": reader.name, "rounds": args.rounds}
    print(f"index {reader.name}: {len(rows)} chunks; "
          f"query times over {len(queries)} questions × {args.rounds} rounds\n")
    print("| backend | chunks | dev R@1 | dev R@5 | dev MRR@10 | held-out R@1 | held-out R@5 | "
          "held-out MRR@10 | query p50 | query p95 | build | size |")
    print("|---" * 12 + "|")
    scaled = [(i * len(rows) + r, t, c) for i in range(args.scale) for r, t, c in rows]
    for corpus in (rows, scaled) if args.scale > 1 else (rows,):
        for name, build in (("SQLite FTS5", build_fts5), ("bm25s", build_bm25s)):
            with tempfile.TemporaryDirectory(prefix="lexical-") as tmp:
                search, seconds, size = build(corpus, Path(tmp), params)
                figures = {s: quality(reader, qs, search, params) for s, qs in sets.items()
                           } if corpus is rows else {}
                times = query_times(queries, search, params.depth * 4, args.rounds)
            p50, p95 = percentile(times, 50) * 1000, percentile(times, 95) * 1000
            cells = ([f"{v:.3f}" for m in figures.values() for v in m.values()]
                     or ["–"] * 6)
            cells += [f"{p50:.2f} ms", f"{p95:.2f} ms", f"{seconds * 1000:.0f} ms",
                      f"{size / 1024:.0f} KiB"]
            print(f"| {name} | {len(corpus)} | " + " | ".join(cells) + " |")
            record[f"{name}, {len(corpus)} chunks"] = {
                **{f"{s} {k}": round(v, 4) for s, m in figures.items() for k, v in m.items()},
                "query_p50_ms": round(p50, 3), "query_p95_ms": round(p95, 3),
                "build_ms": round(seconds * 1000, 1), "size_bytes": size}
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
