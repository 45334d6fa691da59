"""How close the build's encoder runs to this machine's arithmetic limit (issue 15, item 4).

Counts the floating-point work of encoding what a build of the corpus encodes (each chunk's
passage text and each distinct sentence, batched and padded as the product batches them; the
model's layer sizes from its config), times the product's bulk encoder on those texts, and
times float32 matrix products on the same threads (numpy's BLAS: the feed-forward layer's
shape for a 512-token batch, and 2048-square), as what the machine can reach. Run from the
repository root:
    PYTHONPATH=$PWD:$PWD/bench OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/encoder_ceiling.py \
        [--corpus bench/.cache/corpus/seed+ret] [--record]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from index_speed import corpus_texts

from assistant.config import load_settings
from assistant.engine import configure_threads
from assistant.model.e5onnx import _batches  # the product's own batching, to count padding
from assistant.model.embed import load_embedder, model_inputs


def layer_sizes(model_dir: Path) -> dict[str, int]:
    """Layers, width and feed-forward width from the converted model's config."""
    for path in sorted(model_dir.rglob("config.json")):
        config = json.loads(path.read_text(encoding="utf-8"))
        if "num_hidden_layers" in config:
            return {"layers": config["num_hidden_layers"], "hidden": config["hidden_size"],
                    "ffn": config["intermediate_size"]}
    raise SystemExit(f"no model config under {model_dir}")


def flops(shapes: list[tuple[int, int]], sizes: dict[str, int]) -> float:
    """Multiply-adds times two of the encoder layers for batches of (rows, width) tokens: the
    four projections, the feed-forward pair, and attention's two products."""
    h, f = sizes["hidden"], sizes["ffn"]
    total = 0.0
    for rows, width in shapes:
        tokens = rows * width
        total += tokens * (4 * h * h + 2 * h * f) * 2 + rows * 2 * width * width * h * 2
    return total * sizes["layers"]


def gemm_rate(rows: int, inner: int, cols: int, seconds: float = 3.0) -> float:
    """GFLOP/s of float32 (rows x inner) @ (inner x cols) products, repeated for `seconds`."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner), dtype=np.float32)
    b = rng.standard_normal((inner, cols), dtype=np.float32)
    a @ b  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        done += 1
    return done * 2 * rows * inner * cols / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("bench/.cache/corpus/seed+ret"))
    parser.add_argument("--record", action="store_true",
                        help="append to bench/results/encoder_ceiling.jsonl")
    args = parser.parse_args()
    settings = load_settings()
    configure_threads(settings)
    texts = corpus_texts(args.corpus)
    embedder = load_embedder(settings.model, settings.model_dir, settings.threads,
                             settings.batch_size, "onnx", bulk=True)
    ids = [e.ids for e in embedder._tokenizer.encode_batch(model_inputs(texts, "passage: "))]
    shapes = [(len(b), max(len(ids[i]) for i in b))
              for b in _batches([len(i) for i in ids], embedder.batch_size,
                                embedder.batch_tokens)]
    sizes = layer_sizes(settings.model_dir)
    work = flops(shapes, sizes)
    started = time.perf_counter()
    embedder.passages(texts)
    encode_s = time.perf_counter() - started
    peak = gemm_rate(512, sizes["hidden"], sizes["ffn"])  # a 512-token batch's feed-forward
    large = gemm_rate(2048, 2048, 2048)
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "corpus": str(args.corpus), "texts": len(texts),
        "tokens": sum(map(len, ids)),
        "padded_tokens": sum(r * w for r, w in shapes), **sizes, "gflop": round(work / 1e9),
        "encode_s": round(encode_s, 1), "encoder_gflops": round(work / encode_s / 1e9, 1),
        "gemm_gflops": round(peak, 1), "share_of_gemm": round(work / encode_s / 1e9 / peak, 2),
        "gemm_2048_gflops": round(large, 1),
        "threads": settings.threads}
    print(json.dumps(record))
    if args.record:
        out = Path(__file__).resolve().parent / "results" / "encoder_ceiling.jsonl"
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
