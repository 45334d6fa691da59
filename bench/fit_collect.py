"""Per-question raw retrieval material for fitting (bench/fit.py): each leg's ranking before
fusion, and per passage what the refusal and the lead sentence weigh. Collected once per
question and index (the slow part: embedding and searching); fusion parameters, leave-document-
out exclusions and refusal rules are then replayed from it in pure Python.

Used by bench/fit.py; the cache lives in bench/.cache/fit/ (delete it after changing the legs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.answer.question import question_kind, question_language, satisfies
from assistant.evaluate import Question, matches
from assistant.index.storage import IndexStore
from assistant.lang.fold import fold
from assistant.retrieval.concepts import Concept, concept_coverage, document_context, query_concepts
from assistant.retrieval.fusion import FusionParams
from assistant.retrieval.legs import lexical_words, partitions
from assistant.retrieval.search import dense_query
from assistant.types import Filters

DEPTH = 50  # deepest candidate list any fitted parameter set may take from a leg
# Only passages this high in some leg get the costly figures (gold match, sentence cosines,
# coverage): deeper ones do not reach the fused top ten (a measured approximation: the fused
# top ten of the shipped parameters never holds one).
NEAR = 30


@dataclass
class Row:
    """What the fit needs of one candidate passage of one question."""

    doc: str
    language: str
    gold: bool  # matches a gold passage of the question
    lexical_coverage: float  # the gate's coverage (lexical text and document context)
    coverage: float  # the refusal's coverage (section, text and document context)
    best_sentence: float  # highest cosine of the question with one of its sentences
    satisfied: bool  # its best sentence holds what the question kind asks for


@dataclass
class Material:
    """One question's legs before fusion, over one index."""

    question: Question
    part: str
    language: str
    kind: str
    # per document language: (row, cosine) best first, as the dense legs see them
    dense: list[list[tuple[int, float]]] = field(default_factory=list)
    sentence: list[list[tuple[int, float]]] = field(default_factory=list)
    lexical: list[int] = field(default_factory=list)  # BM25 order, ungated
    rows: dict[int, Row] = field(default_factory=dict)
    # per concept: weight, weight when missing, per form the documents holding each word
    concepts: list[tuple[float, float, tuple[tuple[frozenset[str], ...], ...]]] = field(
        default_factory=list)


class DocsOfWord:
    """Which documents hold a folded word (for leave-document-out "found nowhere")."""

    def __init__(self, store: IndexStore, prefix_min: int) -> None:
        self.store, self.prefix_min = store, prefix_min
        self._docs: dict[str, frozenset[str]] = {}

    def __call__(self, word: str) -> frozenset[str]:
        if word not in self._docs:
            rows = self.store.lexical([word], 1_000_000, self.prefix_min)
            self._docs[word] = frozenset(self.store.row_doc(r) for r, _ in rows)
        return self._docs[word]


def concept_docs(concepts: list[Concept], docs_of: DocsOfWord
                 ) -> list[tuple[float, float, tuple[tuple[frozenset[str], ...], ...]]]:
    """Each concept's weight, its weight as refusal counts it when missing, and per form the
    documents holding each of its words (the concept is in the corpus while, for some form,
    every word is in some document: `Concept.present`)."""
    from assistant.answer.evidence import specificity

    return [(c.weight, c.weight * specificity(" ".join(c.forms[0])),
             tuple(tuple(docs_of(w) for w in form) for form in c.forms)) for c in concepts]


def collect(store: IndexStore, embedder: Any, questions: list[Question], parts: list[str],
            params: FusionParams) -> list[Material]:
    """The raw material of every question over one index."""
    vectors = embedder.queries([dense_query(q.question, params) for q in questions])
    docs_of = DocsOfWord(store, params.prefix_min)
    split = partitions(store, Filters(), True)
    out = []
    for q, part, vector in zip(questions, parts, vectors, strict=True):
        concepts = query_concepts(store, q.question, params)
        m = Material(q, part, question_language(q.question), question_kind(q.question))
        m.dense = [store.search_chunks(vector, DEPTH, p.restriction) for p in split]
        for p in split:
            best: dict[int, float] = {}
            for row, score in store.search_sentences(vector, DEPTH * 4, p.restriction):
                best[row] = max(best.get(row, -1.0), score)
            m.sentence.append(sorted(best.items(), key=lambda i: (-i[1], i[0]))[:DEPTH])
        words = lexical_words(store, concepts, params)  # those the live leg searches for
        m.lexical = [r for r, _ in store.lexical(words, DEPTH * 4, params.prefix_min)]
        m.concepts = concept_docs(concepts, docs_of)
        near = {r for leg in (*m.dense, *m.sentence) for r, _ in leg[:NEAR]}
        near |= set(m.lexical[:NEAR])
        union = {r for leg in (*m.dense, *m.sentence) for r, _ in leg} | set(m.lexical)
        m.rows = passage_rows(store, sorted(union), near, concepts, q, m.kind, vector, params)
        out.append(m)
    return out


def passage_rows(store: IndexStore, rows: list[int], near: set[int], concepts: list[Concept],
                 q: Question, kind: str, vector: np.ndarray, params: FusionParams
                 ) -> dict[int, Row]:
    """The per-passage figures of a question's candidates (the costly ones for `near` only)."""
    chunks = store.chunks(rows)
    texts = store.lexical_texts(rows)
    result = {}
    for r in rows:
        chunk, info = chunks[r], store.docs[chunks[r].doc]
        context = document_context(info)
        lexical = concept_coverage(concepts, f"{texts[r]} {context}", params.prefix_min)
        if r not in near:
            result[r] = Row(chunk.doc, info.language, False, lexical, 0.0, 0.0, False)
            continue
        sims = store.sentence_vectors(r) @ vector
        sentences = chunk.sentence_texts()
        best = int(np.argmax(sims)) if len(sims) else -1
        result[r] = Row(
            doc=chunk.doc, language=info.language,
            gold=any(matches(chunk.doc, chunk.text, g) for g in q.gold),
            lexical_coverage=lexical,
            coverage=concept_coverage(concepts, f"{context} "
                                      f"{fold(' '.join((*chunk.section, chunk.text)))}",
                                      params.prefix_min),
            best_sentence=float(sims[best]) if best >= 0 else 0.0,
            satisfied=best >= 0 and satisfies(kind, sentences[best]))
    return result
