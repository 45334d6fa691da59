"""What the lexical leg's SQLite FTS5 statement costs per question, and what would prune it
(issue 15, item 3). Run from the repository root on an index already built:

    PYTHONPATH=$PWD .venv/bin/python bench/lexical_cost.py bench/cache/scale/index-100000-s15

For each question's lexical words (the concepts' forms, as `lexical_leg` asks for them; with
`--share S`, only the rarest words within that share, and with `--rows R` within R passages,
`legs.lexical_words`), per segment, in CPU ms per question:
- `ranked`: the leg's own statement, the best `depth × 4` rows by bm25;
- `by_rank`: the same through FTS5's `ORDER BY rank`;
- `matched`: `count(*)` of the same match, which reads the same posting lists but ranks nothing;
- the rows matched, and the rows an exact top-k pruning (MaxScore) would still have to score:
  phrases are dropped rarest-last while the sum of their bm25 upper bounds
  (idf × (k1 + 1)) stays under the worst score kept, and the rest's document frequencies are
  summed (an upper bound on their union).
Prints one JSON record; `--record` appends it to bench/results/lexical_cost.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scale import commit, default_questions, questions  # noqa: E402

from assistant.index.store import fts_match, open_store  # noqa: E402
from assistant.retrieval.concepts import query_concepts  # noqa: E402
from assistant.retrieval.fusion import FusionParams  # noqa: E402
from assistant.retrieval.legs import lexical_words  # noqa: E402

K1 = 1.2  # FTS5's bm25 constant: a phrase's share tends to idf × (K1 + 1)


def timed(db: Any, sql: str, args: tuple[Any, ...]) -> tuple[list[Any], float]:
    """A statement's rows, and the CPU milliseconds it took."""
    started = time.process_time()
    result = db.execute(sql, args).fetchall()
    return result, (time.process_time() - started) * 1000


def prunable(db: Any, rows: int, words: list[str], prefix_min: int, worst_kept: float) -> int:
    """Rows an exact MaxScore pass would still score, of a segment's `rows`: the summed
    document frequencies of the phrases left once the commonest are dropped while their upper
    bounds stay < worst_kept."""
    bounds = []
    for word in words:
        (df,) = db.execute("SELECT count(*) FROM lexical WHERE lexical MATCH ?",
                           (fts_match([word], prefix_min),)).fetchone()
        if df:
            idf = max(math.log((rows - df + 0.5) / (df + 0.5)), 1e-6)
            bounds.append((idf * (K1 + 1), df))
    dropped, left = 0.0, 0
    for bound, df in sorted(bounds):
        if dropped + bound < worst_kept:
            dropped += bound
        else:
            left += df
    return left


def measure(index: Path, question_file: Path, share: float | None, rows_cap: int | None
            ) -> dict[str, Any]:
    """Per-question means over the questions (CPU ms, rows)."""
    store = open_store(index)
    params = FusionParams(lexical_share=share, lexical_rows=rows_cap)
    limit = params.depth * 4
    texts = questions(question_file)
    totals = {"ranked": 0.0, "by_rank": 0.0, "matched": 0.0}
    rows = {"matched": 0, "to_score": 0}
    same = 0
    sizes = {number: segment.db.execute("SELECT count(*) FROM lexical").fetchone()[0]
             for number, segment in store.segments.items()}
    for text in texts:
        concepts = query_concepts(store, text, params)
        words = list(dict.fromkeys(lexical_words(store, concepts, params)))
        match = fts_match(words, params.prefix_min)
        for number, segment in store.segments.items():
            db = segment.db
            ranked, ms = timed(db, "SELECT rowid, bm25(lexical) FROM lexical WHERE lexical "
                                   "MATCH ? ORDER BY bm25(lexical) LIMIT ?", (match, limit))
            totals["ranked"] += ms
            by_rank, ms = timed(db, "SELECT rowid, rank FROM lexical WHERE lexical MATCH ? "
                                    "ORDER BY rank LIMIT ?", (match, limit))
            totals["by_rank"] += ms
            same += [r for r, _ in ranked] == [r for r, _ in by_rank]
            [(count,)], ms = timed(db, "SELECT count(*) FROM lexical WHERE lexical MATCH ?",
                                   (match,))
            totals["matched"] += ms
            rows["matched"] += count
            worst = -ranked[-1][1] if len(ranked) >= limit else 0.0
            rows["to_score"] += prunable(db, sizes[number], words, params.prefix_min, worst)
    n = len(texts)
    return {
        "bench": "lexical_cost", "date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit(),
        "index": str(index), "lexical_share": share,
        "lexical_rows": rows_cap, "chunks": store.size(),
        "segments": len(store.segments),
        "questions": n, "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpu_ms_per_question": {k: round(v / n, 1) for k, v in totals.items()},
        "rows_per_question": {k: round(v / n) for k, v in rows.items()},
        "rank_order_same": f"{same}/{n * len(store.segments)}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path, help="an index folder already built")
    parser.add_argument("--questions", type=Path, default=default_questions())
    parser.add_argument("--share", type=float, default=None,
                        help="the lexical leg's share (FusionParams.lexical_share)")
    parser.add_argument("--rows", type=int, default=None,
                        help="the lexical leg's bound in passages (FusionParams.lexical_rows)")
    parser.add_argument("--record", action="store_true",
                        help="append the record to bench/results/lexical_cost.jsonl")
    args = parser.parse_args(argv)
    record = measure(args.index, args.questions, args.share, args.rows)
    print(json.dumps(record, ensure_ascii=False))
    if args.record:
        with (REPO / "bench" / "results" / "lexical_cost.jsonl").open("a") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
