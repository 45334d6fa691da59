"""What a question asks about: its concepts with rarity weights, and how much of them a
passage covers (the lexical gate and the refusal rule both weigh coverage)."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from assistant.index.storage import IndexStore
from assistant.lang.compounds import compound_terms, join_hyphens, split
from assistant.lang.fold import fold, query_terms, tokens
from assistant.retrieval.fusion import FusionParams
from assistant.types import DocInfo


@dataclass(frozen=True)
class Concept:
    """A thing the question asks about: a query word, or a domain term with its translations.

    A passage covers the concept when it holds all the words of any one of its forms.
    """

    forms: tuple[tuple[str, ...], ...]  # folded content words of each form
    weight: float
    present: bool  # some form occurs in the corpus at all (else no passage can cover it)


def query_concepts(store: IndexStore, query: str, params: FusionParams) -> list[Concept]:
    """The question's concepts with rarity weights; domain terms bring their other-language
    forms when `params.expand_terms` is set (assistant/data/terms.tsv), and compounds their
    known parts."""
    from assistant.lang.terms import expansions

    query = join_hyphens(fold(query))  # "etablerings- ersättning": one word
    terms = query_terms(query)
    weights = term_weights(store, terms, params)
    concepts: list[Concept] = []
    claimed: set[str] = set()
    if params.expand_terms:
        for expansion in expansions(query):
            own = tuple(t for t in query_terms(expansion.matched) if t in weights)
            if not own or claimed.issuperset(own):
                continue
            claimed.update(own)
            others = tuple(f for f in (tuple(query_terms(t)) for t in expansion.targets) if f)
            concepts.append(_concept((own, *others), max(weights[t] for t in own), store,
                                     params))
    concepts.extend(_concept(((t,),), weights[t], store, params)
                    for t in terms if t not in claimed)
    return concepts


def _concept(forms: tuple[tuple[str, ...], ...], weight: float, store: IndexStore,
             params: FusionParams) -> Concept:
    """A concept; each form also as its compounds' parts."""
    parts = (tuple(p for w in form for p in split(w) or (w,)) for form in forms)
    forms = tuple(dict.fromkeys((*forms, *parts)))
    present = any(all(store.document_frequency(w, params.prefix_min) for w in form)
                  for form in forms)
    return Concept(forms, weight, present)


def term_weights(store: IndexStore, terms: list[str], params: FusionParams
                 ) -> dict[str, float]:
    """BM25-style inverse document frequency of each query term over the chunks."""
    n = store.size()
    weights = {}
    for term in terms:
        df = store.document_frequency(term, params.prefix_min)
        weights[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return weights


def concept_coverage(concepts: list[Concept], folded_text: str, prefix_min: int,
                     context: str = "") -> float:
    """Weighted share of the concepts a folded text (followed by a folded `context`, as if
    joined by a space) covers; long words match as prefixes, and a word matches a compound's
    known part.

    Concepts the corpus lacks altogether are left out: no passage can hold them, so they
    cannot tell passages apart (they matter for refusing, see assistant/answer/evidence.py).
    """
    concepts = [c for c in concepts if c.present]
    total = sum(c.weight for c in concepts)
    if not total:
        return 0.0
    parts = _words_of(folded_text, context)

    def has(word: str) -> bool:
        if any(word in known for known, _ in parts):
            return True
        if len(word) < prefix_min:
            return False
        for _, ordered in parts:
            at = bisect_left(ordered, word)  # the first word ≥ it: one it prefixes, if any
            if at < len(ordered) and ordered[at].startswith(word):
                return True
        return False

    found = sum(c.weight for c in concepts if any(all(has(w) for w in form) for form in c.forms))
    return found / total


# a hyphenated first part at the end of a text may join the next text's first word
_JOINS_ACROSS = re.compile(r"-\s*(?:\w+\s*)?$")


def _words_of(folded_text: str, context: str
              ) -> list[tuple[frozenset[str], tuple[str, ...]]]:
    """The vocabulary of `folded_text + " " + context` as the two parts' cached vocabularies
    (a passage's is reused with any context), or whole when a hyphen joins across."""
    if not context:
        return [_vocabulary(folded_text)]
    if _JOINS_ACROSS.search(folded_text):
        return [_vocabulary(f"{folded_text} {context}")]
    return [_vocabulary(folded_text), _vocabulary(context)]


@lru_cache(maxsize=16384)
def _vocabulary(folded_text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The words a passage offers for matching, as a set and sorted (for prefixes): its
    tokens, plus the hyphen-joined words and the parts of its compounds. Cached: the same
    passages come up query after query."""
    words = frozenset(tokens(folded_text) + compound_terms(folded_text))
    return words, tuple(sorted(words))


def document_context(info: DocInfo) -> str:
    """What a document lends each of its passages for coverage, folded: its title and region
    (a passage of the Kronoberg report covers "Kronoberg" even where its text never names it)."""
    return fold(f"{info.title} {info.region or ''}")
