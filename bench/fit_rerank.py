"""Does a small learned score fusion beat reciprocal-rank fusion? (issue 12)

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m bench.fit_rerank [--write] [--l2 0.01 ...]
        [--own en --own-l2 0.1 ...] [--answer-type] [--extra]

Per question, the candidates are the fused rows of the replayed legs at the shipped fusion
parameters (bench/fit_replay.py); each candidate gets the features of
assistant/retrieval/learned.py (the same function the live search calls): the dense and
best-sentence cosines as gaps to the question's best (a candidate missing from a leg gets its
lowest cosine and a flag), the lexical rank as 1/(k+rank), the lexical concept coverage, the
RRF score itself, and whether the passage's language is the question's. A linear scorer is
fitted by listwise softmax (the gold candidates' share of the softmax, L2 on the standardised
weights), with the folds of bench/fit.py (one per gold document, `group_of`): each fold is scored
by weights fitted on the other folds' questions of the seed, ret and ref sets; seed+ret is scored
only. A fold whose weights miss the seed dev bar on its own training dev questions keeps RRF
(the constraint bench/fit_cv.py puts on the fusion parameters). The learned order applies to
Swedish questions only (LANGUAGES): English ones keep RRF (bench/fit-rerank.md shows why).
`--own en` tries English questions with weights of their own, fitted on the training folds'
English questions only (`--own-l2` their L2); tables split mixed-language sets by language.
`--write` writes the weights fitted on every question to assistant/data/fusion_model.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from assistant.config import load_settings
from assistant.retrieval.fusion import FusionParams, fuse
from assistant.retrieval.learned import (
    FEATURES,
    MODEL,
    LearnedFusion,
    features,
    fitted_fields,
    fusion_model,
    lifted,
)
from bench import devsets
from bench.fit import TRAIN_CORPORA, group_of, materials
from bench.fit_collect import Material
from bench.fit_cv import DEV_BAR
from bench.fit_replay import gold_rank, replay, replay_legs

# Tried, not shipped (--extra): z-scores of the cosines over the question's candidates, and
# four features again for a question not in Swedish.
EXTRA = ("dense_z", "sentence_z", "other_dense_gap", "other_sentence_gap", "other_lexical_rr",
         "other_rrf")
# Tried, not shipped (--answer-type): for a who/when/how-many question, whether the candidate's
# best sentence holds what it asks for (an actor, a date, a number: answer.question.satisfies),
# and whether it does not.
ANSWER_TYPE = ("kind_satisfied", "kind_unsatisfied")
TYPED_KINDS = ("who", "when", "count")
L2 = 0.01  # on the standardised weights, per question of training data
SHIPPED = replace(FusionParams(), learned=False)
LANGUAGES = ("sv",)  # question languages the learned order applies to (others keep RRF)
K = 10  # MRR@10, and the ranking's length
EXTRA_ON = False  # add the EXTRA features (--extra)
ANSWER_TYPE_ON = False  # add the ANSWER_TYPE features (--answer-type)
ALL_LANGUAGES = False  # the learned order for every question (--all-languages)
BALANCE = False  # weigh each fitted set alike in the loss (--balance), not each question
OWN: tuple[str, ...] = ()  # question languages with weights fitted on their own questions (--own)
Weights = dict[str, np.ndarray]  # per question language, raw weights (absent: RRF)


def candidates(m: Material, params: FusionParams, exclude: frozenset[str] = frozenset()
               ) -> tuple[list[int], np.ndarray]:
    """A question's candidate rows (the fused order) and their features, computed by the
    product's own function from the collected legs, with the documents in `exclude` left out
    (of the legs and of the cosines the features look up)."""
    legs = replay_legs(m, params, exclude)
    fused = fuse(legs, params)
    rows = [r for r, _ in fused]
    cosines = {leg: [[(r, c) for r, c in ranking if m.rows[r].doc not in exclude]
                     for ranking in getattr(m, leg)] for leg in ("dense", "sentence")}
    x = features(fused, legs, cosines, {r: m.rows[r].language for r in rows},
                 {r: m.rows[r].lexical_coverage for r in rows}, m.language, params)
    if ANSWER_TYPE_ON:
        typed = m.kind in TYPED_KINDS
        x = np.hstack([x, np.array([[typed and m.rows[r].satisfied,
                                     typed and not m.rows[r].satisfied] for r in rows],
                                   dtype=float).reshape(len(rows), len(ANSWER_TYPE))])
    if not EXTRA_ON:
        return rows, x
    extra = np.zeros((len(rows), len(EXTRA)))
    for j, leg in enumerate(("dense", "sentence")):
        cos = lifted(getattr(m, leg), params.language_pull)
        v = np.array([cos.get(r, min(cos.values(), default=0.0)) for r in rows])
        extra[:, j] = (v - v.mean()) / (v.std() or 1.0) if len(v) else v
    for j, name in enumerate(("dense_gap", "sentence_gap", "lexical_rr", "rrf"), start=2):
        extra[:, j] = x[:, FEATURES.index(name)] * (m.language != "sv")
    return rows, np.hstack([x, extra])


def names() -> tuple[str, ...]:
    """The features in use."""
    return (FEATURES + (ANSWER_TYPE if ANSWER_TYPE_ON else ())
            + (EXTRA if EXTRA_ON else ()))


class Question:
    """One question's candidates, features and gold mask (for fitting and scoring)."""

    def __init__(self, m: Material, params: FusionParams,
                 exclude: frozenset[str] = frozenset()) -> None:
        self.m = m
        self.rows, self.x = candidates(m, params, exclude)
        self.gold = np.array([m.rows[r].gold for r in self.rows], dtype=bool)

    def ranked(self, w: np.ndarray | None) -> list[int]:
        """Top rows by the linear score (None: RRF's order), ties by row."""
        if w is None:
            return self.rows[:K]
        s = self.x @ w
        order = sorted(range(len(self.rows)), key=lambda i: (-s[i], self.rows[i]))
        return [self.rows[i] for i in order[:K]]


