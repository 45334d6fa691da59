"""Combining the legs: weighted reciprocal-rank fusion, and the per-language interleaving of
the dense legs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

LEGS = ("dense", "sentence", "lexical")


@dataclass(frozen=True)
class FusionParams:
    """How the legs are combined: weighted reciprocal-rank fusion. rrf_k, the weights,
    depth and min_coverage are fitted by bench/fit.py (cross-validated over every development
    set, folds by document, the seed dev bar as a constraint; bench/RESULTS.md)."""

    rrf_k: float = 10.0
    weights: tuple[float, float, float] = (1.0, 1.5, 0.25)  # dense, sentence, lexical
    depth: int = 20  # candidates taken from each leg
    min_coverage: float = 0.5  # share of query terms a passage needs for lexical evidence
    prefix_min: int = 5  # lexical terms this long also match as prefixes (Swedish inflection)
    # The lexical leg's words, rarest first, may match at most this share of the passages
    # (summed over the words; see legs.distinctive); None: every word of the question. 0.5
    # ranks a third fewer passages at 100k chunks and moves no development set's retrieval,
    # refusal or citation figure down (bench/RESULTS.md, issue 15, "The lexical leg's cost").
    lexical_share: float | None = 0.5
    # ... and at most this many passages, however large the index, so that the leg's cost
    # stops growing with it (None: no bound but the share). It binds only beyond 40k
    # chunks, so the development sets cannot measure it (bench/RESULTS.md, issue 15).
    lexical_rows: int | None = 20_000
    highlights: int = 2
    expand_terms: bool = True  # lexical leg also looks for the other language's domain terms
    balance_languages: bool = True  # dense legs rank each document language apart, then merge
    # How the dense legs merge the languages' rankings (see merge_languages): None takes each
    # language's best in turn; a number lifts each language's cosines by that share of the gap
    # between its best and the best of all.
    language_pull: float | None = 0.5
    # Reorder the fused candidates by the learned score where its model applies
    # (assistant/retrieval/learned.py); False keeps the reciprocal-rank order.
    learned: bool = True


def fuse(
    rankings: dict[str, list[int]], params: FusionParams,
    weights: tuple[float, float, float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted RRF over each leg's ranked rows; ties broken by row for determinism. A leg
    weighted 0 is off: its rows are not candidates."""
    scores: dict[int, float] = defaultdict(float)
    for leg, weight in zip(LEGS, weights or params.weights, strict=True):
        for rank, row in enumerate(rankings.get(leg, []) if weight else [], start=1):
            scores[row] += weight / (params.rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def interleave(rankings: list[list[tuple[int, float]]], depth: int) -> list[int]:
    """Merge per-partition rankings rank by rank (best score first within a rank).

    Cosines of an English query are higher for English passages than for the Swedish passage
    that answers it; taking each language's best in turn lets both compete in fusion.
    """
    rankings = [standardise(r) for r in rankings]
    merged = []
    for rank in range(max((len(r) for r in rankings), default=0)):
        tier = [r[rank] for r in rankings if rank < len(r)]
        merged.extend(row for row, _ in sorted(tier, key=lambda item: (-item[1], item[0])))
    return merged[:depth]


def merge_languages(rankings: list[list[tuple[int, float]]], depth: int,
                    pull: float | None) -> list[int]:
    """One ranking from per-language (row, cosine) rankings, best first.

    With `pull` None, the languages take turns (`interleave`). Otherwise each language's cosines
    are raised by `pull` times the gap between its best and the best of all languages, then all
    are ranked together: 0 is plain cosine order (questions find passages of their own language
    first); 1 puts every language's best level with the overall best. In between, another
    language's passage comes up only when it is close to what the question's own language has.
    """
    if pull is None:
        return interleave(rankings, depth)
    tops = [ranking[0][1] for ranking in rankings if ranking]
    if not tops:
        return []
    best = max(tops)
    shifted = [(row, score + pull * (best - ranking[0][1]))
               for ranking in rankings if ranking for row, score in ranking]
    return [row for row, _ in sorted(shifted, key=lambda item: (-item[1], item[0]))][:depth]


def standardise(ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores as standard deviations above the ranking's mean: how far a passage stands out
    among passages of its own language, comparable across languages."""
    if len(ranking) < 2:
        return ranking
    scores = np.array([score for _, score in ranking])
    spread = float(scores.std()) or 1.0
    return [(row, (score - float(scores.mean())) / spread) for row, score in ranking]
