"""Hybrid retrieval: dense chunks, dense sentences and folded lexical matches, fused by rank."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .lexical import query_terms, tokens
from .store import StoreReader
from .types import Chunk, Filters, Hit

LEGS = ("dense", "sentence", "lexical")


@dataclass(frozen=True)
class FusionParams:
    """How the legs are combined: weighted reciprocal-rank fusion (see bench/fusion.md)."""

    rrf_k: float = 60.0
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # dense, sentence, lexical
    depth: int = 50  # candidates taken from each leg
    min_coverage: float = 0.7  # share of query terms a passage needs for lexical evidence
    mode: str = "rrf"  # "rrf" (ranks) or "score" (weighted sum of cosines and scaled BM25)
    prefix_min: int = 5  # lexical terms this long also match as prefixes (Swedish inflection)
    highlights: int = 2


def fts_query(text: str, prefix_min: int) -> str:
    """An FTS5 OR-query over the folded content words of a question."""
    parts = []
    for term in query_terms(text):
        parts.append(f'"{term}"*' if len(term) >= prefix_min else f'"{term}"')
    return " OR ".join(parts)


def term_coverage(terms: list[str], folded_text: str, prefix_min: int) -> float:
    """Share of the query terms found in a folded text (long terms match as prefixes)."""
    if not terms:
        return 0.0
    words = set(tokens(folded_text))
    found = 0
    for term in terms:
        if term in words or (len(term) >= prefix_min and any(w.startswith(term) for w in words)):
            found += 1
    return found / len(terms)


def fuse(
    rankings: dict[str, list[int]], params: FusionParams,
    weights: tuple[float, float, float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted RRF over each leg's ranked rows; ties broken by row for determinism."""
    scores: dict[int, float] = defaultdict(float)
    for leg, weight in zip(LEGS, weights or params.weights, strict=True):
        for rank, row in enumerate(rankings.get(leg, []), start=1):
            scores[row] += weight / (params.rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def combine_scores(
    reader: StoreReader, vector: np.ndarray, rows: set[int], bm25: dict[int, float],
    weights: tuple[float, float, float],
) -> list[tuple[int, float]]:
    """Weighted sum of chunk cosine, best sentence cosine and BM25 scaled to the best hit."""
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    scored = []
    for row in rows:
        dense = float(reader.chunk_index.reconstruct(row) @ vector)  # type: ignore[attr-defined]
        sentences = sentence_scores(reader, row, vector)
        sentence = float(sentences.max()) if len(sentences) else dense
        lexical = bm25.get(row, 0.0) / top_bm25
        score = weights[0] * dense + weights[1] * sentence + weights[2] * lexical
        scored.append((row, score))
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def _selector(reader: StoreReader, filters: Filters) -> tuple[set[int] | None, object | None]:
    """Allowed chunk rows and a FAISS sentence-id selector for the filters (None: all)."""
    if filters.is_empty():
        return None, None
    import faiss

    chunk_rows: set[int] = set()
    sentence_ids: list[np.ndarray] = []
    for doc, info in reader.docs.items():
        if (
            (filters.type is None or info.type == filters.type)
            and (filters.language is None or info.language == filters.language)
            and (filters.doc is None or doc == filters.doc)
            and (filters.year is None or info.year == filters.year)
            and (filters.region is None or (info.region or "").lower() == filters.region.lower())
        ):
            c_lo, c_hi, s_lo, s_hi = reader.doc_rows[doc]
            chunk_rows.update(range(c_lo, c_hi))
            sentence_ids.append(np.arange(s_lo, s_hi, dtype=np.int64))
    ids = np.concatenate(sentence_ids) if sentence_ids else np.zeros(0, dtype=np.int64)
    return chunk_rows, faiss.IDSelectorBatch(ids)


def _dense(index: object, vector: np.ndarray, depth: int, selector: object | None
           ) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    n = min(depth, index.ntotal)  # type: ignore[attr-defined]
    if n == 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    params = faiss.SearchParameters(sel=selector) if selector is not None else None
    scores, ids = index.search(vector[None, :], n, params=params)  # type: ignore[attr-defined]
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def search_vector(
    reader: StoreReader, query: str, vector: np.ndarray, k: int = 5,
    filters: Filters | None = None, params: FusionParams | None = None,
) -> list[Hit]:
    """Ranked hits for a query whose embedding is already computed."""
    filters = filters or Filters()
    params = params or FusionParams()
    allowed, selector = _selector(reader, filters)
    if allowed is not None and not allowed:
        return []

    _, chunk_ids = _dense(reader.chunk_index, vector, params.depth, None if allowed is None
                          else _chunk_selector(allowed))
    dense = [int(r) for r in chunk_ids]

    sent_scores, sent_ids = _dense(reader.sentence_index, vector, params.depth * 4, selector)
    best: dict[int, float] = {}
    for score, sid in zip(sent_scores, sent_ids, strict=True):
        row = int(reader.sentence_chunk[sid])
        best[row] = max(best.get(row, -1.0), float(score))
    sentence = sorted(best, key=lambda r: (-best[r], r))[: params.depth]

    # Lexical evidence counts only for passages holding most of the question's content
    # words: an English question over Swedish text otherwise pulls in whichever English
    # passage shares one or two common words with it.
    terms = query_terms(query)
    lexical_hits = reader.lexical(fts_query(query, params.prefix_min), params.depth * 4)
    lexical_hits = [(r, sc) for r, sc in lexical_hits if allowed is None or r in allowed]
    texts = reader.lexical_texts(r for r, _ in lexical_hits)
    lexical = [r for r, _ in lexical_hits
               if term_coverage(terms, texts[r], params.prefix_min) >= params.min_coverage
               ][: params.depth]
    weights = params.weights
    if params.mode == "rrf":
        fused = fuse({"dense": dense, "sentence": sentence, "lexical": lexical}, params,
                     weights)[:k]
    else:
        kept = set(lexical)
        bm25 = {r: sc for r, sc in lexical_hits if r in kept}
        fused = combine_scores(reader, vector, set(dense) | set(sentence) | set(lexical),
                               bm25, weights)[:k]
    chunks = reader.chunks(row for row, _ in fused)
    ranks = {leg: {row: i + 1 for i, row in enumerate(rows)}
             for leg, rows in (("dense", dense), ("sentence", sentence), ("lexical", lexical))}
    hits = []
    for row, score in fused:
        chunk = chunks[row]
        hits.append(Hit(
            chunk=chunk,
            info=reader.docs[chunk.doc],
            score=round(score, 6),
            highlights=_highlights(reader, chunk, row, vector, params.highlights),
            ranks={leg: r[row] for leg, r in ranks.items() if row in r},
        ))
    return hits


def _chunk_selector(rows: Iterable[int]) -> object:
    import faiss

    return faiss.IDSelectorBatch(np.fromiter(rows, dtype=np.int64))


def sentence_scores(reader: StoreReader, row: int, vector: np.ndarray) -> np.ndarray:
    """Cosine of the query with each sentence of a chunk, in sentence order."""
    # Sentence rows are stored chunk by chunk, so a chunk's sentences are one contiguous run.
    lo, hi = np.searchsorted(reader.sentence_chunk, [row, row + 1])
    if hi == lo:
        return np.zeros(0, dtype=np.float32)
    vectors = reader.sentence_index.reconstruct_n(int(lo), int(hi - lo))  # type: ignore[attr-defined]
    return np.asarray(vectors @ vector, dtype=np.float32)


def _highlights(
    reader: StoreReader, chunk: Chunk, row: int, vector: np.ndarray, n: int
) -> tuple[str, ...]:
    """The chunk's sentences closest to the query, in document order."""
    scores = sentence_scores(reader, row, vector)
    if len(scores) == 0:
        return ()
    top = sorted(np.argsort(-scores, kind="stable")[:n])
    texts = chunk.sentence_texts()
    return tuple(" ".join(texts[i].split()) for i in top)