def fit(qs: list[Question], l2: float = L2) -> dict[str, list[float]]:
    """Standardisation and weights of the listwise softmax over the answerable questions with
    a gold candidate, each set weighing as much as another (as best_params means over sets)."""
    qs = [q for q in qs if q.gold.any()]
    sizes = Counter(q.m.part for q in qs)
    share = [len(qs) / (len(sizes) * sizes[q.m.part]) if BALANCE else 1.0 for q in qs]
    allx = np.vstack([q.x for q in qs])
    mean, scale = allx.mean(0), allx.std(0)
    scale[scale == 0] = 1.0
    xs = [(q.x - mean) / scale for q in qs]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * len(qs) * w @ w, l2 * len(qs) * w
        for x, q, a in zip(xs, qs, share, strict=True):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            g = p[q.gold].sum()
            total -= a * np.log(g)
            grad += a * (p @ x - (p[q.gold] / g) @ x[q.gold])
        return total, grad

    w = minimize(loss, np.zeros(len(names())), jac=True, method="L-BFGS-B").x
    # Folded into raw-feature weights (a constant shift does not change a ranking).
    return {"features": list(names()), "mean": mean.tolist(), "scale": scale.tolist(),
            "weights": w.tolist(), "raw": (w / scale).tolist()}


def figures(qs: list[Question], ranked: Callable[[Question], list[int]]) -> tuple[float, ...]:
    """R@1, R@5, MRR@10 of the answerable questions."""
    ranks = [gold_rank(q.m, ranked(q)) for q in qs if q.m.question.answerable]
    n = len(ranks) or 1
    return (sum(r == 1 for r in ranks) / n, sum(r is not None and r <= 5 for r in ranks) / n,
            sum(1 / r for r in ranks if r) / n)


