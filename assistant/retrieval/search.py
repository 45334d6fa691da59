"""Hybrid retrieval: dense chunks, dense sentences and folded lexical matches, fused by rank."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.index.generations import StoreReader
from assistant.lang.compounds import compound_terms, join_hyphens, joined_words, split, trigrams
from assistant.lang.fold import fold, query_terms, tokens
from assistant.types import Chunk, DocInfo, Filters, Hit

LEGS = ("dense", "sentence", "lexical")
COMPOUNDS = ("split", "ngrams", "none")
NGRAM_SHARE = 0.8  # share of a word's trigrams a passage must hold to match it (`ngrams`)


@dataclass(frozen=True)
class FusionParams:
    """How the legs are combined: weighted reciprocal-rank fusion (bench/fusion.py measures
    the variants; the latest table is in bench/RESULTS.md)."""

    rrf_k: float = 30.0
    weights: tuple[float, float, float] = (1.0, 1.0, 0.5)  # dense, sentence, lexical
    depth: int = 50  # candidates taken from each leg
    min_coverage: float = 0.7  # share of query terms a passage needs for lexical evidence
    mode: str = "rrf"  # "rrf" (ranks) or "score" (weighted sum of cosines and scaled BM25)
    prefix_min: int = 5  # lexical terms this long also match as prefixes (Swedish inflection)
    highlights: int = 2
    expand_terms: bool = True  # lexical leg also looks for the other language's domain terms
    balance_languages: bool = True  # dense legs take each document language's best in turn
    # Swedish compounds in the lexical leg: "split" matches a compound by its known parts and
    # a part inside a compound; "ngrams" by shared character trigrams; "none" by whole words.
    compounds: str = "split"

    def __post_init__(self) -> None:
        if self.compounds not in COMPOUNDS:
            raise ValueError(f"compounds must be one of {', '.join(COMPOUNDS)}")


def dense_query(text: str, params: FusionParams) -> str:
    """What the dense legs embed: the question, plus the other language's names of the domain
    terms it mentions when `params.expand_terms` is set (e5 reads the mixed text well)."""
    if not params.expand_terms:
        return text
    from assistant.lang.terms import expand_query

    return expand_query(text)


def fuse(
    rankings: dict[str, list[int]], params: FusionParams,
    weights: tuple[float, float, float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted RRF over each leg's ranked rows; ties broken by row for determinism. A leg
    weighted 0 is off: its rows are not candidates."""
    scores: dict[int, float] = defaultdict(float)
    for leg, weight in zip(LEGS, weights or params.weights, strict=True):
        for rank, row in enumerate(rankings.get(leg, []) if weight else [], start=1):
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


@dataclass(frozen=True)
class Partition:
    """Rows a dense leg may return: one language's documents, within the filters."""

    chunks: np.ndarray  # chunk rows (int64)
    sentences: np.ndarray  # sentence rows (int64)
    whole: bool  # True when this is every row of the index (no selector needed)


def partitions(reader: StoreReader, filters: Filters, by_language: bool) -> list[Partition]:
    """The allowed rows, split by document language when `by_language` is set."""
    groups: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for doc, info in reader.docs.items():
        if not (
            (filters.type is None or info.type == filters.type)
            and (filters.language is None or info.language == filters.language)
            and (filters.doc is None or doc == filters.doc)
            and (filters.year is None or info.year == filters.year)
            and (filters.region is None or (info.region or "").lower() == filters.region.lower())
        ):
            continue
        c_lo, c_hi, s_lo, s_hi = reader.doc_rows[doc]
        key = info.language if by_language else ""
        chunk_parts, sentence_parts = groups.setdefault(key, ([], []))
        chunk_parts.append(np.arange(c_lo, c_hi, dtype=np.int64))
        sentence_parts.append(np.arange(s_lo, s_hi, dtype=np.int64))
    total = reader.chunk_index.ntotal  # type: ignore[attr-defined]
    result = []
    for chunk_parts, sentence_parts in groups.values():
        chunks = np.concatenate(chunk_parts)
        result.append(Partition(chunks, np.concatenate(sentence_parts), len(chunks) == total))
    return result


def interleave(rankings: list[list[tuple[int, float]]], depth: int) -> list[int]:
    """Merge per-partition rankings rank by rank (best score first within a rank).

    Cosines of an English query are higher for English passages than for the Swedish passage
    that answers it; taking each language's best in turn lets both compete in fusion.
    """
    rankings = [standardise(r) for r in rankings]
    merged = []
    for rank in range(max((len(r) for r in rankings), default=0)):
        tier = [r[rank] for r in rankings if rank < len(r)]
        merged.extend(row for row, _ in sorted(tier, key=lambda item: (-item[1], item[0])))
    return merged[:depth]


