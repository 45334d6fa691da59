"""An index held in memory: the storage protocol over plain arrays, for fast retrieval tests.

Rows are deliberately not positions (they start at 100 and step by 7), so a test fails if
retrieval takes a row for an offset.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.index.storage import DocumentFacts, StoredDocument
from assistant.index.store import lexical_text
from assistant.lang.compounds import compound_terms
from assistant.lang.fold import tokens
from assistant.model.embed import HashEmbedder
from assistant.types import Chunk, DocInfo, Sentence

FIRST_ROW, STEP = 100, 7


def make_chunk(doc: str, ordinal: int, sentences: Sequence[str], section: tuple[str, ...] = ()
               ) -> Chunk:
    """A chunk of the given sentences, joined by single spaces."""
    spans, start = [], 0
    for text in sentences:
        spans.append(Sentence(start, start + len(text), 1, section))
        start += len(text) + 1
    text = " ".join(sentences)
    return Chunk(f"{doc}#{ordinal}", doc, ordinal, section, 1, 1, 0, len(text), text,
                 tuple(spans))


class MemoryStore:
    """`IndexStore` over dictionaries; vectors from the fake embedder."""

    def __init__(self, documents: dict[DocInfo, list[list[str]]],
                 embedder: HashEmbedder | None = None) -> None:
        self.embedder = embedder or HashEmbedder()
        self.name, self.model, self.dim = "memory", self.embedder.name, self.embedder.dim
        self.build: Mapping[str, Any] = {"model": self.model}
        self.failed: Mapping[str, str] = {}
        self.failed_keys: Mapping[str, str] = {}
        self.docs: dict[str, DocInfo] = {info.doc: info for info in documents}
        self._chunks: dict[int, Chunk] = {}
        self._vectors: dict[int, np.ndarray] = {}
        self._sentences: dict[int, np.ndarray] = {}
        row = FIRST_ROW
        for info, chunks in documents.items():
            for ordinal, sentences in enumerate(chunks):
                chunk = make_chunk(info.doc, ordinal, sentences)
                self._chunks[row] = chunk
                self._vectors[row] = self.embedder.passages([chunk.text])[0]
                self._sentences[row] = self.embedder.passages(chunk.sentence_texts())
                row += STEP

    def _rows(self, docs: Collection[str] | None) -> list[int]:
        return [r for r, c in self._chunks.items() if docs is None or c.doc in docs]

    def size(self) -> int:
        return len(self._chunks)

    def documents(self) -> dict[str, DocumentFacts]:
        return {doc: DocumentFacts(info, "", None, (), len(self._rows([doc])),
                                   sum(len(self._sentences[r]) for r in self._rows([doc])))
                for doc, info in self.docs.items()}

    @staticmethod
    def _best(scored: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        return sorted(scored, key=lambda item: (-item[1], item[0]))[:k]

    def search_chunks(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                      ) -> list[tuple[int, float]]:
        return self._best([(r, float(self._vectors[r] @ vector)) for r in self._rows(docs)], k)

    def search_sentences(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                         ) -> list[tuple[int, float]]:
        return self._best([(r, float(v @ vector)) for r in self._rows(docs)
                           for v in self._sentences[r]], k)

    def sentence_vectors(self, row: int) -> np.ndarray:
        return self._sentences[row]

    def _words(self, row: int) -> set[str]:
        text = lexical_text(self._chunks[row])
        return set(tokens(text)) | set(compound_terms(text))

    def lexical(self, words: Sequence[str], limit: int, prefix_min: int
                ) -> list[tuple[int, float]]:
        def holds(row: int, word: str) -> bool:
            known = self._words(row)
            return word in known or (len(word) >= prefix_min
                                     and any(w.startswith(word) for w in known))

        scored = [(r, float(sum(holds(r, w) for w in set(words)))) for r in self._chunks]
        return self._best([(r, s) for r, s in scored if s > 0], limit)

    def document_frequency(self, word: str, prefix_min: int) -> int:
        return len(self.lexical([word], len(self._chunks), prefix_min))

    def lexical_texts(self, rows: Iterable[int]) -> dict[int, str]:
        return {r: lexical_text(self._chunks[r]) for r in rows}

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        return {r: self._chunks[r] for r in rows}

    def chunk_row(self, chunk: Chunk) -> int:
        return next(r for r, c in self._chunks.items() if c.id == chunk.id)

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        return next((c for c in self._chunks.values() if c.id == chunk_id), None)

    def row_doc(self, row: int) -> str:
        return self._chunks[row].doc

    def stored(self, doc: str) -> StoredDocument:
        rows = self._rows([doc])
        return StoredDocument(self.docs[doc], "", None, (),
                              tuple(self._chunks[r] for r in rows),
                              np.array([self._vectors[r] for r in rows]),
                              np.concatenate([self._sentences[r] for r in rows]))

    def close(self) -> None:
        pass
