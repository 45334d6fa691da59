"""The learned score fusion, table-driven over plain lists and the in-memory store (the fake
embedder; no real model, no files but the shipped weights)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.retrieval.fusion import FusionParams
from assistant.retrieval.learned import (
    FEATURES,
    LearnedFusion,
    features,
    fitted_fields,
    fusion_model,
    lifted,
)
from assistant.retrieval.search import search_vector

from .memory_store import MemoryStore
from .test_retrieval_core import STORE_TEXT

PARAMS = FusionParams(expand_terms=False)
FITTED = tuple(sorted(fitted_fields(PARAMS).items()))


def model(**weights: float) -> LearnedFusion:
    """A model weighing only the named features."""
    return LearnedFusion(tuple(weights.get(f, 0.0) for f in FEATURES), ("sv",), FITTED,
                         "hash")


@pytest.mark.parametrize(("rankings", "pull", "expected"), [
    ([], 0.5, {}),
    ([[(1, 0.9), (2, 0.8)]], 0.5, {1: 0.9, 2: 0.8}),
    # the second language's cosines rise by half the gap between its best and the best
    ([[(1, 0.9), (2, 0.8)], [(7, 0.7)]], 0.5, {1: 0.9, 2: 0.8, 7: 0.8}),
    ([[(1, 0.9)], [(7, 0.7), (8, 0.6)]], 1.0, {1: 0.9, 7: 0.9, 8: 0.8}),
    ([[(1, 0.9)], [(7, 0.7)]], None, {1: 0.9, 7: 0.7}),  # languages in turn: no lift
    ([[], [(7, 0.7)]], 0.5, {7: 0.7}),
])
def test_lifted(rankings: list[list[tuple[int, float]]], pull: float | None,
                expected: dict[int, float]) -> None:
    assert lifted(rankings, pull) == pytest.approx(expected)


def test_features_of_each_candidate() -> None:
    fused = [(1, 0.3), (2, 0.2), (3, 0.1)]
    legs = {"dense": [1, 2], "sentence": [2, 1], "lexical": [3, 1]}
    cosines = {"dense": [[(1, 0.9), (2, 0.8)]], "sentence": [[(2, 0.95)], [(1, 0.7)]]}
    x = features(fused, legs, cosines, {1: "sv", 2: "sv", 3: "en"}, {1: 0.5, 2: 0.0, 3: 1.0},
                 "sv", replace(PARAMS, rrf_k=10.0, language_pull=0.5))
    column = {f: [round(float(v), 4) for v in x[:, i]] for i, f in enumerate(FEATURES)}
    assert column == {
        "dense_gap": [0.0, -0.1, -0.1],  # 3 is not in the leg: its lowest cosine
        "dense_missing": [0.0, 0.0, 1.0],
        # 1's language lifted by half the gap (0.7 + 0.125); 3 gets the lowest cosine
        "sentence_gap": [-0.125, 0.0, -0.125],
        "sentence_missing": [0.0, 0.0, 1.0],
        "lexical_rr": [round(1 / 12, 4), 0.0, round(1 / 11, 4)],
        "lexical_coverage": [0.5, 0.0, 1.0],
        "rrf": [0.3, 0.2, 0.1],
        "same_language": [1.0, 1.0, 0.0],
    }


def test_features_of_no_candidates() -> None:
    assert features([], {}, {"dense": [], "sentence": []}, {}, {}, "sv", PARAMS).shape == (
        0, len(FEATURES))


@pytest.mark.parametrize(("weights", "expected"), [
    ({"rrf": 1.0}, [1, 2, 3]),  # the fused order
    ({"lexical_coverage": 1.0}, [3, 1, 2]),
    ({"dense_gap": 1.0}, [1, 2, 3]),  # 2 and 3 tie: the lower row first
    ({}, [1, 2, 3]),  # all tie
])
def test_rerank(weights: dict[str, float], expected: list[int]) -> None:
    fused = [(1, 0.3), (2, 0.2), (3, 0.1)]
    x = np.zeros((3, len(FEATURES)))
    x[:, FEATURES.index("rrf")] = [0.3, 0.2, 0.1]
    x[:, FEATURES.index("lexical_coverage")] = [0.5, 0.0, 1.0]
    x[:, FEATURES.index("dense_gap")] = [0.0, -0.1, -0.1]
    ranked = model(**weights).rerank(fused, x)
    assert [r for r, _ in ranked] == expected
    assert all(s > 0 for _, s in ranked) and sum(s for _, s in ranked) == pytest.approx(1.0)


def test_rerank_of_no_candidates() -> None:
    assert model(rrf=1.0).rerank([], np.zeros((0, len(FEATURES)))) == []


@pytest.mark.parametrize(("language", "params", "embedder", "applies"), [
    ("sv", PARAMS, "hash", True),
    ("en", PARAMS, "hash", False),  # a language it was not fitted for
    (None, PARAMS, "hash", False),
    ("sv", replace(PARAMS, learned=False), "hash", False),  # switched off
    ("sv", replace(PARAMS, depth=50), "hash", False),  # other legs than it was fitted on
    ("sv", replace(PARAMS, weights=(1.0, 1.0, 1.0)), "hash", False),
    ("sv", replace(PARAMS, expand_terms=True), "hash", True),  # not a fitted field
    ("sv", PARAMS, "other/model", False),  # another model's cosines
])
def test_applies(language: str | None, params: FusionParams, embedder: str,
                 applies: bool) -> None:
    assert model(rrf=1.0).for_embedder(embedder).applies(language, params) is applies


def test_the_shipped_model_reorders_swedish_questions_at_the_shipped_parameters() -> None:
    shipped = fusion_model()
    assert shipped is not None and len(shipped.weights) == len(FEATURES)
    assert shipped.applies("sv", FusionParams())
    assert not shipped.applies("en", FusionParams())


@pytest.fixture(scope="module")
def store() -> MemoryStore:
    return MemoryStore(STORE_TEXT)


@pytest.mark.parametrize(("query", "language", "weights", "expected"), [
    # a model weighing only the fused score keeps the fused order
    ("Länsstyrelsen fördelar anvisningar", "sv", {"rrf": 1.0}, None),
    # outside its languages the fused order stands, whatever its weights
    ("Länsstyrelsen fördelar anvisningar", "en", {"lexical_coverage": -1.0}, None),
    # weighing the passage's language against the question's: English passages first
    ("municipality housing", "sv", {"same_language": -1.0, "rrf": 0.01},
     ["en.md#0", "en.md#1", "sv.md#0", "sv.md#1"]),
])
def test_search_with_a_learned_model(store: MemoryStore, query: str, language: str,
                                     weights: dict[str, float], expected: list[str] | None
                                     ) -> None:
    vector = store.embedder.queries([query])[0]
    fused = [h.chunk.id for h in search_vector(store, query, vector, k=4, params=PARAMS)]
    hits = search_vector(store, query, vector, k=4, params=PARAMS, language=language,
                         model=model(**weights))
    assert [h.chunk.id for h in hits] == (expected or fused)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)
