"""How much the lexical leg's bound in passages (`FusionParams.lexical_rows`) changes what a
search finds on a large index (issue 15, item 3). The development sets are too small for the
bound to bind (with the share of 0.5, it binds beyond twice the bound), so this compares, on
a built synthetic index (bench/scale.py: documents made of the seed corpus's and swefaq-dev's
real paragraphs), each question's results with the bound and without it:

    PYTHONPATH=$PWD .venv/bin/python bench/lexical_rows.py bench/cache/scale/index-100000-s15

For each bound, as means over the questions: the lexical leg's top 20 in common with the
unbounded leg's, the fused top 10 in common, how often the first hit is the same, and, for
answerable questions, how often the lexical leg's top 20 holds a passage containing a gold
text (folded; the synthetic documents have other names, so the gold's document is not
checked). The lexical leg does not depend on the model; the fused figures are the stand-in
model's. Prints one JSON record; `--record` appends it to bench/results/lexical_rows.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scale import commit, default_questions  # noqa: E402
from search_scale import existing  # noqa: E402


def common(found: list[Any], base: list[Any]) -> float:
    """The share of the longer list that both hold (1 when both are empty)."""
    if not found and not base:
        return 1.0
    return len(set(found) & set(base)) / max(len(found), len(base))


def agreement(index: Path, question_files: list[Path], bounds: list[int]) -> dict[str, Any]:
    """Per bound (None: unbounded), means over the questions."""
    from assistant.engine import Engine
    from assistant.evaluate import read_questions
    from assistant.lang.fold import fold
    from assistant.retrieval.concepts import query_concepts
    from assistant.retrieval.legs import lexical_leg, partitions
    from assistant.retrieval.search import dense_query, search_vector
    from assistant.types import Filters

    engine = Engine(existing(index))
    store, params = engine.reader, engine.params
    asked = [q for path in question_files for q in read_questions(path)]
    vectors = engine.embedder.queries([dense_query(q.question, params) for q in asked])
    parts = partitions(store, Filters(), params.balance_languages)

    def ranked(text: str, vector: Any, bound: int | None) -> tuple[list[int], list[str]]:
        p = replace(params, lexical_rows=bound)
        leg = lexical_leg(store, query_concepts(store, text, p), parts, p)
        hits = search_vector(store, text, vector, 10, None, p)
        return [r for r, _ in leg[:20]], [h.chunk.id for h in hits]

    def holds_gold(rows: list[int], gold: list[str]) -> bool:
        texts = [fold(c.text) for c in store.chunks(rows).values()]
        return any(g in t for g in gold for t in texts)

    base = [ranked(q.question, v, None) for q, v in zip(asked, vectors, strict=True)]
    result = {}
    for bound in [None, *bounds]:
        sums = dict.fromkeys(("lexical_top20_common", "fused_top10_common", "first_same"), 0.0)
        gold_found = answerable = 0
        for (leg0, hits0), q, vector in zip(base, asked, vectors, strict=True):
            leg, hits = ranked(q.question, vector, bound)
            sums["lexical_top20_common"] += common(leg, leg0)
            sums["fused_top10_common"] += common(hits, hits0)
            sums["first_same"] += bool(hits and hits0 and hits[0] == hits0[0])
            if q.answerable and q.gold:
                answerable += 1
                gold_found += holds_gold(leg, [fold(g.text) for g in q.gold])
        result[str(bound)] = {**{k: round(v / len(asked), 3) for k, v in sums.items()},
                              "lexical_top20_holds_gold": f"{gold_found}/{answerable}"}
    record = {"bench": "lexical_rows", "date": time.strftime("%Y-%m-%d %H:%M"),
              "commit": commit(), "index": str(index), "chunks": store.size(),
              "lexical_share": params.lexical_share,
              "questions": {p.name: len(read_questions(p)) for p in question_files},
              "bounds": result}
    engine.close()
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path, help="an index folder already built")
    parser.add_argument("--questions", type=Path, nargs="+", default=[
        default_questions(), *(default_questions().parent / "swefaq-dev" / f"ret-{lang}.jsonl"
                               for lang in ("sv", "en"))])
    parser.add_argument("--bounds", type=int, nargs="+", default=[20_000, 10_000, 5_000])
    parser.add_argument("--record", action="store_true",
                        help="append the record to bench/results/lexical_rows.jsonl")
    args = parser.parse_args(argv)
    record = agreement(args.index, args.questions, args.bounds)
    print(json.dumps(record, ensure_ascii=False))
    if args.record:
        with (REPO / "bench" / "results" / "lexical_rows.jsonl").open("a",
                                                                       encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
