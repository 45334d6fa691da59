"""Follow-up questions: whether a question leans on the conversation, and the question made
self-contained from the turns before it.

The opening words, pronouns and particles come from the language lists under
``assistant/data/<language>/`` (see ``assistant.lang.lexicon``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from assistant.lang import lexicon
from assistant.types import Turn

__all__ = ["is_follow_up", "resolve"]

# A word of at least this many letters that is no question cue gives a question a subject of
# its own (judgement call: shorter words are particles and pronouns).
MIN_CONTENT_LETTERS = 3
# "and Kronoberg?" with no capitalised name is appended to the earlier question only when it
# has at most this many words (judgement call: longer ones are questions of their own).
MAX_APPENDED_WORDS = 4


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    """The follow-up patterns, built from the language lists."""
    alt = lexicon.alternation
    return {
        "start": re.compile(rf"^(?:{alt('followup_openers')})\b", re.IGNORECASE),
        "back": re.compile(rf"\b(?:{alt('back_references')})\b", re.IGNORECASE),
        # "det", "den" and "this" also serve as dummy subjects and articles ("finns det",
        # "den regionala strategin"), so they count only at the end of a question.
        "back_end": re.compile(rf"\b(?:{alt('back_references_end')})"
                               rf"(?:\s+(?:{alt('particles')}))?\W*$", re.IGNORECASE),
        "about": re.compile(rf"^(?:(?:{alt('conjunctions')})\s+)?"
                            rf"(?:{alt('about_openers')}|{alt('conjunctions')})"
                            r"\s+(?P<rest>.+?)\s*\??$", re.IGNORECASE),
        "question_word": re.compile(rf"\b(?:{alt('question_words')})\b", re.IGNORECASE),
    }


def _about(question: str) -> str | None:
    """The new subject of "what about Kronoberg?" or "och Kronoberg?", or None."""
    match = _patterns()["about"].match(question.strip())
    if match and not _patterns()["question_word"].search(match["rest"]):
        return match["rest"]
    return None


def is_follow_up(question: str) -> bool:
    """Does a question lean on the conversation (opens with "and"/"what about", refers back
    with a pronoun, or has no content words of its own)?"""
    cues = lexicon.words("question_cues")
    content = [w for w in re.findall(r"\w+", question.lower())
               if w not in cues and len(w) >= MIN_CONTENT_LETTERS]
    patterns = _patterns()
    if patterns["back"].search(question) or patterns["back_end"].search(question) or not content:
        return True
    if _about(question) is not None:
        return True  # "what about Kronoberg?", "och Kronoberg?"
    # "och vad är Växjömentor?" opens like a follow-up but names its own subject.
    return bool(patterns["start"].match(question.strip())) and not _names(question)


def _names(text: str, skip_first: bool = True) -> list[str]:
    """Capitalised words (after the first, which any sentence capitalises): place and
    organisation names in a question."""
    words = re.findall(r"\w+", text)
    return [w for w in words[1 if skip_first else 0:] if w[:1].isupper()]


def resolve(question: str, history: Sequence[Turn]) -> str:
    """The question made self-contained from the conversation before it.

    "What about Kronoberg?" after "Who decides ... in Blekinge?" becomes the earlier question
    with Kronoberg in Blekinge's place; in "and who decides on it?" the pronoun is replaced by
    what the earlier question asked about ("establishment benefit"); a follow-up with neither
    ("and when?") gets the earlier question appended.
    """
    question = " ".join(question.split())
    if not history or not is_follow_up(question):
        return question
    previous = resolve(history[-1].question, history[:-1])
    rest = _about(question)
    if rest is not None:
        new_names, old_names = _names(rest, skip_first=False), _names(previous)
        if new_names and old_names:
            # the first name is the one the follow-up replaces
            return re.sub(rf"\b{re.escape(old_names[0])}\b", " ".join(new_names), previous,
                          count=1)
        if not new_names and len(rest.split()) <= MAX_APPENDED_WORDS:
            return f"{previous} {rest}".strip()
    replaced = _replace_pronoun(question, referent(previous))
    return replaced or f"{question} ({previous})"


def referent(question: str) -> str:
    """What a question asks about: its words after the question word (with the noun or adverb
    a "which"/"how" takes) and the verb, less the function words at either end ("Vilka år
    gäller Blekinges integrationsstrategi?" → "Blekinges integrationsstrategi")."""
    from assistant.lang.fold import fold

    words = re.findall(r"[\w-]+", question)
    stop = lexicon.words("stopwords") | lexicon.words("particles")
    i = 0
    if words and words[0].lower() in lexicon.words("question_words"):
        i = 1
        verbs = stop | lexicon.words("question_cues")  # "is", "är", "does", "finns"
        if words[0].lower() in lexicon.words("question_determiners") and len(words) > 2 and (
                words[1].lower() not in verbs):
            i = 2  # "vilka år", "which law", "hur ofta"
    i += 1  # the verb
    rest = words[i:]
    while rest and (fold(rest[0]) in stop or rest[0].lower() in stop):
        rest = rest[1:]
    while rest and (fold(rest[-1]) in stop or rest[-1].lower() in stop):
        rest = rest[:-1]
    return " ".join(rest)


def _replace_pronoun(question: str, subject: str) -> str | None:
    """The follow-up with its referring pronoun ("den", "det", "it", "they") replaced by the
    subject, or None when it has none or there is no subject."""
    if not subject:
        return None
    patterns = _patterns()
    end = re.search(rf"\b(?:{lexicon.alternation('back_references_end')})\b"
                    rf"(?=(?:\s+(?:{lexicon.alternation('particles')}))?\W*$)", question,
                    re.IGNORECASE)
    match = end or patterns["back"].search(question)
    if match is None:
        return None
    return f"{question[:match.start()]}{subject}{question[match.end():]}"
