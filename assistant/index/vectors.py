"""How a segment stores and searches its vectors: float16 codes (half the bytes of float32;
the dev and held-out figures are unchanged, bench/RESULTS.md), scanned exactly, or through an
HNSW graph over the same codes in a segment of `HNSW_MIN` vectors or more; a graph over
sentence vectors keeps them as 8-bit codes instead (`SENTENCE_CODES_8BIT`).

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
# A graph's sentence vectors as 8-bit codes: at 1M chunks a new server's first answer with the
# page cache cold took 3.9-4.1 s against 5.1-5.9 s with float16 codes, serving RSS 4.7 against
# 5.9 GB; graph recall@10 against the exact float16 scan fell from 0.998 to 0.982 at 10k (on
# chunk vectors to 0.979: they keep float16). With 8-bit codes in every segment the development
# sets' figures moved by 0.017 at most (bench/RESULTS.md, issue 15).
SENTENCE_CODES_8BIT = True
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


def finished(index: Any, hnsw_min: int | None = None, eight_bit: bool = False) -> Any:
    """The index to write for a segment: the flat one, or an HNSW graph when the segment holds
    `hnsw_min` (default HNSW_MIN) vectors or more (ids stay row positions), over the same
    float16 codes or, with `eight_bit`, over 8-bit codes with one minimum and step per
    dimension fitted to the segment's own vectors (see SENTENCE_CODES_8BIT)."""
    import faiss

    rows = index.ntotal
    threshold = HNSW_MIN if hnsw_min is None else hnsw_min
    if threshold is None or rows < threshold or not rows:
        return index
    codes = faiss.ScalarQuantizer.QT_8bit if eight_bit else faiss.ScalarQuantizer.QT_fp16
    graph = faiss.IndexHNSWSQ(index.d, codes, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = EF_CONSTRUCTION
    batches = [(lo, min(_BATCH, rows - lo)) for lo in range(0, rows, _BATCH)]
    if eight_bit:  # trained on two rows, each dimension's minimum and maximum: their range
        low, high = np.full(index.d, np.inf), np.full(index.d, -np.inf)
        for lo, count in batches:
            part = index.reconstruct_n(lo, count)
            low, high = np.minimum(low, part.min(axis=0)), np.maximum(high, part.max(axis=0))
        graph.train(np.stack([low, high]).astype(np.float32))
    searching = faiss.omp_get_max_threads()  # this thread's OpenMP setting, restored below
    faiss.omp_set_num_threads(_graph_threads)
    try:
        for lo, count in batches:
            graph.add(index.reconstruct_n(lo, count))
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
