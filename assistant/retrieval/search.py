"""Hybrid retrieval: dense chunks, dense sentences and folded lexical matches, fused by rank."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.index.storage import IndexStore
from assistant.retrieval.concepts import Concept, query_concepts
from assistant.retrieval.fusion import FusionParams, fuse
from assistant.retrieval.legs import dense_chunks, dense_sentences, lexical_leg, partitions
from assistant.types import Chunk, Filters, Hit


def dense_query(text: str, params: FusionParams) -> str:
    """What the dense legs embed: the question, plus the other language's names of the domain
    terms it mentions when `params.expand_terms` is set (e5 reads the mixed text well)."""
    if not params.expand_terms:
        return text
    from assistant.lang.terms import expand_query

    return expand_query(text)


def search_vector(
    store: IndexStore, query: str, vector: np.ndarray, k: int = 5,
    filters: Filters | None = None, params: FusionParams | None = None,
    concepts: list[Concept] | None = None,
) -> list[Hit]:
    """Ranked hits for a query whose embedding is already computed (and its concepts, when
    the caller needs them too: `query_concepts(store, query, params)`)."""
    filters = filters or Filters()
    params = params or FusionParams()
    if k > params.depth:  # each leg offers at least as many candidates as were asked for
        params = replace(params, depth=k)
    parts = partitions(store, filters, params.balance_languages)
    if not parts:
        return []
    if concepts is None:
        concepts = query_concepts(store, query, params)
    legs = {
        "dense": dense_chunks(store, vector, parts, params.depth, params.language_pull),
        "sentence": dense_sentences(store, vector, parts, params.depth, params.language_pull),
        "lexical": [row for row, _ in lexical_leg(store, concepts, parts, params)],
    }
    fused = fuse(legs, params)[:k]
    chunks = store.chunks(row for row, _ in fused)
    ranks = {leg: {row: i + 1 for i, row in enumerate(rows)} for leg, rows in legs.items()}
    return [
        Hit(chunk=chunks[row], info=store.docs[chunks[row].doc], score=round(score, 6),
            highlights=_highlights(store, chunks[row], row, vector, params.highlights),
            ranks={leg: r[row] for leg, r in ranks.items() if row in r})
        for row, score in fused
    ]


def sentence_scores(store: IndexStore, row: int, vector: np.ndarray) -> np.ndarray:
    """Cosine of the query with each sentence of a chunk, in sentence order."""
    vectors = store.sentence_vectors(row)
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(vectors @ vector, dtype=np.float32)


def hit_sentence_scores(store: IndexStore, hits: list[Hit], vector: np.ndarray
                        ) -> list[np.ndarray]:
    """Cosine of the query with each sentence of each hit's chunk."""
    return [sentence_scores(store, store.chunk_row(h.chunk), vector) for h in hits]


def _highlights(
    store: IndexStore, chunk: Chunk, row: int, vector: np.ndarray, n: int
) -> tuple[str, ...]:
    """The chunk's sentences closest to the query, in document order."""
    scores = sentence_scores(store, row, vector)
    if len(scores) == 0:
        return ()
    top = sorted(np.argsort(-scores, kind="stable")[:n])
    texts = chunk.sentence_texts()
    return tuple(" ".join(texts[i].split()) for i in top)
