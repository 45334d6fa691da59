"""Abbreviations a document defines, "strategiska överenskommelse (SÖK)", and their use.

Reports define an abbreviation once and then use only the short form: "SÖK:en löper ut
(2025-12-31)". A question names the thing ("when does the strategic agreement expire?"), so
the passages that use the short form get its long form for the lexical leg and the embedder.

Definitions are found the way Schwartz and Hearst (2003) describe: a parenthesised short form
whose characters occur, in order, in the words just before it, the first at the start of a word.
"""

from __future__ import annotations

import re

SHORT_FORM = re.compile(r"\(\s*([^\W\d_][\w./&-]{1,9})\s*\)")
WORD = re.compile(r"[\w'’-]+")
MAX_LONG_WORDS = 8  # besides Schwartz and Hearst's min(len(short) + 5, 2 * len(short)) words


def is_short_form(text: str) -> bool:
    """Whether parenthesised text looks like an abbreviation: one word of 2–10 characters
    with at least two capitals, and capitals for at least half its letters ("SÖK", "IOP";
    not "Bilaga" or "Sfi")."""
    letters = [c for c in text if c.isalpha()]
    return (
        2 <= len(text) <= 10
        and sum(c.isupper() for c in letters) >= max(2, len(letters) // 2)
    )


def long_form(short: str, before: str) -> str | None:
    """The words at the end of `before` that the short form abbreviates, or None.

    Each character of the short form is looked for from right to left through the preceding
    words; the first character must begin a word, which is where the long form starts.
    """
    words = WORD.findall(before)
    limit = min(len(short) + 5, 2 * len(short), MAX_LONG_WORDS)
    candidate = " ".join(words[-limit:])
    text, chars = candidate.lower(), [c.lower() for c in short if c.isalnum()]
    if len(chars) < 2:
        return None
    at = len(text)
    for i in range(len(chars) - 1, -1, -1):
        at = text.rfind(chars[i], 0, at)
        while i == 0 and at > 0 and text[at - 1].isalnum():
            at = text.rfind(chars[i], 0, at)  # the first character must start a word
        if at < 0:
            return None
    found = candidate[at:]
    if found.lower().startswith(short.lower()):
        return None  # "SÖK-processen (SÖK)" uses the short form, it does not define it
    return found


def definitions(text: str) -> dict[str, str]:
    """Short form → long form for each abbreviation the text defines (the first definition of
    a short form wins)."""
    found: dict[str, str] = {}
    for match in SHORT_FORM.finditer(text):
        short = match.group(1).rstrip(".-")
        if short in found or not is_short_form(short):
            continue
        sentence_start = max(text.rfind(". ", 0, match.start()), text.rfind("\n", 0, match.start()))
        long = long_form(short, text[sentence_start + 1: match.start()])
        if long:
            found[short] = long
    return found


def _use(short: str) -> re.Pattern[str]:
    """A short form as a word of its own, with any suffix attached: "SÖK", "SÖK:ens",
    "SÖK-processen"."""
    return re.compile(rf"(?<!\w){re.escape(short)}(?:[:-]\w+)?(?!\w)")


def used(text: str, defined: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The (short, long) forms of the defined abbreviations a text uses, in order of first
    use."""
    found = []
    for short, long in defined.items():
        if match := _use(short).search(text):
            found.append((match.start(), short, long))
    return tuple((short, long) for _, short, long in sorted(found))


def spell_out(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    """The text with each abbreviation's long form in brackets after its first use, unless
    the text spells it out already: "SÖK:en (strategiska överenskommelse) löper ut"."""
    for short, long in pairs:
        if long.lower() in text.lower():
            continue
        text = _use(short).sub(lambda m, long=long: f"{m.group(0)} ({long})", text, count=1)
    return text
