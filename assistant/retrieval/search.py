"""Hybrid retrieval: dense chunks, dense sentences and folded lexical matches, fused by rank."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import numpy as np

from assistant.index.backend import thread_bound
from assistant.index.storage import IndexStore
from assistant.retrieval.concepts import (
    Concept,
    concept_coverage,
    document_context,
    query_concepts,
)
from assistant.retrieval.fusion import FusionParams, fuse, merge_languages
from assistant.retrieval.learned import COSINE_DEPTH, LearnedFusion, features
from assistant.retrieval.legs import (
    Partition,
    chunk_rankings,
    dense_chunks,
    dense_sentences,
    lexical_leg,
    partitions,
    sentence_rankings,
)
from assistant.types import Chunk, Filters, Hit

# The lexical leg runs beside the dense legs on a segment index: SQLite and FAISS both release
# the GIL, so a lone query is answered sooner, for somewhat more CPU time (bench/RESULTS.md,
# issue 15, "The lexical leg's cost"). A few workers, so that concurrent requests do not queue
# behind one another's lexical leg.
_LEXICAL = ThreadPoolExecutor(4, thread_name_prefix="lexical")


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
    concepts: list[Concept] | None = None, language: str | None = None,
    model: LearnedFusion | None = None,
) -> list[Hit]:
    """Ranked hits for a query whose embedding is already computed (and its concepts, when
    the caller needs them too: `query_concepts(store, query, params)`). With a learned fusion
    `model` that applies to the question's `language`, it orders the fused candidates."""
    filters = filters or Filters()
    params = params or FusionParams()
    learned = model is not None and model.applies(language, params)
    if k > params.depth:  # each leg offers at least as many candidates as were asked for
        params = replace(params, depth=k)
    parts = partitions(store, filters, params.balance_languages)
    if not parts:
        return []
    if concepts is None:
        concepts = query_concepts(store, query, params)
    if learned and model is not None:
        legs, cosines = _deep_legs(store, vector, parts, concepts, params)
        fused = fuse(legs, params)
        x = _candidate_features(store, fused, legs, cosines, concepts, language or "", params)
        fused = model.rerank(fused, x)[:k]
    else:
        lexical = _lexical_beside(store, concepts, parts, params)
        legs = {
            "dense": dense_chunks(store, vector, parts, params.depth, params.language_pull),
            "sentence": dense_sentences(store, vector, parts, params.depth,
                                        params.language_pull),
            "lexical": [row for row, _ in lexical()],
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


def _lexical_beside(store: IndexStore, concepts: list[Concept], parts: list[Partition],
                    params: FusionParams) -> Callable[[], list[tuple[int, float]]]:
    """The lexical leg, started on a worker while the dense legs run here; where the store's
    reads are bound to this thread (a database snapshot), it runs here when asked for."""
    if thread_bound(store):
        return partial(lexical_leg, store, concepts, parts, params)
    return _LEXICAL.submit(lexical_leg, store, concepts, parts, params).result


def _deep_legs(store: IndexStore, vector: np.ndarray, parts: list[Partition],
               concepts: list[Concept], params: FusionParams
               ) -> tuple[dict[str, list[int]], dict[str, list[list[tuple[int, float]]]]]:
    """The three legs (`params.depth` each), from per-language searches COSINE_DEPTH deep
    whose cosines the learned fusion's features look up."""
    deep = max(params.depth, COSINE_DEPTH)
    lexical = _lexical_beside(store, concepts, parts, replace(params, depth=deep))
    cosines = {"dense": chunk_rankings(store, vector, parts, deep),
               "sentence": sentence_rankings(store, vector, parts, deep)}
    legs = {leg: merge_languages([r[:params.depth] for r in rankings], params.depth,
                                 params.language_pull) for leg, rankings in cosines.items()}
    legs["lexical"] = [row for row, _ in lexical()][:params.depth]
    return legs, cosines


def _candidate_features(store: IndexStore, fused: list[tuple[int, float]],
                        legs: dict[str, list[int]],
                        cosines: dict[str, list[list[tuple[int, float]]]],
                        concepts: list[Concept], language: str, params: FusionParams
                        ) -> np.ndarray:
    """The learned fusion's features of the fused candidates (see learned.features)."""
    rows = [row for row, _ in fused]
    texts = store.lexical_texts(rows)
    infos = {r: store.docs[store.row_doc(r)] for r in rows}
    coverage = {r: concept_coverage(concepts, texts[r], params.prefix_min,
                                    document_context(infos[r])) for r in rows}
    return features(fused, legs, cosines, {r: i.language for r, i in infos.items()},
                    coverage, language, params)


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
