"""Learned score fusion: the reciprocal-rank fused candidates reordered by a linear score of
the legs' cosines, lexical rank and coverage, the fused score and the passage's language.

Reciprocal-rank fusion keeps only ranks; how far a passage's cosine trails the question's best
is evidence too. The weights are data (assistant/data/fusion_model.json), fitted by listwise
softmax and cross-validated by document with bench/fit_rerank.py; they apply to the questions'
languages, the embedding model and the fusion parameters they were fitted for (elsewhere the
fused order stands).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from assistant.retrieval.fusion import FusionParams

FEATURES = ("dense_gap", "dense_missing", "sentence_gap", "sentence_missing", "lexical_rr",
            "lexical_coverage", "rrf", "same_language")
COSINE_DEPTH = 50  # per document language: how deep the cosines the features look up go
MODEL = Path(__file__).resolve().parent.parent / "data" / "fusion_model.json"
FITTED_FIELDS = ("rrf_k", "weights", "depth", "min_coverage", "language_pull")

Ranking = Sequence[tuple[int, float]]


def lifted(per_language: Sequence[Ranking], pull: float | None) -> dict[int, float]:
    """Each row's cosine, raised as merge_languages raises its language (None: not at all)."""
    tops = [ranking[0][1] for ranking in per_language if ranking]
    best = max(tops, default=0.0)
    return {row: score + (pull or 0.0) * (best - ranking[0][1])
            for ranking in per_language if ranking for row, score in ranking}


def features(fused: Sequence[tuple[int, float]], legs: Mapping[str, Sequence[int]],
             cosines: Mapping[str, Sequence[Ranking]], languages: Mapping[int, str],
             coverage: Mapping[int, float], language: str, params: FusionParams
             ) -> np.ndarray:
    """The FEATURES of each fused candidate (rows in fused order).

    `cosines` holds the "dense" and "sentence" per-language (row, cosine) rankings, COSINE_DEPTH
    deep; a candidate missing from one gets its lowest cosine and the leg's missing flag.
    `coverage` is each candidate's lexical concept coverage (the lexical gate's figure).
    """
    rows = [r for r, _ in fused]
    x = np.zeros((len(rows), len(FEATURES)))
    if not rows:
        return x
    x[:, FEATURES.index("rrf")] = [s for _, s in fused]
    for leg in ("dense", "sentence"):
        cos = lifted(cosines[leg], params.language_pull)
        floor = min(cos.values(), default=0.0)
        v = np.array([cos.get(r, floor) for r in rows])
        x[:, FEATURES.index(f"{leg}_gap")] = v - v.max()
        x[:, FEATURES.index(f"{leg}_missing")] = [r not in cos for r in rows]
    rank = {r: i for i, r in enumerate(legs.get("lexical", []), start=1)}
    x[:, FEATURES.index("lexical_rr")] = [1 / (params.rrf_k + rank[r]) if r in rank else 0.0
                                          for r in rows]
    x[:, FEATURES.index("lexical_coverage")] = [coverage[r] for r in rows]
    x[:, FEATURES.index("same_language")] = [languages[r] == language for r in rows]
    return x


@dataclass(frozen=True)
class LearnedFusion:
    """A linear score over FEATURES (weights on the raw features), and where it applies."""

    weights: tuple[float, ...]
    languages: tuple[str, ...]  # question languages it reorders (elsewhere: the fused order)
    fusion: tuple[tuple[str, object], ...]  # the FusionParams fields it was fitted with
    embedding_model: str = ""  # the model whose cosines it was fitted on

    def applies(self, language: str | None, params: FusionParams) -> bool:
        """Does it reorder a question in `language` searched with `params`?"""
        return (params.learned and language in self.languages and
                all(_plain(getattr(params, f)) == v for f, v in self.fusion))

    def for_embedder(self, name: str) -> LearnedFusion:
        """This model for vectors of embedding model `name`: another model's cosines sit on
        another scale, so there it applies to no question."""
        if not self.embedding_model or name == self.embedding_model:
            return self
        return replace(self, languages=())

    def rerank(self, fused: Sequence[tuple[int, float]], x: np.ndarray
               ) -> list[tuple[int, float]]:
        """The candidates by the learned score, best first (ties broken by row), each with its
        share of the softmax over the candidates (the listwise model's probability that it is
        the answer: positive, as Hit.score is)."""
        if not len(fused):
            return []
        scores = x @ np.array(self.weights)
        shares = np.exp(scores - scores.max())
        shares /= shares.sum()
        scored = [(row, float(p)) for (row, _), p in zip(fused, shares, strict=True)]
        return sorted(scored, key=lambda item: (-item[1], item[0]))


def _plain(value: object) -> object:
    """A FusionParams field as JSON holds it (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def fitted_fields(params: FusionParams) -> dict[str, object]:
    """The fields a model records as fitted with (see LearnedFusion.applies)."""
    return {f: _plain(getattr(params, f)) for f in FITTED_FIELDS}


@cache
def fusion_model(path: Path = MODEL) -> LearnedFusion | None:
    """The fitted model stored as data (None when there is none)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: features {data['features']} are not {FEATURES}")
    return LearnedFusion(tuple(float(w) for w in data["raw_weights"]),
                         tuple(data["languages"]),
                         tuple(sorted(data["fusion"].items())),
                         str(data.get("embedding_model", "")))
