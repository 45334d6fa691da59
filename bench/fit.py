"""Fit the fusion parameters and the refusal model by cross-validation over every development
set, folds by document; write the model to assistant/data/refusal_model.json and a report.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m bench.fit [--write] [--grid] [--rrf]
        [--before] [--train-rrf]

Sets: dev and held-out over corpus/, swefaq ret-sv/ret-en over corpus-ret, ref-sv/ref-en over
corpus-ref, and dev + held-out + ret over the two corpora indexed together (scored, not fitted
on). A fold is one group: the gold document of a question (an English question sits with its
Swedish original; a Västra Götalandsregionen question of the ref files with the ret document
that answers it), or the question itself for the seed set's unanswerable ones. Each fold's
parameters and model are fitted on the other folds' questions of every set and score its own.

Refusal negatives: the unanswerable questions, plus every answerable question with its gold
documents left out of retrieval ("leave-document-out": a question of the same kind that the
corpus no longer answers), replayed from the collected legs without re-indexing.

The examples replay the ranking the live search gives: for a question the learned fusion
applies to (assistant/retrieval/learned.py: Swedish, at the shipped fusion parameters) the fused
candidates reordered as bench/fit_rerank.py replays them, each fold with weights fitted without
its group (the shipped weights for the model fitted on everything); `--rrf` replays RRF for
every question (as before issue 12's refit). The fusion parameters are the shipped ones, those
the learned weights were fitted for; `--grid` searches the grid of `grid()` again (the learned
order then applies only where a fold picks the shipped parameters). `--before` scores the
shipped refusal model as it is, on the same rankings, instead of fitting one per fold;
`--train-rrf` fits each fold's model on RRF replays (the procedure before the refit) and scores
it on the live order.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

from assistant.answer.evidence import MODEL
from assistant.config import load_settings
from assistant.engine import Engine, configure_threads
from assistant.retrieval.fusion import FusionParams
from bench import devsets
from bench.fit_collect import Material, collect

SETS = {"seed": ("dev", "held-out"), "ret": ("ret-sv", "ret-en"), "ref": ("ref-sv", "ref-en"),
        "seed+ret": ("dev", "held-out", "ret-sv", "ret-en")}
TRAIN_CORPORA = ("seed", "ret", "ref")  # seed+ret is scored only


def grid() -> list[FusionParams]:
    """RRF k × sentence and lexical leg weights (dense at 1) × lexical gate × depth × how the
    dense legs merge document languages (None: in turn; else the pull, see merge_languages)."""
    out = []
    for k in (10.0, 30.0, 60.0, 100.0):
        for ws in (0.5, 1.0, 1.5, 2.0):
            for wl in (0.0, 0.25, 0.5, 1.0):
                for cov in ((0.0,) if wl == 0 else (0.0, 0.3, 0.5, 0.7)):
                    for depth in (20, 50):
                        for pull in (None, 0.5, 0.75, 1.0):
                            out.append(FusionParams(rrf_k=k, weights=(1.0, ws, wl),
                                                    min_coverage=cov, depth=depth,
                                                    language_pull=pull))
    return out


def describe(p: FusionParams) -> str:
    """Short text of the fitted fields."""
    return (f"k={p.rrf_k:g} w={'/'.join(f'{w:g}' for w in p.weights)} "
            f"cov={p.min_coverage:g} depth={p.depth} pull={p.language_pull}")


def materials() -> dict[str, list[Material]]:
    """The collected legs of every set over its corpus (cached per corpus in
    bench/.cache/fit/; delete it after changing the legs or the index)."""
    cache = devsets.CACHE / "fit"
    order = ("seed", "ref", "ret", "seed+ret")  # each index starts from the one before it
    if all((cache / f"{c}.pkl").is_file() for c in order):
        return {c: pickle.loads((cache / f"{c}.pkl").read_bytes()) for c in order}
    settings = load_settings()
    configure_threads(settings)
    embedder = devsets.query_embedder(settings)
    dirs = devsets.corpus_dirs(devsets.EVAL)
    files = {n: p for s in devsets.eval_sets(devsets.EVAL) for n, p in s.parts}
    seeds = {"seed": (), "ref": ("seed",), "ret": ("ref",), "seed+ret": ("ret", "ref")}
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for corpus in order:
        path = cache / f"{corpus}.pkl"
        if path.is_file():
            out[corpus] = pickle.loads(path.read_bytes())
            continue
        own = devsets.built_index(corpus, dirs[corpus], settings, embedder, seeds[corpus])
        questions, parts = devsets.read_parts([(n, files[n]) for n in SETS[corpus]])
        engine = Engine(own, embedder)
        out[corpus] = collect(engine.reader, embedder, questions, parts, FusionParams())
        engine.close()
        path.write_bytes(pickle.dumps(out[corpus]))
        print(f"collected {corpus}: {len(questions)} questions", file=sys.stderr)
    return out


def group_of(m: Material, ret_docs: dict[str, str]) -> str:
    """The fold a question belongs to (see the module docstring)."""
    if m.question.gold:
        return m.question.gold[0].doc
    return ret_docs.get(m.question.id, f"question:{m.question.id}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="write the fitted model")
    parser.add_argument("--out", type=Path, default=devsets.REPO / "bench" / "fit-report.md")
    parser.add_argument("--grid", action="store_true", help="search the fusion grid")
    parser.add_argument("--rrf", action="store_true", help="replay RRF for every question")
    parser.add_argument("--before", action="store_true",
                        help="score the shipped refusal model instead of fitting it")
    parser.add_argument("--train-rrf", action="store_true",
                        help="fit each fold's refusal on RRF replays (scored on the live order)")
    args = parser.parse_args()
    data = materials()
    ret_docs = {m.question.id: m.question.gold[0].doc for m in data["ret"] if m.question.gold}
    from bench.fit_cv import cross_validate, fit_all, rr_table
    from bench.fit_replay import replay
    from bench.fit_rerank import live_orders

    def group(m: Material) -> str:
        return group_of(m, ret_docs)

    params_grid = grid() if args.grid else [FusionParams()]
    table = rr_table(data, params_grid)
    ranks, shipped = ({}, replay) if args.rrf else live_orders(data, group)
    fixed = json.loads(MODEL.read_text(encoding="utf-8")) if args.before else None
    lines, _ = cross_validate(data, params_grid, group, table, ranks, fixed, args.train_rrf)
    params, model = fit_all(data, params_grid, table, shipped)
    lines += ["", f"Fitted on everything: {describe(params)}; model {json.dumps(model)}"]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if args.write and not (args.before or args.train_rrf):  # comparisons: nothing to write
        model["embedding_model"] = load_settings().model  # its cosines' scale (for_embedder)
        model["fusion"] = {"rrf_k": params.rrf_k, "weights": list(params.weights),
                           "min_coverage": params.min_coverage, "depth": params.depth,
                           "language_pull": params.language_pull}
        MODEL.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    return 0

if __name__ == "__main__":
    sys.exit(main())
