"""Restore Swedish å/ä/ö lost or mangled by OCR, word by word, against wordfreq's Swedish list."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace
from functools import cache, lru_cache

from assistant.lang.compounds import best_split
from assistant.lang.frequency import frequencies
from assistant.types import BLOCK_SEPARATOR, Document

__all__ = ["DAMAGE_THRESHOLD", "is_damaged", "repair_document", "repair_swedish",
           "swedish_damage"]

# Chosen by sweeping on the folded Kronoberg report with bench/ocr_repair.py (dev text only).
RATIO = 3.0  # a variant replaces a known word only when this many times more frequent
CONFUSION_PENALTY = 0.1  # each d→ä/å/ö or i→l guess costs a factor: these are rarer than folding
FLOOR = 3e-8  # a replacement must be at least this frequent (wordfreq share of all words)
PART_FLOOR = 1e-7  # compound parts must be commoner than whole words: short junk splits abound
SPLIT_PENALTY = 1e-2  # each compound split costs as much as a hundredfold rarer part
MAX_CONFUSIONS = 2  # at most this many d/i guesses per word keeps candidates in the hundreds
MIN_PART = 3
DAMAGE_THRESHOLD = 0.03  # share of changed words; clean files measure < 0.005, Blekinge 0.30

# A word: letters, plus OCR's '&' for ä, and a leading '6' for ö ("6kar" = "ökar").
_WORD = re.compile(r"(?<![\w&|])6?(?:[^\W\d_]|&)+")
_PIPE = re.compile(r"(?<!\S)\|(?=[ \t]+[^\W\d_])")  # a lone '|' before a word is OCR's 'I'
_FOLD = str.maketrans("åäöé", "aaoe")
_FREE = {"a": "aåä", "o": "oö", "e": "eé", "é": "éöä", "&": "ä", "6": "ö"}
_GUESS = {"d": "äåö", "i": "l"}  # OCR confusions that cost CONFUSION_PENALTY each
_SKELETONS = {"é": "eoa", "d": "dao", "i": "il"}


@cache
def _swedish() -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    """The Swedish frequency list and a map from folded spelling to the words with diacritics."""
    freq = frequencies("sv")
    folded: dict[str, list[str]] = {}
    for word in freq:
        skeleton = word.translate(_FOLD)
        if skeleton != word:
            folded.setdefault(skeleton, []).append(word)
    return freq, {k: tuple(v) for k, v in folded.items()}


@cache
def _english() -> dict[str, float]:
    """The English frequency list, to leave English lines alone."""
    return frequencies("en")


def _allowed(token: str, i: int, guess: bool) -> str:
    """Characters the token's i-th character may stand for."""
    ch = token[i]
    if ch == "6" and i == 0:
        return "ö"
    if ch in _FREE:
        return _FREE[ch]
    return ch + _GUESS.get(ch, "") if guess else ch


def _skeletons(token: str, guess: bool) -> list[str]:
    """Folded spellings the token may stand for, with at most MAX_CONFUSIONS d/i guesses."""
    base = [_allowed(token, i, guess)[0].translate(_FOLD) for i in range(len(token))]
    free = [i for i, ch in enumerate(token) if ch == "é"][:4]
    spots_ = [i for i, ch in enumerate(token) if ch in _GUESS] if guess else []
    out = []
    for n in range(min(MAX_CONFUSIONS, len(spots_)) + 1):
        for spots in itertools.combinations(spots_, n):
            choices = [_SKELETONS["é"] for _ in free] + [_SKELETONS[token[i]][1:] for i in spots]
            for pick in itertools.product(*choices):
                chars = list(base)
                for i, ch in zip(free + list(spots), pick, strict=True):
                    chars[i] = ch
                out.append("".join(chars))
    return out


def _variants(token: str, guess: bool) -> list[tuple[float, str]]:
    """Known words the (lower-case) token may stand for, scored by frequency and guesses."""
    freq, folded = _swedish()
    scored = {}
    for skeleton in _skeletons(token, guess):
        for word in (skeleton, *folded.get(skeleton, ())):
            if word == token or word not in freq or len(word) != len(token):
                continue
            if not all(w in _allowed(token, i, guess) for i, w in enumerate(word)):
                continue
            guesses = sum(1 for t, w in zip(token, word, strict=True) if t in _GUESS and t != w)
            scored[word] = freq[word] * CONFUSION_PENALTY**guesses
    return sorted(((s, w) for w, s in scored.items()), reverse=True)