def standardise(ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores as standard deviations above the ranking's mean: how far a passage stands out
    among passages of its own language, comparable across languages."""
    if len(ranking) < 2:
        return ranking
    scores = np.array([score for _, score in ranking])
    spread = float(scores.std()) or 1.0
    return [(row, (score - float(scores.mean())) / spread) for row, score in ranking]


def _dense(index: object, vector: np.ndarray, depth: int, part: Partition, sentences: bool
           ) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    rows = part.sentences if sentences else part.chunks
    n = min(depth, len(rows))
    if n == 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    params = None if part.whole else faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))
    scores, ids = index.search(vector[None, :], n, params=params)  # type: ignore[attr-defined]
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def dense_chunks(reader: StoreReader, vector: np.ndarray, parts: list[Partition], depth: int
                 ) -> list[int]:
    """Chunk rows by cosine with the query, languages interleaved."""
    rankings = []
    for part in parts:
        scores, ids = _dense(reader.chunk_index, vector, depth, part, sentences=False)
        rankings.append([(int(i), float(sc)) for sc, i in zip(scores, ids, strict=True)])
    return interleave(rankings, depth)


def dense_sentences(reader: StoreReader, vector: np.ndarray, parts: list[Partition], depth: int
                    ) -> list[int]:
    """Chunk rows by their best sentence's cosine with the query, languages interleaved."""
    rankings = []
    for part in parts:
        scores, ids = _dense(reader.sentence_index, vector, depth * 4, part, sentences=True)
        best: dict[int, float] = {}
        for score, sid in zip(scores, ids, strict=True):
            row = int(reader.sentence_chunk[sid])
            best[row] = max(best.get(row, -1.0), float(score))
        rankings.append(sorted(best.items(), key=lambda item: (-item[1], item[0]))[:depth])
    return interleave(rankings, depth)


@dataclass(frozen=True)
class Concept:
    """A thing the question asks about: a query word, or a domain term with its translations.

    A passage covers the concept when it holds all the words of any one of its forms.
    """

    forms: tuple[tuple[str, ...], ...]  # folded content words of each form
    weight: float
    present: bool  # some form occurs in the corpus at all (else no passage can cover it)
    compounds: str = "none"  # how words match compounds (FusionParams.compounds)


def query_concepts(reader: StoreReader, query: str, params: FusionParams) -> list[Concept]:
    """The question's concepts with rarity weights; domain terms bring their other-language
    forms when `params.expand_terms` is set (assistant/data/terms.tsv), and compounds their
    parts when `params.compounds` is "split"."""
    from assistant.lang.terms import expansions

    if params.compounds != "none":
        query = join_hyphens(fold(query))  # "etablerings- ersättning": one word
    terms = query_terms(query)
    weights = term_weights(reader, terms, params)
    concepts: list[Concept] = []
    claimed: set[str] = set()
    if params.expand_terms:
        for expansion in expansions(query):
            own = tuple(t for t in query_terms(expansion.matched) if t in weights)
            if not own or claimed.issuperset(own):
                continue
            claimed.update(own)
            others = tuple(f for f in (tuple(query_terms(t)) for t in expansion.targets) if f)
            concepts.append(_concept((own, *others), max(weights[t] for t in own), reader,
                                     params))
    concepts.extend(_concept(((t,),), weights[t], reader, params)
                    for t in terms if t not in claimed)
    return concepts


def _concept(forms: tuple[tuple[str, ...], ...], weight: float, reader: StoreReader,
             params: FusionParams) -> Concept:
    """A concept; with split compounds, each form also as its compounds' parts."""
    if params.compounds == "split":
        parts = (tuple(p for w in form for p in split(w) or (w,)) for form in forms)
        forms = tuple(dict.fromkeys((*forms, *parts)))
    present = any(all(_frequency(reader, w, params) for w in form) for form in forms)
    return Concept(forms, weight, present, params.compounds)


def word_query(words: Iterable[str], params: FusionParams) -> tuple[str, str]:
    """The lexical table and FTS5 OR-query that find passages holding any of the words:
    long words as prefixes, in the text and (`split`) its compound parts, or (`ngrams`) any
    of their trigrams."""
    words = list(dict.fromkeys(words))
    if params.compounds == "ngrams":
        grams = dict.fromkeys(g for w in words if len(w) >= 3 for g in sorted(trigrams(w)))
        return "ngrams", " OR ".join(f'"{g}"' for g in grams)
    match = " OR ".join(f'"{w}"*' if len(w) >= params.prefix_min else f'"{w}"' for w in words)
    if params.compounds == "none" and match:
        match = f"text : ({match})"  # not the compounds column
    return "lexical", match


def _frequency(reader: StoreReader, word: str, params: FusionParams) -> int:
    """How many passages hold a word (with `ngrams`, anywhere inside a word)."""
    if params.compounds == "ngrams":
        if len(word) >= 3:
            return reader.document_frequency(f'"{word}"', "ngrams")
        return reader.document_frequency(f'text : "{word}"')
    table, match = word_query([word], params)
    return reader.document_frequency(match, table)


def concept_coverage(concepts: list[Concept], folded_text: str, prefix_min: int) -> float:
    """Weighted share of the concepts a folded text covers (long words match as prefixes;
    compounds as each concept says).

    Concepts the corpus lacks altogether are left out: no passage can hold them, so they
    cannot tell passages apart (they matter for refusing, see assistant/evidence.py).
    """
    concepts = [c for c in concepts if c.present]
    total = sum(c.weight for c in concepts)
    if not total:
        return 0.0

    def has(word: str, compounds: str) -> bool:
        known = _vocabulary(folded_text, compounds)
        if word in known:
            return True
        if len(word) < prefix_min:
            return False
        if compounds == "ngrams":
            wanted = trigrams(word)
            return len(wanted & _trigrams(folded_text)) >= NGRAM_SHARE * len(wanted)
        return any(w.startswith(word) for w in known)

    found = sum(c.weight for c in concepts
                if any(all(has(w, c.compounds) for w in form) for form in c.forms))
    return found / total


@lru_cache(maxsize=4096)
def _vocabulary(folded_text: str, compounds: str) -> frozenset[str]:
    """The words a passage offers for matching: its tokens, plus the hyphen-joined words and
    (`split`) the parts of its compounds. Cached: the same passages come up query after query."""
    words = tokens(folded_text)
    if compounds == "split":
        words += compound_terms(folded_text)
    elif compounds == "ngrams":
        words += joined_words(folded_text)
    return frozenset(words)


@lru_cache(maxsize=4096)
def _trigrams(folded_text: str) -> frozenset[str]:
    """The trigrams of a passage's words (`ngrams`)."""
    return frozenset(g for w in _vocabulary(folded_text, "ngrams") for g in trigrams(w))


def term_weights(reader: StoreReader, terms: list[str], params: FusionParams
                 ) -> dict[str, float]:
    """BM25-style inverse document frequency of each query term over the chunks."""
    import math

    n = reader.chunk_index.ntotal  # type: ignore[attr-defined]
    weights = {}
    for term in terms:
        df = _frequency(reader, term, params)
        weights[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return weights


def gate_lexical(reader: StoreReader, concepts: list[Concept], found: list[tuple[int, float]],
                 params: FusionParams) -> list[tuple[int, float]]:
    """The lexical leg: a backend's (row, score) hits, best first, kept only for passages
    that hold at least `params.min_coverage` of the question's concepts.

    Lexical evidence counts only for passages holding most of the question's content words
    (weighted by rarity): an English question over Swedish text otherwise pulls in whichever
    English passage shares one or two common words with it.
    """
    texts = reader.lexical_texts(r for r, _ in found)
    context = {doc: document_context(reader.docs[doc])
               for doc in {reader.row_doc(r) for r, _ in found}}
    kept = [(r, score) for r, score in found
            if concept_coverage(concepts, f"{texts[r]} {context[reader.row_doc(r)]}",
                                params.prefix_min) >= params.min_coverage]
    return kept[: params.depth]


def document_context(info: DocInfo) -> str:
    """What a document lends each of its passages for coverage, folded: its title and region
    (a passage of the Kronoberg report covers "Kronoberg" even where its text never names it)."""
    return fold(f"{info.title} {info.region or ''}")


def search_vector(
    reader: StoreReader, query: str, vector: np.ndarray, k: int = 5,
    filters: Filters | None = None, params: FusionParams | None = None,
    concepts: list[Concept] | None = None,
) -> list[Hit]:
    """Ranked hits for a query whose embedding is already computed (and its concepts, when
    the caller needs them too: `query_concepts(reader, query, params)`)."""
    filters = filters or Filters()
    params = params or FusionParams()
    parts = partitions(reader, filters, params.balance_languages)
    if not parts:
        return []
    allowed = None if len(parts) == 1 and parts[0].whole else set(
        np.concatenate([p.chunks for p in parts]).tolist())
    dense = dense_chunks(reader, vector, parts, params.depth)
    sentence = dense_sentences(reader, vector, parts, params.depth)

    if concepts is None:
        concepts = query_concepts(reader, query, params)
    table, match = word_query((w for c in concepts for form in c.forms for w in form), params)
    found = [(r, sc) for r, sc in reader.lexical(match, params.depth * 4, table)
             if allowed is None or r in allowed]
    bm25 = dict(gate_lexical(reader, concepts, found, params))
    lexical = list(bm25)
    weights = params.weights
    if params.mode == "rrf":
        fused = fuse({"dense": dense, "sentence": sentence, "lexical": lexical}, params,
                     weights)[:k]
    else:
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


def sentence_scores(reader: StoreReader, row: int, vector: np.ndarray) -> np.ndarray:
    """Cosine of the query with each sentence of a chunk, in sentence order."""
    # Sentence rows are stored chunk by chunk, so a chunk's sentences are one contiguous run.
    lo, hi = np.searchsorted(reader.sentence_chunk, [row, row + 1])
    if hi == lo:
        return np.zeros(0, dtype=np.float32)
    vectors = reader.sentence_index.reconstruct_n(int(lo), int(hi - lo))  # type: ignore[attr-defined]
    return np.asarray(vectors @ vector, dtype=np.float32)


def hit_sentence_scores(reader: StoreReader, hits: list[Hit], vector: np.ndarray
                        ) -> list[np.ndarray]:
    """Cosine of the query with each sentence of each hit's chunk."""
    return [sentence_scores(reader, reader.chunk_row(h.chunk), vector) for h in hits]


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
