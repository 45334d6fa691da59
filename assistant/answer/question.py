"""What a question is: its language, and what kind of thing it asks for (an actor, a date, a
number, a list); and whether a sentence holds that thing.

The words come from the language lists under ``assistant/data/<language>/`` (see
``assistant.lang.lexicon``), so a new language is a new folder, not new code here.
"""

from __future__ import annotations

import re
from functools import cache

from assistant.lang import lexicon
from assistant.lang.detect import detect_language
from assistant.lang.terms import expansions

__all__ = ["ACTOR_KINDS", "DEFAULT_LANGUAGE", "KINDS", "question_kind", "question_language",
           "satisfies"]

# The language of a question nothing else settles: the corpus and its users are mostly Swedish.
DEFAULT_LANGUAGE = "sv"
# A language wins on cue words alone with at least this many, and more than any other
# (judgement call: one cue word is too often shared, "var", "for").
CUE_MINIMUM = 2
# Weight of a language's own letters (å/ä/ö) in an uncapitalised word, counted in cue words
# (judgement call: such letters settle Swedish unless the cues clearly say otherwise).
LETTER_WEIGHT = 2
ACTOR_KINDS = frozenset({"authority", "body", "unit", "role"})  # term kinds that name actors
KINDS = ("who", "when", "count", "list")  # tried in this order; "other" when none opens it


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _cue_score(language: str, words: list[str], common: str) -> int:
    """Cue words of a language in a question, plus LETTER_WEIGHT if its letters appear."""
    cues = lexicon.words("question_cues", (language,))
    letters = lexicon.words("letters", (language,))
    return sum(w in cues for w in words) + LETTER_WEIGHT * any(ch in letters for ch in common)


def question_language(text: str) -> str:
    """The language of a question: cue words first (reliable for short questions), then
    langdetect; DEFAULT_LANGUAGE when neither can tell."""
    words = [w.lower() for w in _words(text)]
    # Letters like å/ä/ö in ordinary words point to a language; in names ("What is
    # Växjömentor?") they do not.
    common = " ".join(w for w in _words(text) if not w[:1].isupper())
    scores = {lang: _cue_score(lang, words, common) for lang in lexicon.languages()}
    ranked = sorted(scores, key=lambda lang: (-scores[lang], lang != DEFAULT_LANGUAGE, lang))
    best = ranked[0]
    if scores[best] >= CUE_MINIMUM and all(scores[other] != scores[best] for other in ranked[1:]):
        return best
    detected = detect_language(text)
    for lang in lexicon.languages():
        if detected in lexicon.words("detect_codes", (lang,)):
            return lang
    return best


@cache
def _opens(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{lexicon.alternation(name)})\b")


def _asks_plural(words: list[str]) -> bool:
    """Does a question ask for several things by its form, a question word, a noun and a plural
    verb ("what services are ...")?"""
    return len(words) >= 3 and any(
        words[0] in lexicon.words("plural_question_openers", (lang,))
        and words[2] in lexicon.words("plural_verbs", (lang,))
        for lang in lexicon.languages())


def question_kind(text: str) -> str:
    """What a question asks for: "who", "when", "count", "list" or "other"."""
    words = [w.lower() for w in _words(text)]
    t = " ".join(words)
    for kind in KINDS:
        if _opens(f"question_{kind}").match(t):
            return kind
    return "list" if _asks_plural(words) else "other"


@cache
def _pattern(name: str, stems: str | None = None) -> re.Pattern[str]:
    alternatives = lexicon.alternation(name)
    if stems:
        alternatives = rf"(?:{lexicon.alternation(stems)})\w*|{alternatives}"
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


def _names_actor(sentence: str) -> bool:
    names = [w for w in _words(sentence)[1:] if w[:1].isupper()]
    return bool(names) or bool(_pattern("actor_words", "actor_stems").search(sentence)) or any(
        e.term.kind in ACTOR_KINDS for e in expansions(sentence))


_YEAR_OR_DAY = re.compile(r"\b(1[89]|20)\d\d\b|\b\d{1,2}/\d{1,2}\b")


def satisfies(kind: str, sentence: str) -> bool:
    """Does a sentence hold what the question kind asks for (an actor, a date, a number)?"""
    if kind == "who":
        return _names_actor(sentence)
    if kind == "when":
        return bool(_YEAR_OR_DAY.search(sentence) or _pattern("months").search(sentence))
    if kind == "count":
        # "know one another": a number word inside a phrase that gives no number
        sentence = _pattern("non_numbers").sub(" ", sentence)
        return bool(re.search(r"\d", sentence) or _pattern("number_words").search(sentence))
    return True
