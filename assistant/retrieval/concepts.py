"""What a question asks about: its concepts with rarity weights, and how much of them a
passage covers (the lexical gate and the refusal rule both weigh coverage)."""

from __future__ import annotations

import math
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


def concept_coverage(concepts: list[Concept], folded_text: str, prefix_min: int) -> float:
    """Weighted share of the concepts a folded text covers (long words match as prefixes, and
    a word matches a compound's known part).

    Concepts the corpus lacks altogether are left out: no passage can hold them, so they
    cannot tell passages apart (they matter for refusing, see assistant/answer/evidence.py).
    """
    concepts = [c for c in concepts if c.present]
    total = sum(c.weight for c in concepts)
    if not total:
        return 0.0
    known = _vocabulary(folded_text)

    def has(word: str) -> bool:
        if word in known:
            return True
        return len(word) >= prefix_min and any(w.startswith(word) for w in known)

    found = sum(c.weight for c in concepts if any(all(has(w) for w in form) for form in c.forms))
    return found / total


@lru_cache(maxsize=4096)
def _vocabulary(folded_text: str) -> frozenset[str]:
    """The words a passage offers for matching: its tokens, plus the hyphen-joined words and
    the parts of its compounds. Cached: the same passages come up query after query."""
    return frozenset(tokens(folded_text) + compound_terms(folded_text))


def document_context(info: DocInfo) -> str:
    """What a document lends each of its passages for coverage, folded: its title and region
    (a passage of the Kronoberg report covers "Kronoberg" even where its text never names it)."""
    return fold(f"{info.title} {info.region or ''}")
