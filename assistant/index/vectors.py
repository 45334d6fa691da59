"""How a segment stores and searches its vectors: float16 codes (half the bytes of float32;
the dev and held-out figures are unchanged, bench/RESULTS.md), scanned exactly, or through an
HNSW graph over the same codes in a segment of `HNSW_MIN` vectors or more.

A restricted search (a language, a filter, tombstones) stays exact in effect: the graph is
searched with the restriction as a selector and a wider beam, unless the restriction keeps
less than `EXACT_SHARE` of the segment, or less than `LOCAL_SHARE` of the query's unrestricted
neighbours in the graph (where a walk could miss the allowed rows: a Swedish-only search for an
English question), when the codes are scanned exactly instead. bench/vector_recall.py
measures recall@10 against the exact scan.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# Vectors in a segment from which it gets a graph; smaller segments are scanned exactly. At 42k
# stand-in sentence vectors the graph below answered in 2.2 ms against 5.7 ms for the scan, with
# recall@10 0.998 and recall@200 0.996 against it (bench/RESULTS.md, issue 15).
HNSW_MIN: int | None = 50_000
HNSW_M = 32  # graph neighbours per node
# The beam while building: 40 gave recall@10 0.94 even with a search beam of 2,000; 200 gives
# 0.998 with a beam of 400 (same vectors, same run).
EF_CONSTRUCTION = 200
# The search beam: max(EF_SEARCH, EF_FACTOR k). At 164k stand-in sentence vectors recall@10 was
# 0.962 with a beam of 64, 0.980 with 128, 0.989 with 200 and 0.990 with 400 (k = 200).
EF_SEARCH = 200
EF_FACTOR = 2
EXACT_SHARE = 0.3  # restrictions keeping less of a segment than this are scanned exactly
LOCAL_SHARE = 0.5  # nor if less than this of the query's unrestricted neighbours are allowed
_BATCH = 20_000  # vectors moved at a time when a graph is built
_graph_threads = 1  # threads a graph is built with (set_graph_threads)


def flat(dim: int) -> Any:
    """An empty exact inner-product index over float16 codes."""
    import faiss

    return faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16,
                                      faiss.METRIC_INNER_PRODUCT)


def set_graph_threads(threads: int) -> None:
    """How many threads build a segment's graph. A build in a process of its own (`assistant
    index`) gives it the configured threads: 1.9× faster on 2 cores (bench/RESULTS.md); a
    server keeps one, so its searches keep the other core during an upload's merge."""
    global _graph_threads
    _graph_threads = max(1, threads)


def finished(index: Any, hnsw_min: int | None = None) -> Any:
    """The index to write for a segment: the flat one, or an HNSW graph over the same float16
    codes when the segment holds `hnsw_min` (default HNSW_MIN) vectors or more (ids stay row
    positions)."""
    import faiss

    threshold = HNSW_MIN if hnsw_min is None else hnsw_min
    if threshold is None or index.ntotal < threshold:
        return index
    graph = faiss.IndexHNSWSQ(index.d, faiss.ScalarQuantizer.QT_fp16, HNSW_M,
                              faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = EF_CONSTRUCTION
    searching = faiss.omp_get_max_threads()  # this thread's OpenMP setting, restored below
    faiss.omp_set_num_threads(_graph_threads)
    try:
        for lo in range(0, index.ntotal, _BATCH):
            graph.add(index.reconstruct_n(lo, min(_BATCH, index.ntotal - lo)))
    finally:
        faiss.omp_set_num_threads(searching)
    return graph


def search(index: Any, query: np.ndarray, k: int, selector: Any = None, selected: int = 0
           ) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the k best rows for one query (shape 1 × d); only of the `selected`
    rows a selector allows when one is given (a bitmap selector, see store._bitmap)."""
    import faiss

    storage = getattr(index, "storage", None)
    if storage is None:  # a flat index: exact
        params = faiss.SearchParameters(sel=selector) if selector is not None else None
        return index.search(query, k, params=params)
    params = faiss.SearchParametersHNSW()
    params.efSearch = max(EF_SEARCH, EF_FACTOR * k)
    if selector is None:
        return index.search(query, k, params=params)
    exact = selected < EXACT_SHARE * index.ntotal
    if not exact:
        # a restriction can be rare where the query is though common overall (a Swedish-only
        # search for an English question lands among English rows): probe the graph
        # unrestricted, and scan exactly when too few of the rows it finds are allowed
        _, ids = index.search(query, k, params=params)
        exact = _allowed_share(selector, ids[0]) < LOCAL_SHARE
    if exact:
        codes = faiss.downcast_index(storage)
        return codes.search(query, k, params=faiss.SearchParameters(sel=selector))
    params.sel = selector
    return index.search(query, k, params=params)


def _allowed_share(selector: Any, ids: np.ndarray) -> float:
    """The share of some rows a bitmap selector allows."""
    ids = ids[ids >= 0]
    if not len(ids):
        return 0.0
    bits = (selector.packed[ids >> 3] >> (ids & 7)) & 1
    return float(np.mean(bits))


_WINDOW = 8 << 20  # bytes per read-ahead request (the kernel caps one at its window)


def read_ahead(path: Path) -> None:
    """Ask the kernel to bring a file into the page cache, window by window; returns once
    the reads are asked for, not done (best effort: no such call, or no such file, is no
    loss). A server asks for each FAISS file just before it maps it: mapped, a 1M index's
    graphs were read a page fault at a time, 18-19 s with the page cache cold against
    3.4 s asked for first; and its first questions waited on thousands of page reads each
    (bench/RESULTS.md, issue 15)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        for offset in range(0, os.fstat(fd).st_size, _WINDOW):
            os.posix_fadvise(fd, offset, _WINDOW, os.POSIX_FADV_WILLNEED)
    except (OSError, AttributeError):
        pass
    finally:
        os.close(fd)
