"""The refusal rule, table-driven over evidence values."""

from __future__ import annotations

import pytest

from assistant.answer.evidence import Evidence, abstain


def _evidence(unknown: float, coverage: float, sentence: float, same: bool) -> Evidence:
    return Evidence(best_sentence=sentence, coverage=coverage, unknown=unknown,
                    same_language=same)


@pytest.mark.parametrize(("unknown", "coverage", "sentence", "same", "refuse"), [
    (1.0, 0.0, 0.78, False, True),  # nothing of the question in the corpus
    (0.8, 0.0, 0.86, True, True),  # same language: the missing words would be there
    (0.8, 0.0, 0.86, False, False),  # other language: a close sentence may answer it
    (0.8, 0.6, 0.80, True, False),  # the best passages hold most of the rest
    (0.2, 0.0, 0.80, True, False),  # the question's words are known to the corpus
    (0.3, 0.49, 0.809, False, True),  # all three signals agree, just
    (0.3, 0.49, 0.811, False, False),  # a sentence close enough in meaning
])
def test_abstain(unknown: float, coverage: float, sentence: float, same: bool,
                 refuse: bool) -> None:
    assert abstain(_evidence(unknown, coverage, sentence, same)) is refuse