def holds_bar(qs: list[Question], weights: Weights) -> bool:
    """Do the weights (per question language) hold the seed dev bar on these questions?"""
    if not qs:
        return True
    r1, _, mrr = figures(qs, lambda q: q.ranked(weights.get(q.m.language)))
    return r1 >= DEV_BAR[0] and mrr >= DEV_BAR[1]


def questions(data: dict[str, list[Material]], params: FusionParams
              ) -> dict[str, list[Question]]:
    """Every corpus's questions with their candidates."""
    return {c: [Question(m, params) for m in ms] for c, ms in data.items()}


def fit_languages(train: list[Question], l2: float, own_l2: float | None = None
                  ) -> dict[str, dict[str, list[float]]]:
    """Per question language the learned order applies to, the model fitted for it: one on
    every training question, or (languages in OWN) one on that language's questions only."""
    langs = sorted({q.m.language for q in train}) if ALL_LANGUAGES else [*LANGUAGES, *OWN]
    pooled = fit(train, l2) if set(langs) - set(OWN) else None
    return {lang: fit([q for q in train if q.m.language == lang],
                      l2 if own_l2 is None else own_l2) if lang in OWN else pooled
            for lang in langs if lang in OWN or pooled is not None}


def fold_weights(qs: dict[str, list[Question]], group: Callable[[Material], str],
                 l2: float = L2, own_l2: float | None = None
                 ) -> tuple[dict[str, Weights], int]:
    """Per group, the raw weights per question language fitted on the other groups'
    questions of the fitted sets (empty: the fold keeps RRF, its weights missing the dev bar),
    and how many folds kept RRF."""
    groups = sorted({group(q.m) for ms in qs.values() for q in ms})
    out: dict[str, Weights] = {}
    for g in groups:
        train = [q for c in TRAIN_CORPORA for q in qs[c] if group(q.m) != g]
        w = {lang: np.array(model["raw"])
             for lang, model in fit_languages(train, l2, own_l2).items()}
        dev = [q for q in qs["seed"] if q.m.part == "dev" and group(q.m) != g]
        out[g] = w if holds_bar(dev, w) else {}
    return out, sum(not w for w in out.values())


def cross_validate(qs: dict[str, list[Question]], group: Callable[[Material], str],
                   l2: float = L2, own_l2: float | None = None
                   ) -> tuple[dict[int, np.ndarray | None], int]:
    """Per question (by id of its Question), the raw weights for its language of the fold that
    left its group out (None: RRF), and how many folds kept RRF."""
    weights, kept_rrf = fold_weights(qs, group, l2, own_l2)
    return {id(q): weights[group(q.m)].get(q.m.language) for ms in qs.values() for q in ms
            }, kept_rrf


Ranker = Callable[[Material, FusionParams, frozenset[str]], list[int]]
_CANDIDATES: dict[tuple[int, FusionParams, frozenset[str]], Question] = {}


def live_order(model: LearnedFusion | None) -> Ranker:
    """The top K rows the live search gives a replayed question (documents in `exclude` left
    out): the learned order where `model` applies to its language and parameters, else RRF."""
    def rank(m: Material, params: FusionParams, exclude: frozenset[str]) -> list[int]:
        if model is None or not model.applies(m.language, params):
            return replay(m, params, exclude, K)
        key = (id(m), replace(params, learned=False), exclude)
        if key not in _CANDIDATES:
            _CANDIDATES[key] = Question(m, params, exclude)
        return _CANDIDATES[key].ranked(np.array(model.weights))

    return rank


def live_orders(data: dict[str, list[Material]], group: Callable[[Material], str]
                ) -> tuple[dict[str, Ranker], Ranker]:
    """Per group, the live order with weights fitted without it (as cross_validate: a fold
    missing the dev bar keeps RRF); and the order of the shipped model (fusion_model.json)."""
    shipped = fusion_model()
    if shipped is None:
        return {}, live_order(None)
    weights, _ = fold_weights(questions(data, SHIPPED), group)
    lang = shipped.languages[0] if shipped.languages else ""
    return ({g: live_order(replace(shipped, weights=tuple(map(float, w[lang]))) if w else None)
             for g, w in weights.items()}, live_order(shipped))


