"""Swedish compounds for the lexical leg: folded words split into known parts, and hyphenated
first parts ("etablerings- ersättning", "hälso- och sjukvård") joined to the word they share."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache, lru_cache

from assistant.lang import lexicon
from assistant.lang.fold import fold
from assistant.lang.frequency import frequencies

__all__ = ["MIN_PART", "NOT_PARTS", "PART_FLOOR", "best_split", "compound_terms", "head",
           "join_hyphens", "joined_words", "load_word_list", "split", "trigrams"]

MIN_PART = 4  # shorter parts are mostly prefixes and function words: "för", "upp", "sam"
PART_FLOOR = 1e-6  # a part must be at least this frequent (wordfreq share of all words)
# Known words that are not parts of the compounds they start or end: particles that prefix
# verbs and their nouns ("tillväxt" is not "till" + "växt", "undersöka" not "under" + "söka"),
# and endings that happen to be words ("-ande", "-heter", "-erna"); not_compound_parts.txt.
NOT_PARTS = lexicon.words("not_compound_parts")
TRIGRAM = 3

# "etablerings- ersättning" (a broken or spaced compound) and "hälso- och sjukvård" (a shared
# second part): a first part ending in '-', a space, an optional conjunction, the next word.
_HYPHEN = re.compile(
    rf"(?<![\w-])([^\W\d_]+)- +(?:({lexicon.alternation('shared_part_conjunctions')}) +)?"
    r"([^\W\d_]{2,})")
_WORDS = re.compile(r"\w+")


@cache
def _frequencies() -> dict[str, float]:
    """wordfreq's Swedish list folded like the lexical text (å→a), frequencies summed."""
    folded: dict[str, float] = {}
    for word, freq in frequencies("sv").items():
        if freq >= PART_FLOOR:
            key = word if word.isascii() else fold(word)
            folded[key] = folded.get(key, 0.0) + freq
    return folded


def load_word_list() -> None:
    """Load the Swedish word list the splitting reads now (about a second) instead of on the
    first compound."""
    _frequencies()


Part = Callable[[str, bool], "tuple[str, float] | None"]


def best_split(word: str, part: Part, min_part: int, *, split_cost: float = 0.0,
               fewest: bool = False, whole: bool = True) -> tuple[str, ...] | None:
    """The best split of a word into parts of at least `min_part` letters, or None.

    `part(piece, last)` gives the form and score (> 0) of a piece it knows, or None. The best
    split has the highest sum of log scores, less `split_cost` for each split; with `fewest`,
    fewest parts come first. With `whole` false the word itself is no one-part split.
    """
    n = len(word)
    # best[i]: ((-parts if fewest else 0, log score), parts) of the best split of word[:i]
    best: list[tuple[tuple[int, float], tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = ((0, 0.0), ())
    for end in range(min_part, n + 1):
        for start in range(0, end - min_part + 1):
            head = best[start]
            if head is None or (not whole and start == 0 and end == n):
                continue
            found = part(word[start:end], end == n)
            if found is None:
                continue
            form, score = found
            total = head[0][1] + math.log(score) - (split_cost if start else 0.0)
            key = (-(len(head[1]) + 1) if fewest else 0, total)
            current = best[end]
            if current is None or key > current[0]:
                best[end] = (key, (*head[1], form))
    final = best[n]
    return final[1] if final is not None else None


def _part(piece: str, last: bool) -> tuple[str, float] | None:
    """A known part and its frequency; a part before another may end in a linking 's'
    ("etablerings-", "arbets-" from "arbete")."""
    freq = _frequencies()
    if piece in NOT_PARTS:
        return None
    options = [(piece, freq.get(piece, 0.0))]
    if not last and piece.endswith("s") and len(piece) > MIN_PART:
        stem = piece[:-1]
        options += [(stem, freq.get(stem, 0.0)), (stem + "e", freq.get(stem + "e", 0.0))]
    word, score = max(options, key=lambda option: option[1])
    return (word, score) if score else None


@lru_cache(maxsize=200_000)
def split(word: str) -> tuple[str, ...]:
    """The parts of a folded compound, or () when the word is not one.

    Of the splits into known parts of at least MIN_PART letters, one with the fewest parts is
    taken (the most frequent such), and only if each part is commoner than the word itself
    (after Koehn and Knight 2003): "etableringsersattning" → ("etablering", "ersattning");
    "kommunerna", "foreningen" (not "foren" + "ingen") → ().
    """
    if len(word) < 2 * MIN_PART or not word.isalpha():
        return ()
    parts = best_split(word, _part, MIN_PART, fewest=True, whole=False)
    if parts is None:
        return ()
    lowest = min(_frequencies()[p] for p in parts)
    return parts if lowest > _frequencies().get(word, 0.0) else ()


def head(word: str) -> str:
    """The last part of a compound ("utbildningscenter" → "center"), or the word."""
    parts = split(word)
    return parts[-1] if parts else word


def join_hyphens(folded: str) -> str:
    """Folded text with hyphenated first parts joined: "etablerings- ersattning" →
    "etableringsersattning", "halso- och sjukvard" → "halsovard och sjukvard"."""

    def joined(match: re.Match[str]) -> str:
        first, conjunction, second = match.groups()
        if conjunction is None:
            return first + second
        return f"{first}{head(second)} {conjunction} {second}"

    return _HYPHEN.sub(joined, folded)


def joined_words(folded: str) -> list[str]:
    """The words that joining hyphenated first parts makes, each once in first-seen order."""
    words = set(_WORDS.findall(folded))
    return list(dict.fromkeys(w for w in _WORDS.findall(join_hyphens(folded)) if w not in words))


def compound_terms(folded: str) -> list[str]:
    """What the compound column indexes for a folded text: the hyphen-joined words and the
    parts of every compound, each once in first-seen order."""
    joined = joined_words(folded)
    terms = dict.fromkeys(joined)
    for word in (*_WORDS.findall(folded), *joined):
        terms.update(dict.fromkeys(split(word)))
    return list(terms)


def trigrams(word: str) -> set[str]:
    """The word's character trigrams (the word itself when shorter)."""
    return {word[i:i + TRIGRAM] for i in range(max(1, len(word) - TRIGRAM + 1))}