@lru_cache(maxsize=200_000)
def _best(token: str, floor: float, guess: bool) -> tuple[str, float]:
    """The token or its best variant at or above floor, with its score (0 when unknown)."""
    own = _swedish()[0].get(token, 0.0)
    for score, word in _variants(token, guess):
        if _swedish()[0][word] < floor:
            continue
        if score > RATIO * own:
            return word, score
        break
    return token, own if own >= floor else 0.0


@lru_cache(maxsize=200_000)
def _compound(token: str, guess: bool) -> str | None:
    """The token split into known, repaired parts (linking 's' allowed), or None."""
    parts = best_split(token, lambda piece, last: _part(piece, last, guess), MIN_PART,
                       split_cost=-math.log(SPLIT_PENALTY))
    return "".join(parts) if parts is not None and len(parts) > 1 else None


def _part(piece: str, last: bool, guess: bool) -> tuple[str, float] | None:
    """A repaired compound part and its score, allowing a linking 's' before another part."""
    options = [_best(piece, PART_FLOOR, guess)]
    if not last and piece.endswith("s") and len(piece) > MIN_PART:
        stem, score = _best(piece[:-1], PART_FLOOR, guess)
        options.append((stem + "s", score))
    word, score = max(options, key=lambda option: option[1])
    return (word, score) if score else None


@lru_cache(maxsize=200_000)
def _repair_lower(token: str, guess: bool = True) -> str:
    """The repaired spelling of a lower-case token (d/i guesses only if guess), or the token."""
    word, score = _best(token, FLOOR, guess)
    if word != token or score:
        return word
    return _compound(token, guess) or token


def _recase(original: str, word: str) -> str:
    """Give the repaired word the case pattern of the original, character by character."""
    upper = len(original) > 1 and original.isupper()
    out = []
    for o, w in zip(original, word, strict=True):
        if upper:
            out.append(w.upper())
        elif o.isupper() and not (o == "I" and w == "l"):
            out.append(w.upper())
        else:
            out.append(w)
    return "".join(out)


def _repair_word(match: re.Match[str]) -> str:
    """Repair one word token, keeping its case pattern."""
    token = match.group()
    if len(token) < 2 or not any(ch.isalpha() for ch in token):
        return token
    lower = token.lower()
    # Acronyms are all capitals and OCR keeps them intact: "IOP" is not "LÖP".
    return _recase(token, _repair_lower(lower, guess=not token.isupper()))


def _is_english(line: str) -> bool:
    """Whether most words on the line are commoner in English than in Swedish."""
    words = [m.group().lower() for m in _WORD.finditer(line) if len(m.group()) > 1]
    if len(words) < 3:
        return False
    sv, en = _swedish()[0], _english()
    hits = sum(1 for w in words if en.get(w, 0.0) > max(sv.get(w, 0.0), 1e-6))
    return hits >= 0.6 * len(words)


def _repair_line(line: str) -> str:
    """Repair one line unless it reads as English."""
    if _is_english(line):
        return line
    return _WORD.sub(_repair_word, _PIPE.sub("I", line))


def repair_swedish(text: str) -> str:
    """Restore lost å/ä/ö and OCR confusions in Swedish words; all else is kept byte for byte."""
    return "".join(_repair_line(line) for line in text.splitlines(keepends=True))


def swedish_damage(text: str) -> float:
    """The share of word tokens that repair_swedish would change (0.0 for no words)."""
    total = changed = 0
    for line in text.splitlines():
        english = _is_english(line)
        for match in _WORD.finditer(line):
            if len(match.group()) < 2:
                continue
            total += 1
            changed += not english and _repair_word(match) != match.group()
    return changed / total if total else 0.0


def is_damaged(text: str, threshold: float = DAMAGE_THRESHOLD) -> bool:
    """Whether the text's Swedish damage is above the threshold."""
    return swedish_damage(text) > threshold


REPAIR_NOTE = "Swedish OCR damage detected: å/ä/ö restored automatically"


def repair_document(document: Document) -> Document:
    """The document with its text and headings repaired, if its Swedish text is OCR-damaged.

    Repair never changes a text's length, so character offsets stay valid for both forms.
    """
    if not is_damaged(" ".join(b.text for b in document.blocks)):
        return document
    blocks = tuple(
        replace(b, text=repair_swedish(b.text), section=tuple(repair_swedish(s) for s in b.section))
        for b in document.blocks
    )
    title = repair_swedish(document.title) if document.title else None
    original = BLOCK_SEPARATOR.join(b.text for b in document.blocks)
    return replace(document, blocks=blocks, title=title, original_text=original,
                   problems=(*document.problems, REPAIR_NOTE))