SETS = (("seed", "dev"), ("seed", "held-out"), ("ret", "ret-sv"), ("ret", "ret-en"),
        ("ref", "ref-sv"), ("ref", "ref-en"))
SCORED = (("seed+ret", "dev"), ("seed+ret", "held-out"), ("seed+ret", "ret-sv"),
          ("seed+ret", "ret-en"))


def cells(qs: dict[str, list[Question]]) -> list[tuple[str, str, str, list[Question]]]:
    """The table's cells: each set (SETS, then SCORED) whole ("all"), and per question
    language where it holds more than one."""
    out = []
    for corpus, part in (*SETS, *SCORED):
        part_qs = [q for q in qs[corpus] if q.m.part == part]
        langs = sorted({q.m.language for q in part_qs})
        out.append((corpus, part, "all", part_qs))
        if len(langs) > 1:
            out += [(corpus, part, lang, [q for q in part_qs if q.m.language == lang])
                    for lang in langs]
    return out


def table(qs: dict[str, list[Question]], chosen: dict[int, np.ndarray | None]
          ) -> tuple[list[str], dict[str, float]]:
    """Markdown rows per set and language: RRF replayed and the cross-validated learned fusion;
    the mean R@1 / MRR over the six fitted sets, the mean R@1 per question language over the
    fitted sets' cells in that language, and the largest R@1 loss of any fitted cell."""
    lines = ["| corpus | set | lang | n | RRF R@1 | R@5 | MRR@10 | learned R@1 | R@5 | MRR@10 |",
             "|---" * 10 + "|"]
    summary = {"rrf_r1": 0.0, "learned_r1": 0.0, "rrf_mrr": 0.0, "learned_mrr": 0.0,
               "worst_r1": 0.0}
    per_lang: dict[str, list[tuple[float, float]]] = {}
    for corpus, part, lang, part_qs in cells(qs):
        rrf = figures(part_qs, lambda q: q.ranked(None))
        learned = figures(part_qs, lambda q: q.ranked(chosen[id(q)]))
        n = sum(q.m.question.answerable for q in part_qs)
        lines.append(f"| {corpus} | {part} | {lang} | {n} | "
                     + " | ".join(f"{v:.3f}" for v in (*rrf, *learned)) + " |")
        if (corpus, part) not in SETS:
            continue
        summary["worst_r1"] = min(summary["worst_r1"], learned[0] - rrf[0])
        if lang == "all":
            summary["rrf_r1"] += rrf[0] / len(SETS)
            summary["learned_r1"] += learned[0] / len(SETS)
            summary["rrf_mrr"] += rrf[2] / len(SETS)
            summary["learned_mrr"] += learned[2] / len(SETS)
        if lang != "all" or len({q.m.language for q in part_qs}) == 1:
            per_lang.setdefault(part_qs[0].m.language, []).append((rrf[0], learned[0]))
    for lang, pairs in per_lang.items():
        summary[f"rrf_r1_{lang}"] = sum(r for r, _ in pairs) / len(pairs)
        summary[f"learned_r1_{lang}"] = sum(v for _, v in pairs) / len(pairs)
    return lines, summary


def variant(args: argparse.Namespace) -> str:
    """Set the experiment's switches; a line naming them."""
    global EXTRA_ON, ANSWER_TYPE_ON, BALANCE, ALL_LANGUAGES, OWN
    EXTRA_ON, BALANCE, ALL_LANGUAGES = args.extra, args.balance, args.all_languages
    ANSWER_TYPE_ON = args.answer_type
    OWN = tuple(args.own)
    own = (f"; {', '.join(OWN)} questions by weights fitted on their own language's "
           "training questions only" if OWN else "")
    return (f"Features: {', '.join(names())}; loss weighs each "
            f"{'set' if BALANCE else 'question'} alike; learned order for "
            f"{'every question' if ALL_LANGUAGES else 'questions in ' + ', '.join(LANGUAGES + OWN)}"
            f" (others: RRF){own}.")


