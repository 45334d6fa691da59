"""`ask` with the real model over the bundled corpus: citation integrity on every dev question,
the answer bar, the establishment-benefit answer, and follow-up conversations."""

from __future__ import annotations

import json
import re

import pytest

from assistant.cli import main
from assistant.engine import Engine
from assistant.evaluate import evaluate_answers, evaluate_retrieval, read_questions
from assistant.lang.fold import fold
from assistant.types import Answer, Turn

from .conftest import SHARED_EVAL

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def dev_answers(real_engine: Engine) -> list[tuple[object, Answer]]:
    if not SHARED_EVAL.exists():
        pytest.skip(f"no dev questions at {SHARED_EVAL}")
    questions = read_questions(SHARED_EVAL)
    return [(q, real_engine.ask(q.question)) for q in questions]


def test_citations_hold_on_every_dev_question(dev_answers: list[tuple[object, Answer]]) -> None:
    for _, answer in dev_answers:
        numbers = sorted(int(n) for n in re.findall(r"\[(\d+)\]", answer.text))
        # Every [n] has a citation, and every citation appears in the answer.
        assert sorted({c.n for c in answer.citations}) == sorted(set(numbers)), answer.text
        retrieved = {h.chunk.id for h in answer.closest}
        for c in answer.citations:
            chunk = c.hit.chunk
            assert chunk.id in retrieved  # nothing cited that was not retrieved
            assert " ".join(chunk.text[c.start:c.end].split()) == c.quote
            assert fold(c.quote) in fold(chunk.text)
            first = next(s for s in chunk.sentences if s.start == c.start)
            assert (c.page, c.section) == (first.page, first.section)  # the sentence's own
        if answer.abstained:
            assert answer.citations == () and answer.closest


def test_answer_bar_on_the_dev_questions(real_engine: Engine,
                                         dev_answers: list[tuple[object, Answer]]) -> None:
    questions = [q for q, _ in dev_answers]
    report = evaluate_retrieval(questions, real_engine.search([q.question for q in questions],
                                                              k=10))
    evaluate_answers(questions, [a for _, a in dev_answers], report)
    figures = report.metrics["answers"]
    assert figures["unanswerable_abstained"] == figures["unanswerable"]  # every one refused
    assert figures["answerable_abstained"] <= 1
    assert figures["first_citation_accuracy"] >= 0.8


def test_who_pays_establishment_benefit(real_engine: Engine) -> None:
    answer = real_engine.ask("Who pays establishment benefit?")
    assert not answer.abstained and answer.language == "en"
    first = answer.citations[0]
    assert "Försäkringskassan betalar ut etableringsersättningen" in first.quote
    assert first.hit.chunk.doc == "blekinge-integrationsstrategi-2023-2026.txt"
    assert first.section and "Ansvarsfördelning" in first.section[-1]
    assert answer.text.startswith("Försäkringskassan (Swedish Social Insurance Agency)")


@pytest.mark.parametrize(("question", "language"), [
    ("What is the capital of Australia?", "en"),
    ("Vilka regler gäller för parkeringstillstånd i Växjö?", "sv"),
])
def test_refusal_says_so_in_the_question_language(real_engine: Engine, question: str,
                                                  language: str) -> None:
    answer = real_engine.ask(question)
    assert answer.abstained and answer.language == language
    assert ("inte" in answer.text) if language == "sv" else ("not" in answer.text)
    assert len(answer.closest) >= 3 and all(h.score > 0 for h in answer.closest)


# Conversations: earlier questions, the follow-up, and words its answer must hold.
CONVERSATIONS = [
    (["Who pays establishment benefit?"], "and who decides on it?", "Arbetsförmedlingen"),
    (["Vem betalar ut etableringsersättning?"], "och vem beslutar om den?", "Arbetsförmedlingen"),
    (["Vad är Växjömentor?"], "när startade det?", "september 2024"),
    (["When will the study on municipal integration programmes be completed?"],
     "which methods will it use?", "Content analysis and interviews"),
    (["Which law regulates civic orientation for newly arrived immigrants?"],
     "and who must offer it?", "kommuner"),
    (["Hur ofta möts nätverket VÄV Kronoberg?"], "vad syftar det till?", "civilsamhället"),
    (["Vad är Växjömentor?", "när startade det?"], "vad bygger det på?", "Rotarys"),
]


@pytest.mark.parametrize(("earlier", "follow_up", "expected"), CONVERSATIONS)
def test_follow_up_questions(real_engine: Engine, earlier: list[str], follow_up: str,
                             expected: str) -> None:
    history: list[Turn] = []
    for question in earlier:
        history.append(Turn(question, real_engine.ask(question, history).text))
    answer = real_engine.ask(follow_up, history)
    assert answer.resolved_question != follow_up  # the conversation was used
    assert not answer.abstained and expected in answer.text


def test_cli_ask_json(real_settings, real_engine: Engine,  # type: ignore[no-untyped-def]
                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL_DIR", str(real_settings.model_dir))
    common = ["--index", str(real_settings.index_dir)]
    assert main(["ask", "--json", *common, "Who pays establishment benefit?",
                 "How do I bake sourdough bread?"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.strip().splitlines())
    assert set(first) >= {"question", "language", "answer", "abstained", "citations", "closest"}
    assert set(first["citations"][0]) >= {"n", "doc", "title", "section", "page", "quote", "text"}
    assert first["abstained"] is False and second["abstained"] is True
    assert second["citations"] == [] and second["closest"]
