"""Segment vectors: float16 codes, an HNSW graph for large segments, restrictions kept exact."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from assistant.config import Settings
from assistant.engine import Engine
from assistant.index import vectors
from assistant.index.builder import build_index
from assistant.index.store import _bitmap
from assistant.model.embed import HashEmbedder
from assistant.types import Filters

N, DIM = 3000, 32


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(15)
    x = rng.standard_normal((N, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    queries = x[:40] + 0.3 * rng.standard_normal((40, DIM)).astype(np.float32)
    return x, queries


def _indexes(x: np.ndarray) -> tuple[object, object]:
    flat = vectors.flat(DIM)
    flat.add(x)
    return flat, vectors.finished(flat, hnsw_min=1000)


def test_small_segments_stay_flat_and_large_get_a_graph(data) -> None:  # type: ignore[no-untyped-def]
    flat, graph = _indexes(data[0])
    assert vectors.finished(flat) is flat and hasattr(graph, "hnsw")
    assert np.array_equal(graph.reconstruct_n(0, 5), flat.reconstruct_n(0, 5))  # same codes


@pytest.mark.parametrize("threads", [1, 2])
def test_graph_recall_at_10(data, threads: int,  # type: ignore[no-untyped-def]
                            monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

    x, queries = data
    monkeypatch.setattr(vectors, "_graph_threads", 1)
    vectors.set_graph_threads(threads)
    searching = faiss.omp_get_max_threads()
    flat, graph = _indexes(x)
    assert faiss.omp_get_max_threads() == searching  # the thread's setting is restored
    found = []
    for q in queries:
        _, exact = vectors.search(flat, q[None, :], 10)
        _, approx = vectors.search(graph, q[None, :], 10)
        found.append(len(set(exact[0]) & set(approx[0])) / 10)
    assert np.mean(found) >= 0.98


@pytest.mark.parametrize("share", [0.05, 0.6])
def test_restricted_search_returns_only_allowed_rows(data, share: float) -> None:  # type: ignore[no-untyped-def]
    x, queries = data
    flat, graph = _indexes(x)
    rows = np.flatnonzero(np.random.default_rng(1).random(N) < share)
    selector = _bitmap(rows, N)
    allowed = set(rows.tolist())
    overlap = []
    for q in queries[:10]:
        _, exact = vectors.search(flat, q[None, :], 10, selector, len(rows))
        _, approx = vectors.search(graph, q[None, :], 10, selector, len(rows))
        assert set(approx[0]) <= allowed and set(exact[0]) <= allowed
        overlap.append(len(set(exact[0]) & set(approx[0])) / 10)
    assert np.mean(overlap) >= (1.0 if share < vectors.EXACT_SHARE else 0.95)


def test_an_index_of_graphs_answers_like_the_flat_one(hash_settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    question = ["Försäkringskassan betalar ut etableringsersättningen"]
    found = []
    for hnsw_min in (vectors.HNSW_MIN, 1):
        monkeypatch.setattr(vectors, "HNSW_MIN", hnsw_min)
        shutil.rmtree(hash_settings.index_dir, ignore_errors=True)
        build_index(hash_settings, HashEmbedder())
        engine = Engine(hash_settings, HashEmbedder())
        found.append([(h.chunk.id, h.highlights)
                      for h in engine.search(question, k=3, filters=Filters(language="sv"))[0]]
                     + [h.chunk.id for h in engine.search(question, k=5)[0]])
        segment = next(iter(engine.reader.segments.values()))  # type: ignore[attr-defined]
        assert hasattr(segment.sentence_index, "hnsw") == (hnsw_min == 1)
        engine.close()
    assert found[0] == found[1]