def section(qs: dict[str, list[Question]], group: Callable[[Material], str], l2: float,
            own_l2: float | None) -> tuple[list[str], dict[str, dict[str, list[float]]]]:
    """One variant's markdown section, and the models fitted on every question."""
    chosen, kept = cross_validate(qs, group, l2, own_l2)
    lines, s = table(qs, chosen)
    models = fit_languages([q for c in TRAIN_CORPORA for q in qs[c]], l2, own_l2)
    langs = sorted(k[len("rrf_r1_"):] for k in s if k.startswith("rrf_r1_"))
    own = f", own-language L2 {own_l2:g}" if OWN and own_l2 is not None else ""
    out = [f"## L2 {l2:g}{own}", "", *lines, "",
           f"Mean over the six sets: R@1 RRF {s['rrf_r1']:.3f}, learned "
           f"{s['learned_r1']:.3f}; MRR@10 RRF {s['rrf_mrr']:.3f}, learned "
           f"{s['learned_mrr']:.3f}; largest R@1 loss {s['worst_r1']:+.3f}; folds "
           f"keeping RRF (dev bar): {kept}", "",
           "Mean R@1 over the fitted sets' cells per question language: " + "; ".join(
               f"{lang} RRF {s['rrf_r1_' + lang]:.3f}, learned {s['learned_r1_' + lang]:.3f}"
               for lang in langs), ""]
    for lang, model in models.items():
        out += [f"Fitted on everything, for {lang} (standardised weights): " + ", ".join(
            f"{f} {w:+.2f}" for f, w in zip(names(), model["weights"], strict=True)), ""]
    return out, models


def write(model: dict[str, list[float]], l2: float) -> None:
    """The weights fitted on every question, as assistant/retrieval/learned.py reads them."""
    data = {"features": model["features"], "mean": model["mean"], "scale": model["scale"],
            "weights": model["weights"], "raw_weights": model["raw"],
            "languages": list(LANGUAGES), "fusion": fitted_fields(SHIPPED),
            "embedding_model": load_settings().model, "l2": l2}
    MODEL.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=devsets.REPO / "bench" / "fit-rerank.md")
    parser.add_argument("--l2", type=float, nargs="*", default=[L2],
                        help="L2 strengths to cross-validate (the first is written)")
    parser.add_argument("--extra", action="store_true", help="add the EXTRA features")
    parser.add_argument("--answer-type", action="store_true",
                        help="add the ANSWER_TYPE features")
    parser.add_argument("--balance", action="store_true", help="weigh each set alike")
    parser.add_argument("--all-languages", action="store_true",
                        help="the learned order for every question language")
    parser.add_argument("--own", nargs="*", default=[], metavar="LANG",
                        help="question languages given weights fitted on their own questions")
    parser.add_argument("--own-l2", type=float, nargs="*", default=[],
                        help="L2 strengths for the --own languages' fits (default: --l2's)")
    parser.add_argument("--write", action="store_true", help="write the fitted model")
    args = parser.parse_args()
    out = [variant(args), ""]
    data = materials()
    ret_docs = {m.question.id: m.question.gold[0].doc for m in data["ret"] if m.question.gold}
    qs = questions(data, SHIPPED)
    for l2 in args.l2:
        for own_l2 in args.own_l2 or [None]:
            lines, models = section(qs, lambda m: group_of(m, ret_docs), l2, own_l2)
            out += lines
            if args.write and l2 == args.l2[0] and own_l2 == (args.own_l2 or [None])[0]:
                write(models[LANGUAGES[0]], l2)
    args.out.write_text("\n".join(out), encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
