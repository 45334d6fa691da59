"""The engine: opens the index and the embedding model once and answers searches."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from assistant.answer.compose import compose, refusal
from assistant.answer.conversation import resolve
from assistant.answer.evidence import gather_evidence, mode, refusal_model, sentence_support
from assistant.answer.question import question_kind, question_language
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.index.backend import open_index, snapshot
from assistant.index.storage import IndexStore
from assistant.index.store import set_search_threads
from assistant.model.embed import Embedder, load_embedder
from assistant.retrieval.concepts import query_concepts
from assistant.retrieval.fusion import FusionParams
from assistant.retrieval.learned import LearnedFusion, fusion_model
from assistant.retrieval.search import dense_query, hit_sentence_scores, search_vector
from assistant.types import Answer, Filters, Hit, Turn

ASK_PASSAGES = 8  # passages an answer may quote from; the rest of them are shown as closest


def configure_threads(settings: Settings) -> None:
    """Thread settings for a 2-core machine; call before torch or faiss is imported.

    OpenMP spin-waiting makes a query 10–60× slower when another process is busy, and a
    flat FAISS scan is faster on one thread than two at this size (see bench/).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_search_threads(1)


class Engine:
    """Search over one index generation with one embedding model, both loaded lazily once."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 params: FusionParams | None = None,
                 load_model: Callable[[], Embedder] | None = None) -> None:
        """`embedder`: one already loaded; else `load_model` loads it on first use (else the
        model the settings name)."""
        self.settings = settings
        self.params = params or FusionParams()
        self._embedder = embedder
        self._load_model = load_model or (lambda: load_embedder(
            settings.model, settings.model_dir, settings.threads, settings.batch_size,
            settings.encoder))
        self._reader: IndexStore | None = None

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use)."""
        if self._embedder is None:
            self._embedder = self._load_model()
        return self._embedder

    @property
    def reader(self) -> IndexStore:
        """The serving index (opened and verified on first use)."""
        if self._reader is None:
            self._reader = open_index(self.settings, self.settings.model)
        return self._reader

    @property
    def fusion(self) -> LearnedFusion | None:
        """The learned fusion, as it applies to this engine's embedding model."""
        model = fusion_model()
        return model.for_embedder(self.embedder.name) if model is not None else None

    def load(self, profiles: bool = True) -> None:
        """Open the index and load the model now instead of on first use, with the word list
        a first question reads and, unless `profiles` is false, the language profiles it may
        read (2 s of a 1M server's first answer: bench/RESULTS.md, issue 15). The index opens
        and those load on threads of their own: the model's ONNX session and the index's
        reads leave the GIL free for much of their time."""
        from assistant.lang.compounds import load_word_list
        from assistant.lang.detect import load_profiles

        def language_data() -> None:
            load_word_list()
            if profiles:
                load_profiles()

        with ThreadPoolExecutor(2) as pool:
            language = pool.submit(language_data)
            reader = pool.submit(lambda: self.reader)
            _ = self.embedder
            reader.result()
            language.result()

    def search(self, queries: Sequence[str], k: int = 5,
               filters: Filters | None = None) -> list[list[Hit]]:
        """Ranked hits for each query; the queries are embedded in one batch."""
        if self._reader is None:  # a first search: the word list loads beside the model
            self.load(profiles=False)
        reader = self.reader
        vectors = self.embedder.queries([dense_query(q, self.params) for q in queries])
        fusion = self.fusion  # the question's language matters only where it applies
        with snapshot(reader):
            return [search_vector(reader, q, v, k, filters, self.params,
                                  language=question_language(q) if fusion else None,
                                  model=fusion)
                    for q, v in zip(queries, vectors, strict=True)]

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """A short answer quoted from the documents with citations, or a refusal that shows
        the closest passages (see assistant/answer/)."""
        if self._reader is None:  # a first question: the word list loads beside the model
            self.load(profiles=False)
        resolved = resolve(question, history)
        language = question_language(question)
        reader = self.reader
        vector = self.embedder.queries([dense_query(resolved, self.params)])[0]
        with snapshot(reader):
            return self._answer(question, resolved, language, reader, vector)

    def _answer(self, question: str, resolved: str, language: str, reader: IndexStore,
                vector: np.ndarray) -> Answer:
        """Ask's retrieval and composition over one state of the index."""
        concepts = query_concepts(reader, resolved, self.params)
        hits = search_vector(reader, resolved, vector, ASK_PASSAGES, None, self.params,
                             concepts, language, self.fusion)
        if not hits:
            return refusal(question, resolved, language, hits)
        similarities = hit_sentence_scores(reader, hits, vector)
        evidence = gather_evidence(concepts, language, hits, similarities, self.params,
                                   kind=question_kind(resolved))
        decided = mode(evidence, refusal_model().for_embedder(self.embedder.name), language)
        if decided == "refusal":
            return refusal(question, resolved, language, hits)
        support = sentence_support(concepts, hits, self.params)
        return compose(question, resolved, language, hits, similarities, support,
                       weak=decided == "passages")

    def reload(self) -> None:
        """Serve the index's current state (after a rebuild).

        The old reader is not closed here: a search still running on it keeps it alive, and it
        is released when the last one lets go of it.
        """
        previous, self._reader = self._reader, None
        try:
            _ = self.reader
        except AssistantError:
            self._reader = previous
            raise
        if previous is not None and self.settings.database_url:
            previous.close()  # only its idle connections: a running search finishes

    def close(self) -> None:
        """Release the index."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
