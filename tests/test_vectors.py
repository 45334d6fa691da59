"""Segment vectors: float16 codes, an HNSW graph for large segments (over 8-bit codes for
sentence vectors), restrictions kept exact."""

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


def _indexes(x: np.ndarray, eight_bit: bool = False) -> tuple[object, object]:
    flat = vectors.flat(DIM)
    flat.add(x)
    return flat, vectors.finished(flat, hnsw_min=1000, eight_bit=eight_bit)


def test_small_segments_stay_flat_and_large_get_a_graph(data) -> None:  # type: ignore[no-untyped-def]
    flat, graph = _indexes(data[0])
    assert vectors.finished(flat) is flat and hasattr(graph, "hnsw")
    assert np.array_equal(graph.reconstruct_n(0, 5), flat.reconstruct_n(0, 5))  # same codes


def test_a_graph_can_keep_its_vectors_as_8_bit_codes(data) -> None:  # type: ignore[no-untyped-def]
    import faiss

    flat, graph = _indexes(data[0], eight_bit=True)
    assert vectors.finished(flat, eight_bit=True) is flat  # a small segment stays float16
    assert faiss.downcast_index(graph.storage).code_size == DIM  # a byte a dimension
    exact, coded = flat.reconstruct_n(0, N), graph.reconstruct_n(0, N)
    step = (exact.max(axis=0) - exact.min(axis=0)) / 255  # each dimension's own range
    assert np.all(np.abs(coded - exact) <= step / 2 + 1e-6)  # the nearest of 256 levels


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


@pytest.mark.parametrize("eight_bit", [False, True])
@pytest.mark.parametrize("share", [0.05, 0.6])
def test_restricted_search_returns_only_allowed_rows(data, share: float,  # type: ignore[no-untyped-def]
                                                     eight_bit: bool) -> None:
    import faiss

    x, queries = data
    flat, graph = _indexes(x, eight_bit)
    rows = np.flatnonzero(np.random.default_rng(1).random(N) < share)
    selector = _bitmap(rows, N)
    allowed = set(rows.tolist())
    overlap = []
    codes = faiss.downcast_index(graph.storage)  # the graph's own codes, scanned
    for q in queries[:10]:
        _, exact = vectors.search(flat, q[None, :], 10, selector, len(rows))
        _, approx = vectors.search(graph, q[None, :], 10, selector, len(rows))
        assert set(approx[0]) <= allowed and set(exact[0]) <= allowed
        if share < vectors.EXACT_SHARE:  # scanned exactly: what a scan of its codes finds
            _, scanned = codes.search(q[None, :], 10,
                                      params=faiss.SearchParameters(sel=selector))
            assert list(approx[0]) == list(scanned[0])
        overlap.append(len(set(exact[0]) & set(approx[0])) / 10)
    assert np.mean(overlap) >= (1.0 if share < vectors.EXACT_SHARE and not eight_bit else 0.95)


def test_an_index_of_graphs_answers_like_the_flat_one(hash_settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

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
        if hnsw_min == 1:  # bytes a dimension: sentence vectors 8-bit, chunk vectors float16
            sizes = [faiss.downcast_index(index.storage).code_size // segment.dim
                     for index in (segment.sentence_index, segment.chunk_index)]
            assert sizes == [1, 2]
        engine.close()
    assert found[0] == found[1]
