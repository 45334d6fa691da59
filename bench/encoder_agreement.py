"""Cosine between the vectors two indexes of the same corpus stored (issue 15): ONNX (fp32 or
int8) against sentence-transformers, chunk by chunk and sentence by sentence. Run from the
repository root:
    PYTHONPATH=$PWD .venv/bin/python bench/encoder_agreement.py INDEX_A INDEX_B
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from assistant.index.store import open_store


def stored_vectors(index_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(chunk vectors, sentence vectors) by document."""
    store = open_store(index_dir)
    try:
        out = {}
        for doc in sorted(store.docs):
            stored = store.segments[store.doc_segment[doc]].stored(doc)
            out[doc] = (np.asarray(stored.chunk_vectors), np.asarray(stored.sentence_vectors))
        return out
    finally:
        store.close()


def main() -> None:
    a, b = (stored_vectors(Path(p)) for p in sys.argv[1:3])
    if sorted(a) != sorted(b):
        raise SystemExit("the two indexes hold different documents")
    for part, label in ((0, "chunks"), (1, "sentences")):
        cos = np.concatenate([np.sum(a[d][part] * b[d][part], axis=1) for d in sorted(a)])
        print(json.dumps({"vectors": label, "n": int(cos.size), "mean": round(float(cos.mean()), 4),
                          "min": round(float(cos.min()), 4),
                          "p01": round(float(np.quantile(cos, 0.01)), 4)}))


if __name__ == "__main__":
    main()
