"""Does the corpus support an answer? Evidence from the retrieval legs, and the decision.

The decision does not rest on one similarity threshold (e5 cosines sit between 0.7 and 0.9
for everything, related or not). It asks whether the question's rare words exist in the corpus
at all, whether the best passages contain them, and how close the best sentence is:
see `abstain` for the rule and bench/RESULTS.md for the calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .lexical import fold, query_terms
from .search import FusionParams, fts_query, term_coverage, term_weights
from .store import StoreReader
from .types import Hit


@dataclass(frozen=True)
class Evidence:
    """What retrieval found for a question, as numbers the refusal rule can weigh."""

    best_sentence: float  # highest cosine of the question with a sentence of the top hits
    coverage: float  # best rarity-weighted share of the question's words in a top passage
    unknown: float  # rarity-weighted share of the question's words found nowhere in the corpus
    unknown_terms: tuple[str, ...]
    lexical_top: bool  # the top passage is also among the lexical leg's results


def gather_evidence(reader: StoreReader, question: str, hits: Sequence[Hit],
                    similarities: Sequence[np.ndarray], params: FusionParams,
                    top: int = 3) -> Evidence:
    """Evidence for a question from its hits and their per-sentence similarities."""
    terms = query_terms(question)
    weights = term_weights(reader, terms, params.prefix_min)
    unknown = [t for t in terms if reader.document_frequency(fts_query(t, params.prefix_min)) == 0]
    total = sum(weights.values()) or 1.0
    coverage = 0.0
    for hit in hits[:top]:
        context = " ".join((hit.info.title, hit.info.region or "", *hit.chunk.section,
                            hit.chunk.text))
        coverage = max(coverage, term_coverage(terms, fold(context), params.prefix_min, weights))
    sims = [float(s.max()) for s in similarities[:top] if len(s)]
    return Evidence(
        best_sentence=max(sims, default=0.0),
        coverage=coverage,
        unknown=sum(weights[t] for t in unknown) / total,
        unknown_terms=tuple(unknown),
        lexical_top=bool(hits) and "lexical" in hits[0].ranks,
    )


def abstain(evidence: Evidence) -> bool:
    """Refuse when the question's own topic is missing from the corpus."""
    return evidence.unknown >= 0.3 and evidence.coverage < 0.5
