"""The three retrieval legs: dense over chunks, dense over sentences (both per document
language), and lexical, gated by concept coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.index.storage import IndexStore
from assistant.retrieval.concepts import Concept, concept_coverage, document_context
from assistant.retrieval.fusion import FusionParams, merge_languages
from assistant.types import Filters


@dataclass(frozen=True)
class Partition:
    """Documents a dense leg may return from: one language's, within the filters."""

    docs: tuple[str, ...]
    whole: bool  # True when these are all the index's documents (no restriction needed)

    @property
    def restriction(self) -> tuple[str, ...] | None:
        """The documents to restrict a search to; None for all."""
        return None if self.whole else self.docs


def partitions(store: IndexStore, filters: Filters, by_language: bool) -> list[Partition]:
    """The allowed documents, split by document language when `by_language` is set."""
    groups: dict[str, list[str]] = {}
    for doc, info in store.docs.items():
        if (
            (filters.type is None or info.type == filters.type)
            and (filters.language is None or info.language == filters.language)
            and (filters.doc is None or doc == filters.doc)
            and (filters.year is None or info.year == filters.year)
            and (filters.region is None or (info.region or "").lower() == filters.region.lower())
        ):
            groups.setdefault(info.language if by_language else "", []).append(doc)
    return [Partition(tuple(docs), len(docs) == len(store.docs)) for docs in groups.values()]


def dense_chunks(store: IndexStore, vector: np.ndarray, parts: list[Partition], depth: int,
                 pull: float | None = None) -> list[int]:
    """Chunk rows by cosine with the query, languages merged (`merge_languages`)."""
    rankings = [store.search_chunks(vector, depth, part.restriction) for part in parts]
    return merge_languages(rankings, depth, pull)


def dense_sentences(store: IndexStore, vector: np.ndarray, parts: list[Partition], depth: int,
                    pull: float | None = None) -> list[int]:
    """Chunk rows by their best sentence's cosine with the query, languages merged."""
    rankings = []
    for part in parts:
        best: dict[int, float] = {}
        for row, score in store.search_sentences(vector, depth * 4, part.restriction):
            best[row] = max(best.get(row, -1.0), score)
        rankings.append(sorted(best.items(), key=lambda item: (-item[1], item[0]))[:depth])
    return merge_languages(rankings, depth, pull)


def lexical_leg(store: IndexStore, concepts: list[Concept], parts: list[Partition],
                params: FusionParams) -> list[tuple[int, float]]:
    """Passages holding the concepts' words, by BM25, within the partitions and gated."""
    allowed = None if len(parts) == 1 and parts[0].whole else {d for p in parts for d in p.docs}
    words = [w for c in concepts for form in c.forms for w in form]
    found = [(r, score) for r, score in store.lexical(words, params.depth * 4, params.prefix_min)
             if allowed is None or store.row_doc(r) in allowed]
    return gate_lexical(store, concepts, found, params)


def gate_lexical(store: IndexStore, concepts: list[Concept], found: list[tuple[int, float]],
                 params: FusionParams) -> list[tuple[int, float]]:
    """The lexical leg: a backend's (row, score) hits, best first, kept only for passages
    that hold at least `params.min_coverage` of the question's concepts.

    Lexical evidence counts only for passages holding most of the question's content words
    (weighted by rarity): an English question over Swedish text otherwise pulls in whichever
    English passage shares one or two common words with it.
    """
    texts = store.lexical_texts(r for r, _ in found)
    context = {doc: document_context(store.docs[doc])
               for doc in {store.row_doc(r) for r, _ in found}}
    kept = [(r, score) for r, score in found
            if concept_coverage(concepts, f"{texts[r]} {context[store.row_doc(r)]}",
                                params.prefix_min) >= params.min_coverage]
    return kept[: params.depth]
