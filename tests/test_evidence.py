"""The refusal model and the answer's mode, table-driven over evidence values."""

from __future__ import annotations

import pytest

from assistant.answer.evidence import (
    FEATURES,
    Evidence,
    RefusalModel,
    features,
    mode,
    refusal_model,
)


def _evidence(unknown: float, coverage: float, sentence: float, same: bool,
              agreement: float = 2 / 3, satisfied: bool = True) -> Evidence:
    return Evidence(best_sentence=sentence, coverage=coverage, unknown=unknown,
                    same_language=same, agreement=agreement, satisfied=satisfied)


def test_features_follow_their_names() -> None:
    values = features(_evidence(0.5, 0.25, 0.8, True, 1.0, False))
    assert dict(zip(FEATURES, values, strict=True)) == {
        "best_sentence": 0.8, "coverage": 0.25, "unknown": 0.5, "same_language": 1.0,
        "unknown_same_language": 0.5, "agreement": 1.0, "satisfied": 0.0}


# A model that weighs coverage alone: P = sigmoid(4 * (coverage - 0.5)).
COVERAGE_ONLY = RefusalModel(mean=(0.0,) * 7, scale=(1.0,) * 7,
                             weights=(0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0), bias=-2.0,
                             refuse_below=0.3, passages_below=0.6)


@pytest.mark.parametrize(("coverage", "expected"), [
    (0.0, "refusal"),  # P 0.12
    (0.4, "passages"),  # P 0.40
    (0.5, "passages"),  # P 0.50
    (0.7, "answer"),  # P 0.69
    (1.0, "answer"),
])
def test_mode_by_probability(coverage: float, expected: str) -> None:
    assert mode(_evidence(0.0, coverage, 0.8, True), COVERAGE_ONLY) == expected


def test_the_stored_model_weighs_the_evidence_the_right_way() -> None:
    model = refusal_model()
    assert 0 < model.refuse_below <= model.passages_below < 1
    base = _evidence(0.2, 0.5, 0.84, True)
    p = model.probability(base)
    # more of the question's words found nowhere in the corpus: less likely answered
    assert model.probability(_evidence(0.9, 0.5, 0.84, True)) < p
    # the best passages hold more of the question's concepts: more likely answered
    assert model.probability(_evidence(0.2, 1.0, 0.84, True)) > p


@pytest.mark.parametrize(("evidence", "refuse"), [
    (_evidence(1.0, 0.0, 0.76, True, 0.0, False), True),  # nothing of the question is there
    (_evidence(0.0, 1.0, 0.90, True, 1.0, True), False),  # all of it, and a close sentence
])
def test_refusal_at_the_extremes(evidence: Evidence, refuse: bool) -> None:
    assert (mode(evidence) == "refusal") is refuse
