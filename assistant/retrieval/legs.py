"""The three retrieval legs: dense over chunks, dense over sentences (both per document
language), and lexical, gated by concept coverage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from assistant.index.storage import IndexStore
from assistant.retrieval.concepts import Concept, concept_coverage, document_context
from assistant.retrieval.fusion import FusionParams, merge_languages
from assistant.types import DocInfo, Filters


@dataclass(frozen=True)
class Partition:
    """Documents a dense leg may return from: one language's, within the filters."""

    docs: tuple[str, ...]
    whole: bool  # True when these are all the index's documents (no restriction needed)

    @cached_property
    def members(self) -> frozenset[str]:
        """The documents, as a set (made once: partitions are cached with the catalog)."""
        return frozenset(self.docs)

    @property
    def restriction(self) -> tuple[str, ...] | None:
        """The documents to restrict a search to; None for all."""
        return None if self.whole else self.docs


def partitions(store: IndexStore, filters: Filters, by_language: bool) -> list[Partition]:
    """The allowed documents, split by document language when `by_language` is set; computed
    once per state of the store's catalog and kept (a query pays a look-up, not a pass over
    every document)."""
    cache = _PARTITIONS.get(store)
    if cache is None or cache[0] is not store.docs:  # a new catalog object: a new state
        cache = _PARTITIONS[store] = (store.docs, {})
    key = (filters, by_language)
    if key not in cache[1]:
        if len(cache[1]) >= _CACHED_PARTITIONS:
            cache[1].clear()
        cache[1][key] = _partitions(store.docs, filters, by_language)
    return cache[1][key]


_PARTITIONS: WeakKeyDictionary[Any, tuple[Mapping[str, DocInfo],
                                          dict[tuple[Filters, bool], list[Partition]]]]
_PARTITIONS = WeakKeyDictionary()
_CACHED_PARTITIONS = 256  # filter combinations remembered per store


def _partitions(docs: Mapping[str, DocInfo], filters: Filters, by_language: bool
                ) -> list[Partition]:
    """`partitions` without the cache."""
    groups: dict[str, list[str]] = {}
    for doc, info in docs.items():
        if (
            (filters.type is None or info.type == filters.type)
            and (filters.language is None or info.language == filters.language)
            and (filters.doc is None or doc == filters.doc)
            and (filters.year is None or info.year == filters.year)
            and (filters.region is None or (info.region or "").lower() == filters.region.lower())
        ):
            groups.setdefault(info.language if by_language else "", []).append(doc)
    return [Partition(tuple(names), len(names) == len(docs)) for names in groups.values()]


def dense_chunks(store: IndexStore, vector: np.ndarray, parts: list[Partition], depth: int,
                 pull: float | None = None) -> list[int]:
    """Chunk rows by cosine with the query, languages merged (`merge_languages`)."""
    return merge_languages(chunk_rankings(store, vector, parts, depth), depth, pull)


def dense_sentences(store: IndexStore, vector: np.ndarray, parts: list[Partition], depth: int,
                    pull: float | None = None) -> list[int]:
    """Chunk rows by their best sentence's cosine with the query, languages merged."""
    return merge_languages(sentence_rankings(store, vector, parts, depth), depth, pull)


def chunk_rankings(store: IndexStore, vector: np.ndarray, parts: list[Partition], depth: int
                   ) -> list[list[tuple[int, float]]]:
    """Per partition: the `depth` best (chunk row, cosine), best first."""
    return [store.search_chunks(vector, depth, part.restriction) for part in parts]


def sentence_rankings(store: IndexStore, vector: np.ndarray, parts: list[Partition],
                      depth: int) -> list[list[tuple[int, float]]]:
    """Per partition: up to `depth` (chunk row, its best sentence's cosine), best first, from
    the depth × 4 closest sentences."""
    rankings = []
    for part in parts:
        best: dict[int, float] = {}
        for row, score in store.search_sentences(vector, depth * 4, part.restriction):
            best[row] = max(best.get(row, -1.0), score)
        rankings.append(sorted(best.items(), key=lambda item: (-item[1], item[0]))[:depth])
    return rankings


def lexical_leg(store: IndexStore, concepts: list[Concept], parts: list[Partition],
                params: FusionParams) -> list[tuple[int, float]]:
    """Passages holding the concepts' words, by BM25, within the partitions and gated."""
    covered = sum(len(p.docs) for p in parts) == len(store.docs)  # all documents allowed
    words = lexical_words(store, concepts, params)
    found = [(r, score) for r, score in store.lexical(words, params.depth * 4, params.prefix_min)
             if covered or any(store.row_doc(r) in p.members for p in parts)]
    return gate_lexical(store, concepts, found, params)


def lexical_words(store: IndexStore, concepts: list[Concept], params: FusionParams
                  ) -> list[str]:
    """The words the lexical leg searches for: those of every form of the question's concepts,
    the rarest of them within the share and the bound (`distinctive`)."""
    return distinctive(store, [w for c in concepts for form in c.forms for w in form], params)


def distinctive(store: IndexStore, words: list[str], params: FusionParams) -> list[str]:
    """The words the lexical leg searches for: the rarest first, while the passages they are
    found in (summed over the words) stay within `params.lexical_share` of the index and
    `params.lexical_rows` passages; the rarest found anywhere is always kept (words found
    nowhere cost nothing). The backend ranks every passage holding any of the words, so the
    commonest words would cost the most and weigh the least in BM25 (bench/RESULTS.md,
    issue 15, "The lexical leg's cost")."""
    if params.lexical_share is None:
        return words
    words = list(dict.fromkeys(words))
    budget = params.lexical_share * store.size()
    if params.lexical_rows is not None:
        budget = min(budget, params.lexical_rows)
    frequency = {w: store.document_frequency(w, params.prefix_min) for w in words}
    kept: set[str] = set()
    found = 0
    for word in sorted(words, key=lambda w: (frequency[w], w)):
        if found and found + frequency[word] > budget:
            break
        kept.add(word)
        found += frequency[word]
    return [w for w in words if w in kept]


def gate_lexical(store: IndexStore, concepts: list[Concept], found: list[tuple[int, float]],
                 params: FusionParams) -> list[tuple[int, float]]:
    """The lexical leg: a backend's (row, score) hits, best first, kept only for passages
    that hold at least `params.min_coverage` of the question's concepts.

    Lexical evidence counts only for passages holding most of the question's content words
    (weighted by rarity): an English question over Swedish text otherwise pulls in whichever
    English passage shares one or two common words with it.
    """
    texts = store.lexical_texts(r for r, _ in found)
    context: dict[str, str] = {}
    kept: list[tuple[int, float]] = []
    for row, score in found:
        doc = store.row_doc(row)
        if doc not in context:
            context[doc] = document_context(store.docs[doc])
        if concept_coverage(concepts, texts[row], params.prefix_min,
                            context[doc]) >= params.min_coverage:
            kept.append((row, score))
            if len(kept) == params.depth:  # the rest could only come after these
                break
    return kept
