"""Replaying retrieval and the refusal's evidence from collected material (bench/fit_collect.py)
for any fusion parameters and any documents left out, without embedding or searching again.

The dense legs are replayed exactly as assistant/retrieval/legs.py builds them (each document
language's ranking cut at `depth`, merged as `merge_languages` does); the sentence leg as its best-
sentence ranking cut at `depth` (the live leg looks at depth × 4 sentences: nearly the same rows).
"""

from __future__ import annotations

import numpy as np

from assistant.answer.evidence import FEATURES, Evidence, features
from assistant.retrieval.fusion import FusionParams, fuse, merge_languages
from bench.fit_collect import Material

TOP = 3  # passages the refusal's evidence looks at (as assistant/answer/evidence.py)


_DENSE: dict[tuple[int, int, float | None, frozenset[str]], tuple[list[int], list[int]]] = {}


def replay_legs(m: Material, params: FusionParams, exclude: frozenset[str]
                ) -> dict[str, list[int]]:
    """Each leg's rows, as the live legs would rank them with `exclude` left out (the dense
    legs depend on depth and exclusion only: remembered)."""
    key = (id(m), params.depth, params.language_pull, exclude)
    if key not in _DENSE:
        def keep(ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
            return [(r, s) for r, s in ranking if m.rows[r].doc not in exclude][:params.depth]

        pull = params.language_pull
        _DENSE[key] = (merge_languages([keep(r) for r in m.dense], params.depth, pull),
                       merge_languages([keep(r) for r in m.sentence], params.depth, pull))
    dense, sentence = _DENSE[key]
    return {
        "dense": dense, "sentence": sentence,
        "lexical": [r for r in m.lexical if m.rows[r].doc not in exclude
                    and m.rows[r].lexical_coverage >= params.min_coverage][:params.depth],
    }


def replay(m: Material, params: FusionParams, exclude: frozenset[str] = frozenset(),
           k: int = 10) -> list[int]:
    """The fused top-k rows of a question, with the documents in `exclude` left out."""
    legs = replay_legs(m, params, exclude)
    fused = fuse(legs, params)[:k]
    return [r for r, _ in fused]


def leg_ranks(m: Material, params: FusionParams, exclude: frozenset[str], row: int
              ) -> dict[str, int]:
    """A row's rank in each leg that holds it (as Hit.ranks)."""
    legs = replay_legs(m, params, exclude)
    return {leg: rows.index(row) + 1 for leg, rows in legs.items() if row in rows}


def evidence(m: Material, params: FusionParams, ranked: list[int],
             exclude: frozenset[str] = frozenset()) -> Evidence:
    """The refusal's evidence for a replayed ranking (as assistant/answer/evidence.py)."""
    top = [m.rows[r] for r in ranked[:TOP]]
    present = [any(all(docs - exclude for docs in form) for form in forms)
               for _, _, forms in m.concepts]
    weights = [w if here else spec for (w, spec, _), here in zip(m.concepts, present,
                                                                  strict=True)]
    unknown = sum(w for w, here in zip(weights, present, strict=True) if not here)
    first = ranked[0] if ranked else None
    ranks = leg_ranks(m, params, exclude, first) if first is not None else {}
    return Evidence(
        best_sentence=max((r.best_sentence for r in top), default=0.0),
        coverage=max((r.coverage for r in top), default=0.0),
        unknown=unknown / (sum(weights) or 1.0),
        same_language=bool(top) and top[0].language == m.language,
        agreement=sum(1 for v in ranks.values() if v <= TOP) / 3,
        satisfied=bool(top) and top[0].satisfied,
    )


def feature_matrix(items: list[tuple[Material, list[int], frozenset[str]]],
                   params: FusionParams) -> np.ndarray:
    """The refusal model's features of each (material, ranking, exclusion)."""
    if not items:
        return np.zeros((0, len(FEATURES)))
    return np.array([features(evidence(m, params, ranked, ex)) for m, ranked, ex in items])


def gold_rank(m: Material, ranked: list[int]) -> int | None:
    """1-based rank of the first gold row, or None."""
    return next((i for i, r in enumerate(ranked, start=1) if m.rows[r].gold), None)
