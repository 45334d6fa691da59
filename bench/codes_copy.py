"""Copy an index folder with 8-bit vector codes instead of float16, graphs kept (issue 15, item 2).

    nice -n 5 .venv/bin/python bench/codes_copy.py bench/cache/scale/index-1000000-s15 \
        --to bench/cache/scale/index-1000000-s15-sq8

What would 8-bit codes change for a served index (disk, a cold start's reads, search)? This
copies the served commit's segments and rewrites in the copy each ``chunks.faiss`` and
``sentences.faiss`` (or those named by ``--files``) with FAISS's 8-bit scalar quantiser
(`QT_8bit`: one minimum and range per dimension, trained on that file's own vectors). An HNSW
file keeps its graph as it is (built over the float16 codes), so only the codes differ; a flat
file becomes a flat 8-bit index. The copy is `graph_segments.graph_copy`'s: each segment
resealed (sizes, sha256) under a new commit point, with the product's own functions; the
original folder is only read. Prints one JSON line per file (vectors, bytes before and after,
the cosine between each vector's float16 and 8-bit decodings), then one for the copy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from graph_segments import graph_copy  # noqa: E402

from assistant.index.segment import CHUNK_VECTORS, SENTENCE_VECTORS  # noqa: E402


def eight_bit(index: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """The same vectors with 8-bit codes (an HNSW index keeps its graph); the float16 and
    8-bit decodings."""
    import faiss

    vectors = index.reconstruct_n(0, index.ntotal)
    graph = faiss.downcast_index(index)
    if isinstance(graph, faiss.IndexHNSWSQ):
        new = faiss.IndexHNSWSQ(index.d, faiss.ScalarQuantizer.QT_8bit, graph.hnsw.nb_neighbors(1),
                                faiss.METRIC_INNER_PRODUCT)
        new.hnsw = graph.hnsw  # a copy of the graph
        codes = faiss.downcast_index(new.storage)
        codes.train(vectors)
        codes.add(vectors)
        new.ntotal, new.is_trained = index.ntotal, True
    else:
        new = faiss.IndexScalarQuantizer(index.d, faiss.ScalarQuantizer.QT_8bit,
                                         faiss.METRIC_INNER_PRODUCT)
        new.train(vectors)
        new.add(vectors)
    return new, vectors, new.reconstruct_n(0, new.ntotal)


def copy_file(path: Path) -> dict[str, Any]:
    """Rewrite one vector file with 8-bit codes; what changed."""
    import faiss

    before = path.stat().st_size
    new, old_vectors, new_vectors = eight_bit(faiss.read_index(str(path)))
    faiss.write_index(new, str(path))
    norms = np.linalg.norm(old_vectors, axis=1) * np.linalg.norm(new_vectors, axis=1)
    cosine = (old_vectors * new_vectors).sum(axis=1) / np.maximum(norms, 1e-12)
    return {"file": path.name, "vectors": int(new.ntotal), "bytes_before": before,
            "bytes_after": path.stat().st_size,
            "cosine_min": round(float(cosine.min()), 6) if len(cosine) else None,
            "cosine_mean": round(float(cosine.mean()), 6) if len(cosine) else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path, help="the index folder to copy (only read)")
    parser.add_argument("--to", type=Path, required=True, help="the copy; must not exist")
    parser.add_argument("--files", nargs="+", default=[CHUNK_VECTORS, SENTENCE_VECTORS],
                        choices=[CHUNK_VECTORS, SENTENCE_VECTORS], help="which to rewrite")
    args = parser.parse_args(argv)
    if args.to.exists():
        parser.error(f"{args.to} exists; remove it first")
    print(json.dumps(graph_copy(args.index, args.to, copy_file, args.files)[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
