"""Answer composition as pure functions: language, question kind, follow-ups, quoting, citing."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer.compose import PASSAGES, REFUSAL, compose, refusal
from assistant.answer.conversation import is_follow_up, resolve
from assistant.answer.question import question_kind, question_language, satisfies
from assistant.types import Chunk, DocInfo, Hit, Sentence, Turn


@pytest.mark.parametrize(("question", "language"), [
    ("Who pays establishment benefit?", "en"),
    ("Vem betalar etableringsersättning?", "sv"),
    ("Vad menas med ensamkommande barn?", "sv"),
    ("What is Växjömentor?", "en"),
    ("Växjömentor?", "sv"),  # nothing to go on: the corpus's main language
    ("When does the strategic agreement in Kronoberg expire?", "en"),
    ("Hur ofta möts nätverket?", "sv"),
    ("vem ansvarar for sfi", "sv"),  # OCR-style text without å/ä/ö
])
def test_question_language(question: str, language: str) -> None:
    assert question_language(question) == language


@pytest.mark.parametrize(("question", "kind"), [
    ("Who pays establishment benefit?", "who"),
    ("Vem ansvarar för svenska för invandrare?", "who"),
    ("Which authority decides on distribution?", "who"),
    ("When does the agreement expire?", "when"),
    ("När löper överenskommelsen ut?", "when"),
    # a plural time noun asks when, not for a list
    ("Vilka år omfattar planen?", "when"),
    ("Under vilken period pågår projektet?", "when"),
    ("Which years does the plan cover?", "when"),
    ("Vilka kommuner deltar?", "list"),
    ("How many parties signed the agreement?", "count"),
    ("Hur ofta möts nätverket?", "count"),
    ("What are the priority areas of the strategy?", "list"),
    ("Vilka delmål finns inom området hälsa?", "list"),
    ("What services are offered?", "list"),  # a question word, a noun and a plural verb
    # no list by topic words ("principles", "steps"): only the question's form says list
    ("Which principles does the cooperation build on?", "other"),
    ("Which methods will it use?", "other"),
    ("What is Växjömentor?", "other"),
])
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


@pytest.mark.parametrize(("kind", "sentence", "expected"), [
    ("who", "Försäkringskassan betalar ut etableringsersättningen.", True),
    ("who", "Kommunerna ska erbjuda svenska för invandrare.", True),
    ("who", "det är viktigt att arbeta tillsammans.", False),
    ("when", "Området boende utgick i mars 2023.", True),
    ("when", "Överenskommelsen löper ut 2025-12-31.", True),
    ("when", "Området boende utgick ur överenskommelsen.", False),
    ("count", "Den signerades av 15 parter.", True),
    ("count", "Nätverket möts fyra gånger per år.", True),
    ("count", "Nätverket möts ofta.", False),
    # a reciprocal pronoun holds a number word but gives no number
    ("count", "The main actors know one another and work together.", False),
    ("count", "One of the municipalities took part.", True),  # "one of" gives a number
    ("count", "Only one municipality took part.", True),
    ("other", "Vad som helst.", True),
])
def test_satisfies(kind: str, sentence: str, expected: bool) -> None:
    assert satisfies(kind, sentence) is expected


@pytest.mark.parametrize(("question", "follow_up"), [
    ("och vem beslutar om den?", True),
    ("and who decides on it?", True),
    ("What about Kronoberg?", True),
    ("Hur är det med Kronoberg?", True),
    ("When do they meet?", True),
    ("vad betyder det?", True),
    ("vad syftar det till?", True),
    ("What is Växjömentor?", False),
    ("Hur många kommuner finns det i Blekinge?", False),  # "det" here is a dummy subject
    ("Vad står i den regionala strategin?", False),  # "den" here is an article
    ("Who pays establishment benefit?", False),
    ("och vad är Växjömentor?", False),  # opens like a follow-up but names its own subject
    ("and who decides?", True),
])
def test_is_follow_up(question: str, follow_up: bool) -> None:
    assert is_follow_up(question) is follow_up


@pytest.mark.parametrize(("history", "question", "resolved"), [
    ((), "Who decides?", "Who decides?"),
    (("Who decides on distribution in Blekinge?",), "What about Kronoberg?",
     "Who decides on distribution in Kronoberg?"),
    (("Vem ansvarar för bosättning i Blekinge?",), "hur är det med Kronoberg?",
     "Vem ansvarar för bosättning i Kronoberg?"),
    # A pronoun is replaced by what the earlier question asked about.
    (("Who pays establishment benefit?",), "and who decides on it?",
     "and who decides on establishment benefit?"),
    (("Vilka år gäller Blekinges integrationsstrategi?",), "och vem har tagit fram den?",
     "och vem har tagit fram Blekinges integrationsstrategi?"),
    (("Hur ofta möts nätverket VÄV Kronoberg?",), "vad syftar det till?",
     "vad syftar nätverket VÄV Kronoberg till?"),
    (("Vad är Växjömentor?", "när startade det?"), "vad bygger det på?",
     "vad bygger Växjömentor på?"),
    (("Which law regulates civic orientation?",), "and who must offer it?",
     "and who must offer civic orientation?"),
    # A chain: the earlier follow-up is resolved first.
    (("Who decides on distribution in Blekinge?", "What about Kronoberg?"), "and when?",
     "and when? (Who decides on distribution in Kronoberg?)"),
    (("Who pays establishment benefit?",), "What is Växjömentor?", "What is Växjömentor?"),
])
def test_resolve(history: tuple[str, ...], question: str, resolved: str) -> None:
    assert resolve(question, [Turn(q) for q in history]) == resolved


def _hit(text: str, sentences: list[tuple[int, int, int | None, tuple[str, ...]]],
         doc: str = "a.md", language: str = "sv", section: tuple[str, ...] = ("Ansvar",)) -> Hit:
    chunk = Chunk(id=f"{doc}#0", doc=doc, ordinal=0, section=section, page_start=1, page_end=2,
                  start=0, end=len(text), text=text,
                  sentences=tuple(Sentence(a, b, p, s) for a, b, p, s in sentences))
    return Hit(chunk=chunk, info=DocInfo(doc=doc, title="Strategi", language=language), score=1.0)


TEXT = ("Ansvar\n\nKommunen ansvarar för mottagandet.\n\nFörsäkringskassan betalar ut "
        "etablerings-\nersättningen   till individen.")


def _spans(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    spans, at = [], 0
    for piece in pieces:
        start = text.index(piece, at)
        spans.append((start, start + len(piece)))
        at = start + len(piece)
    return spans


def test_compose_quotes_the_best_sentence_with_its_own_page_and_section() -> None:
    pieces = ["Ansvar", "Kommunen ansvarar för mottagandet.",
              "Försäkringskassan betalar ut etablerings-\nersättningen   till individen."]
    (h0, h1), (a0, a1), (b0, b1) = _spans(TEXT, pieces)
    hit = _hit(TEXT, [(h0, h1, 1, ("Ansvar",)), (a0, a1, 1, ("Ansvar",)),
                      (b0, b1, 2, ("Ansvar", "Försäkringskassan"))])
    sims = [np.array([0.95, 0.80, 0.90], dtype=np.float32)]  # the heading scores best
    support = [np.zeros(3, dtype=np.float32)]
    answer = compose("Vem betalar?", "Vem betalar?", "sv", [hit], sims, support)
    assert not answer.abstained
    first = answer.citations[0]
    # The heading is passed over; the quote is verbatim but for whitespace.
    assert first.quote == "Försäkringskassan betalar ut etablerings- ersättningen till individen."
    assert " ".join(TEXT[first.start:first.end].split()) == first.quote
    assert (first.page, first.section) == (2, ("Ansvar", "Försäkringskassan"))
    assert answer.text.startswith(first.quote) and "[1]" in answer.text
    # Every [n] in the text has a citation and every citation is referenced.
    assert [f"[{c.n}]" in answer.text for c in answer.citations] == [True] * len(answer.citations)


def test_compose_list_question_gives_the_items() -> None:
    text = ("Strategin prioriterar fem områden:\n\nSpråk\n\nHälsa\n\nArbete\n\n"
            "Det är viktigt att alla samarbetar i länet för att nå målen.")
    pieces = ["Strategin prioriterar fem områden:", "Språk", "Hälsa", "Arbete",
              "Det är viktigt att alla samarbetar i länet för att nå målen."]
    spans = _spans(text, pieces)
    hit = _hit(text, [(a, b, 3, ("Mål",)) for a, b in spans])
    sims = [np.array([0.86, 0.80, 0.80, 0.80, 0.85], dtype=np.float32)]
    answer = compose("What are the priority areas?", "What are the priority areas?", "en",
                     [hit], sims, [np.zeros(5, dtype=np.float32)])
    assert answer.text == "Strategin prioriterar fem områden: Språk; Hälsa; Arbete [1]"
    assert answer.citations[0].quote == "Strategin prioriterar fem områden: Språk Hälsa Arbete"


def test_english_answer_glosses_swedish_authorities_but_quotes_verbatim() -> None:
    text = "Försäkringskassan betalar ut ersättningen till individen."
    hit = _hit(text, [(0, len(text), None, ())])
    answer = compose("Who pays?", "Who pays?", "en", [hit], [np.array([0.9])],
                     [np.array([1.0])])
    assert answer.text.startswith("Försäkringskassan (Swedish Social Insurance Agency) betalar")
    assert answer.citations[0].quote == text


def test_refusal_in_the_question_language_keeps_the_closest_passages() -> None:
    hit = _hit("Något annat helt och hållet.", [(0, 28, None, ())])
    for language in ("sv", "en"):
        answer = refusal("q", "q", language, [hit])
        assert answer.abstained and answer.text == REFUSAL[language]
        assert answer.citations == () and answer.closest == (hit,)


def test_how_many_without_any_number_shows_passages() -> None:
    text = "Försäkringskassan betalar ut etableringsersättningen till individen."
    hit = _hit(text, [(0, len(text), None, ())])
    args = ([hit], [np.array([0.9])], [np.array([1.0])])
    shown = compose("How much is the benefit per day?", "How much is the benefit per day?",
                    "en", *args)
    # no sentence is stated as the answer: the passage is shown under the fixed opening
    assert shown.mode == "passages" and not shown.abstained and shown.closest == (hit,)
    assert shown.text.startswith(PASSAGES["en"]) and shown.citations[0].quote == text
    answered = compose("Who pays the benefit?", "Who pays the benefit?", "en", *args)
    assert answered.mode == "answer" and not answered.abstained
    weak = compose("Who pays the benefit?", "Who pays the benefit?", "en", *args, weak=True)
    assert weak.mode == "passages" and weak.text.endswith("[1]")


def test_passages_show_a_sentence_shared_by_overlapping_chunks_once() -> None:
    text = "Försäkringskassan betalar ut etableringsersättningen till individen."
    hits = [_hit(text, [(0, len(text), None, ())]), _hit(text, [(0, len(text), None, ())])]
    args = (hits, [np.array([0.9])] * 2, [np.array([1.0])] * 2)
    shown = compose("Who pays?", "Who pays?", "en", *args, weak=True)
    assert shown.mode == "passages" and len(shown.citations) == 1
    assert shown.text.startswith(PASSAGES["en"]) and shown.text.endswith("[1]")
    assert "[2]" not in shown.text
