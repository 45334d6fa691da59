"""Cross-validation of fusion parameters and refusal model by group (bench/fit.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.answer.evidence import FEATURES
from assistant.retrieval.fusion import FusionParams
from bench.fit_collect import Material
from bench.fit_logistic import MAX_ANSWERABLE_REFUSED, choose_cuts, fit_logistic, probability
from bench.fit_replay import TOP, feature_matrix, gold_rank, replay

TRAIN = ("seed", "ret", "ref")  # corpora fitted on; "seed+ret" is scored only
MIN_PER_LANGUAGE = 20  # answerable questions a language needs for a refusal cut of its own
PER_LANGUAGE = True  # fit the refusal cut per question language (bench/RESULTS.md compares)
LEAD_RANK_PENALTY = 0.02  # as assistant/answer/compose.py: the lead's passage, approximately


Table = dict[tuple[str, str], tuple[np.ndarray, list[int]]]
# A question's replayed top rows for parameters and documents left out (default: RRF, replay;
# bench/fit_rerank.py's live_order: the learned order where the live search applies it).
Ranker = Callable[[Material, FusionParams, frozenset[str]], list[int]]


def rr_table(data: dict[str, list[Material]], grid: list[FusionParams]) -> Table:
    """Per fitted set (corpus, part): reciprocal rank of each answerable question under each
    parameter set, and the questions' positions in the corpus's material."""
    table = {}
    for corpus in TRAIN:
        for part in dict.fromkeys(m.part for m in data[corpus]):
            idx = [i for i, m in enumerate(data[corpus]) if m.part == part and
                   m.question.answerable]
            rr = np.zeros((len(idx), len(grid)))
            for a, i in enumerate(idx):
                for b, params in enumerate(grid):
                    rank = gold_rank(data[corpus][i], replay(data[corpus][i], params))
                    rr[a, b] = 1 / rank if rank else 0.0
            table[corpus, part] = rr, idx
    return table


# The seed dev bar (R@1, MRR@10) is a constraint of the fit: among the parameter sets that
# hold it on the kept dev questions, the best mean MRR@10 wins (unconstrained if none does).
DEV_BAR = (0.75, 0.85)


def best_params(table: Table, keep: Callable[[str, int], bool], grid: list[FusionParams],
                constrained: bool = True) -> FusionParams:
    """The parameters of highest mean (over sets) MRR@10 on the kept questions."""
    means = []
    holds = np.ones(len(grid), dtype=bool)
    for (corpus, part), (rr, idx) in table.items():
        mask = np.array([keep(corpus, i) for i in idx], dtype=bool)
        if mask.any():
            means.append(rr[mask].mean(0))
            if constrained and (corpus, part) == ("seed", "dev"):
                holds = ((rr[mask] == 1).mean(0) >= DEV_BAR[0]) & (
                    rr[mask].mean(0) >= DEV_BAR[1])
    score = np.mean(means, axis=0)
    if holds.any():
        score = np.where(holds, score, -1.0)
    return grid[int(np.argmax(score))]


def examples(data: dict[str, list[Material]], params: FusionParams,
             keep: Callable[[str, int], bool], corpora: tuple[str, ...] = TRAIN,
             rank: Ranker = replay) -> dict[str, Any]:
    """The refusal's examples: every kept question as it is, and each answerable one with its
    gold documents left out (a negative); with what each mode would get right."""
    items, labels, real, lead, top, where = [], [], [], [], [], []
    for corpus in corpora:
        for i, m in enumerate(data[corpus]):
            if not keep(corpus, i):
                continue
            cases = [(frozenset(), m.question.answerable, True)]
            if m.question.answerable:
                cases.append((frozenset(g.doc for g in m.question.gold), False, False))
            for exclude, label, is_real in cases:
                ranked = rank(m, params, exclude)
                items.append((m, ranked, exclude))
                labels.append(label)
                real.append(is_real)
                lead.append(label and _lead_gold(m, ranked))
                top.append(label and bool(ranked) and m.rows[ranked[0]].gold)
                where.append((corpus, m.part, m.question.lang, gold_rank(m, ranked)))
    return {"x": feature_matrix(items, params), "y": np.array(labels, dtype=bool),
            "real": np.array(real, dtype=bool), "lead": np.array(lead, dtype=bool),
            "top": np.array(top, dtype=bool), "where": where,
            "lang": np.array([w[2] for w in where])}


def _lead_gold(m: Material, ranked: list[int]) -> bool:
    """Is the passage the answer would quote first gold (best sentence, rank-penalised)?"""
    pool = ranked[:TOP]
    if not pool:
        return False
    lead = max(range(len(pool)),
               key=lambda j: m.rows[pool[j]].best_sentence - LEAD_RANK_PENALTY * j)
    return m.rows[pool[lead]].gold


def fit_model(ex: dict[str, Any]) -> dict[str, Any]:
    """The logistic model and its two cuts, from examples."""
    model = fit_logistic(ex["x"], ex["y"].astype(float))
    p = probability(model, ex["x"])
    refuse, passages = choose_cuts(p, ex["y"], ex["real"], ex["lead"], ex["top"])
    by_language = {}
    for lang in sorted(set(ex["lang"])):
        pos = p[ex["y"] & ex["real"] & (ex["lang"] == lang)]
        if len(pos) >= MIN_PER_LANGUAGE:
            by_language[str(lang)] = float(np.quantile(pos, MAX_ANSWERABLE_REFUSED))
    return {"features": list(FEATURES), **model, "refuse_below": refuse,
            "passages_below": passages,
            **({"refuse_below_by_language": by_language} if PER_LANGUAGE else {})}


def fit_all(data: dict[str, list[Material]], grid: list[FusionParams], table: Table,
            rank: Ranker = replay) -> tuple[FusionParams, dict[str, Any]]:
    """Parameters and model fitted on every question (what ships)."""
    params = best_params(table, lambda c, i: True, grid)
    return params, fit_model(examples(data, params, lambda c, i: True, rank=rank))


def cross_validate(data: dict[str, list[Material]], grid: list[FusionParams],
                   group: Callable[[Material], str], table: Table,
                   ranks: dict[str, Ranker] | None = None,
                   fixed: dict[str, Any] | None = None,
                   train_rrf: bool = False) -> tuple[list[str], Any]:
    """Markdown lines: per set, the figures of each question scored by the fold that left its
    group out. `ranks`: each group's ranking (default RRF); `fixed`: a refusal model scored
    as it is instead of one fitted per fold; `train_rrf`: each fold's model fitted on RRF
    replays, whatever ranking it is scored on."""
    groups = sorted({group(m) for ms in data.values() for m in ms})
    scored: list[dict[str, Any]] = []
    picks: Counter[str] = Counter()
    for g in groups:
        def train(corpus: str, i: int, g: str = g) -> bool:
            return group(data[corpus][i]) != g

        def test(corpus: str, i: int, g: str = g) -> bool:
            return group(data[corpus][i]) == g

        params = best_params(table, train, grid)
        order = (ranks or {}).get(g, replay)
        model = fixed or fit_model(examples(data, params, train,
                                            rank=replay if train_rrf else order))
        ex = examples(data, params, test, (*TRAIN, "seed+ret"), order)
        if not len(ex["y"]):
            continue
        picks[f"k={params.rrf_k:g} w={params.weights} cov={params.min_coverage} "
              f"d={params.depth} pull={params.language_pull}"] += 1
        p = probability(model, ex["x"])
        for j, (corpus, part, lang, rank) in enumerate(ex["where"]):
            cut = model.get("refuse_below_by_language", {}).get(lang, model["refuse_below"])
            mode = ("refusal" if p[j] < cut else
                    "passages" if p[j] < model["passages_below"] else "answer")
            scored.append({"corpus": corpus, "part": part, "lang": lang, "rank": rank,
                           "answerable": bool(ex["y"][j]), "real": bool(ex["real"][j]),
                           "mode": mode, "lead": bool(ex["lead"][j]),
                           "top": bool(ex["top"][j])})
    from bench.fit_report import report

    return report(scored, picks), scored
