"""The field's Swedish terms and their English names: query expansion both ways, and glosses."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from assistant.errors import TermsFileError
from assistant.lang import lexicon
from assistant.lang.fold import fold

__all__ = ["GLOSSED_KINDS", "KINDS", "Expansion", "Term", "expand_query", "expansions", "gloss",
           "gloss_text", "load_terms", "parse_terms"]

COLUMNS = ("sv", "en", "kind", "source")
KINDS = frozenset({"authority", "unit", "benefit", "programme", "law", "body", "role", "concept",
                   "place"})
GLOSSED_KINDS = frozenset({"authority", "benefit", "programme", "law", "body"})
SEPARATOR = "|"  # between alternative English names in the en column

# Swedish inflection, from assistant/data/sv/: the endings a word of a term may carry in a
# query, those of words under 4 letters, those that double a final consonant, those that
# replace a final e, and those that make a noun plural (its English gloss then takes one too).
SV_ENDINGS = lexicon.words("inflection_endings", ("sv",))
SV_SHORT_ENDINGS = lexicon.words("short_inflection_endings", ("sv",))
SV_DOUBLED = lexicon.words("doubling_endings", ("sv",))
SV_E_DROP = lexicon.words("e_dropping_endings", ("sv",))
SV_PLURAL = lexicon.words("plural_endings", ("sv",))
MIN_INFLECTED = 3  # shorter words match only as written

_WORD = re.compile(r"\w+")
_PARENTHESIS = re.compile(r"\([^()]*\)")
_POSSESSIVE = re.compile(r"[:'’]s\b")  # "SKR:s", "Agency's": the gloss goes after it


@dataclass(frozen=True)
class Term:
    """One Swedish term with its English names, its kind and where the English is used."""

    sv: str
    en: tuple[str, ...]
    kind: str
    source: str


@dataclass(frozen=True)
class Expansion:
    """A term found in a text: the words as written, their language and the other-language forms."""

    matched: str
    lang: str  # "sv" or "en": the language of the matched form
    targets: tuple[str, ...]
    term: Term


@dataclass(frozen=True)
class _Form:
    """One name of a term as folded words to match."""

    words: tuple[str, ...]
    lang: str
    term: Term


@dataclass(frozen=True)
class _Match:
    """Where a form matched in a text: character span and the form."""

    start: int
    end: int
    form: _Form


def parse_terms(text: str, origin: str = "<terms>") -> tuple[Term, ...]:
    """Terms from the text of a terms file; a malformed line raises TermsFileError naming it."""
    terms: list[Term] = []
    seen: dict[tuple[str, ...], int] = {}
    header = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{origin}, line {number}"
        fields = [field.strip() for field in line.split("\t")]
        if not header:
            if tuple(fields) != COLUMNS:
                raise TermsFileError(f"{where}: expected the header {' | '.join(COLUMNS)} "
                                     f"(tab-separated), found {line!r}")
            header = True
            continue
        if len(fields) != len(COLUMNS):
            raise TermsFileError(f"{where}: expected {len(COLUMNS)} tab-separated columns "
                                 f"({', '.join(COLUMNS)}), found {len(fields)}")
        sv, en, kind, source = fields
        names = tuple(name.strip() for name in en.split(SEPARATOR))
        empty = [col for col, value in zip(COLUMNS, fields, strict=True) if not value]
        if empty or not all(names):
            raise TermsFileError(f"{where}: empty {', '.join(empty) or 'English name'}")
        if kind not in KINDS:
            raise TermsFileError(f"{where}: unknown kind {kind!r}; use one of "
                                 f"{', '.join(sorted(KINDS))}")
        key = _words(_PARENTHESIS.sub(" ", sv))
        if not key or not all(_words(name) for name in names):
            raise TermsFileError(f"{where}: a name has no words")
        if key in seen:
            raise TermsFileError(f"{where}: {sv!r} repeats the term on line {seen[key]}")
        seen[key] = number
        terms.append(Term(sv=sv, en=names, kind=kind, source=source))
    if not header:
        raise TermsFileError(f"{origin}: no header line ({' | '.join(COLUMNS)})")
    return tuple(terms)


@cache
def load_terms() -> tuple[Term, ...]:
    """The bundled terms (assistant/data/terms.tsv), read once."""
    path = resources.files("assistant") / "data" / "terms.tsv"
    return parse_terms(path.read_text(encoding="utf-8"), "assistant/data/terms.tsv")


def expansions(text: str, terms: Sequence[Term] | None = None) -> list[Expansion]:
    """Terms mentioned in a text in either language, first mention each, with their other forms."""
    text = unicodedata.normalize("NFC", text)
    found: list[Expansion] = []
    done: set[Term] = set()
    for match in _scan(text, ("sv", "en"), _terms(terms)):
        term, form = match.form.term, match.form
        if term in done:
            continue
        done.add(term)
        others = (term.sv,) if form.lang == "en" else term.en
        targets = tuple(name for name in others if form.words not in _name_words(name))
        if targets:
            found.append(Expansion(text[match.start:match.end], form.lang, targets, term))
    return found


def expand_query(text: str, terms: Sequence[Term] | None = None) -> str:
    """The query with the other-language forms of the terms it mentions appended."""
    extra: dict[str, None] = {}
    for expansion in expansions(text, terms):
        extra.update(dict.fromkeys(expansion.targets))
    return " ".join([text, *extra]) if extra else text


def gloss(term: str, terms: Sequence[Term] | None = None) -> str | None:
    """The English name of a Swedish term as written (any inflection), or None if not a term."""
    term = unicodedata.normalize("NFC", term)
    spans = [m.span() for m in _WORD.finditer(term)]
    for match in _scan(term, ("sv",), _terms(terms)):
        if (match.start, match.end) == (spans[0][0], spans[-1][1]):
            return match.form.term.en[0]
    return None


def gloss_text(text: str, lang: str = "en", terms: Sequence[Term] | None = None) -> str:
    """The text with the reader's-language name after the first mention of each glossed term.

    lang is the reader's language: "en" glosses Swedish names of authorities, benefits,
    programmes, laws and bodies with their English names; "sv" does the reverse.
    """
    if lang not in ("en", "sv"):
        raise ValueError(f"lang must be 'en' or 'sv', not {lang!r}")
    text = unicodedata.normalize("NFC", text)
    source_lang = "sv" if lang == "en" else "en"
    out: list[str] = []
    last = 0
    done: set[Term] = set()
    for match in _scan(text, (source_lang,), _terms(terms)):
        term = match.form.term
        if term in done or term.kind not in GLOSSED_KINDS:
            continue
        name = term.en[0] if lang == "en" else _PARENTHESIS.sub(" ", term.sv).strip()
        if _words(name) == match.form.words:
            continue  # the same in both languages ("region")
        if lang == "en" and _is_plural(text[match.start:match.end], match.form.words[-1]):
            name = _plural(name)
        end = _after(text, match.start, match.end)
        if text[match.start - 1:match.start] == "-" or text[end:end + 1] == "-":
            continue  # part of a hyphenated compound ("sfi-lärare"): gloss a later mention
        done.add(term)
        readers = term.en if lang == "en" else (term.sv, name)
        if any(_glossed(text, end, reader) for reader in readers):
            continue
        out.extend([text[last:end], f" ({name})"])
        last = end
    out.append(text[last:])
    return "".join(out)


def _terms(terms: Sequence[Term] | None) -> tuple[Term, ...]:
    """The given terms as a tuple, or the bundled ones."""
    return load_terms() if terms is None else tuple(terms)


def _words(text: str) -> tuple[str, ...]:
    """Folded words of a text."""
    return tuple(_WORD.findall(fold(text)))


@lru_cache(maxsize=4096)
def _name_words(name: str) -> frozenset[tuple[str, ...]]:
    """The word sequences a name matches: without its parentheses and, if different, with them."""
    return frozenset(w for w in (_words(_PARENTHESIS.sub(" ", name)), _words(name)) if w)


@lru_cache(maxsize=8)
def _index(terms: tuple[Term, ...]) -> dict[str, tuple[_Form, ...]]:
    """Every form of every term, bucketed by the first letter of its first word."""
    buckets: dict[str, list[_Form]] = {}
    for term in terms:
        names = [("sv", term.sv), *(("en", name) for name in term.en)]
        for lang, name in names:
            for words in sorted(_name_words(name)):
                buckets.setdefault(words[0][0], []).append(_Form(words, lang, term))
    return {letter: tuple(forms) for letter, forms in buckets.items()}


def _scan(text: str, langs: tuple[str, ...], terms: tuple[Term, ...]) -> list[_Match]:
    """Non-overlapping term mentions, left to right, the longest match at each position."""
    spans = [(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]
    words = [word for word, _, _ in spans]
    index = _index(terms)
    found: list[_Match] = []
    i = 0
    while i < len(words):
        best: list[tuple[int, int, _Form]] = []
        for form in index.get(words[i][:1], ()):
            if form.lang in langs and (end := _match(form, words, i)) is not None:
                best.append((end, len("".join(form.words)), form))
        if not best:
            i += 1
            continue
        # Longest first: most query words covered, then the longest name; ties keep every term.
        top = max((end, size) for end, size, _ in best)
        kept: set[Term] = set()
        for end, size, form in best:
            if (end, size) == top and form.term not in kept:
                kept.add(form.term)
                found.append(_Match(spans[i][1], spans[end - 1][2], form))
        i = top[0]
    return found


def _match(form: _Form, words: list[str], i: int) -> int | None:
    """The index after the last query word if form matches the words from i, else None."""
    j = i
    for k, want in enumerate(form.words):
        # Law names carry their SFS number: "lagen (2016:38) om mottagande ..." still matches.
        while k and not want.isdigit() and j < len(words) and words[j].isdigit():
            j += 1
        if j >= len(words) or not _inflects(want, words[j], form.lang):
            return None
        j += 1
    return j


def _inflects(word: str, token: str, lang: str) -> bool:
    """Whether token is word or one of its simple inflections in lang (both folded)."""
    if token == word:
        return True
    if len(word) < MIN_INFLECTED or not token.startswith(word[:-1]):
        return False
    if lang == "en":
        plurals = (word + "s", word + "es", word[:-1] + "ies" if word[-1] == "y" else "")
        return token in plurals
    rest = token[len(word):]
    if token.startswith(word):
        if rest in (SV_ENDINGS if len(word) >= 4 else SV_SHORT_ENDINGS):
            return True
        if rest[:1] == word[-1] and word[-1] not in "aeiouy" and rest[1:] in SV_DOUBLED:
            return True
    if word[-1] == "e" and token[len(word) - 1:] in SV_E_DROP:
        return True
    return word[-1] == "t" and token[len(word) - 1:] in ("a", "e")  # "strategiskt" → "strategiska"


def _is_plural(mention: str, word: str) -> bool:
    """Whether a Swedish mention ends in a plural form of the term's last word."""
    token = _words(mention)[-1]
    rest = token[len(word):] if token.startswith(word) else token[len(word) - 1:]
    return token != word and rest in SV_PLURAL


def _plural(name: str) -> str:
    """An English name with its last word made plural ("Board" → "Boards")."""
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    return name + ("es" if re.search(r"(s|x|ch|sh)$", name) else "s")


def _after(text: str, start: int, end: int) -> int:
    """Where a gloss goes: after the mention, its closing parenthesis and any ':s' or "'s"."""
    depth = text.count("(", start, end) - text.count(")", start, end)
    while depth > 0 and (close := text.find(")", end)) >= 0:
        end, depth = close + 1, depth - 1
    possessive = _POSSESSIVE.match(text, end)
    return possessive.end() if possessive else end


def _glossed(text: str, end: int, name: str) -> bool:
    """Whether the text already gives name in parentheses right after position end."""
    return re.match(r"\s*\(\s*" + re.escape(name), text[end:], re.IGNORECASE) is not None
