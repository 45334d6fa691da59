"""int8 for some layers of the e5 encoder only (issue 15, item 4): how close to the fp32 graph,
and how much faster.

Full int8 (every MatMul and the embedding table) loses dev and held-out figures (bench/RESULTS.md,
"Encoder: ONNX Runtime"). This quantises chosen MatMuls of the exported fp32 graph with the same
onnxruntime pass (dynamic, per-channel int8 weights) and, for each variant, reports the cosine of
its vectors to fp32 and the CPU seconds to encode the same texts on one thread, the variants
taking turns. Run from the repository root after `make model`:

    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/int8_layers.py \
        [--rounds 3] [--variants all ffn ffn@6 all@6]

A variant is "all" or "ffn" (the feed-forward MatMuls only), with "@N" for layers N and up.
To judge one on every development set, copy its graph over the opt-in int8 file
(`models/intfloat--multilingual-e5-small-onnx/model_int8.onnx`) and run bench/devsets.py with
ASSISTANT_ENCODER=onnx-int8; remove the file afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.model.e5export import INT8_FILE, MODEL_FILE, TOKENIZER_FILE, add_int8  # noqa: E402
from assistant.model.e5onnx import OnnxEmbedder  # noqa: E402

SOURCE = REPO / "models" / "intfloat--multilingual-e5-small-onnx"
TEXTS = REPO / "bench" / ".cache" / "index" / "intfloat--multilingual-e5-small" / "seed+ret"
WORK = Path("/tmp/int8-layers")


def _layer(node: str) -> int:
    return int(node.split("layer.")[1].split("/")[0])


def chosen_nodes(graph: Path, variant: str) -> list[str] | None:
    """The MatMul nodes a variant quantises (None: every MatMul and the embedding table)."""
    import onnx

    kind, _, start = variant.partition("@")
    if kind == "all" and not start:
        return None
    model = onnx.load(str(graph), load_external_data=False)
    weights = [n.name for n in model.graph.node if n.op_type == "MatMul"
               and n.name.endswith(("query/MatMul", "key/MatMul", "value/MatMul",
                                    "dense/MatMul"))]
    if kind == "ffn":
        weights = [n for n in weights if "/intermediate/" in n
                   or ("/output/dense" in n and "/attention/" not in n)]
    return [n for n in weights if _layer(n) >= int(start or 0)]


def quantised(variant: str) -> Path:
    """A folder holding the variant's int8 graph and the tokenizer."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = WORK / variant.replace("@", "-from-")
    if not (folder / INT8_FILE).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(SOURCE / TOKENIZER_FILE, folder / TOKENIZER_FILE)
        nodes = chosen_nodes(SOURCE / MODEL_FILE, variant)
        if nodes is None:  # the opt-in int8 graph, quantised as the product does
            (folder / MODEL_FILE).unlink(missing_ok=True)
            (folder / MODEL_FILE).symlink_to(SOURCE / MODEL_FILE)
            add_int8(folder)
        else:
            quantize_dynamic(str(SOURCE / MODEL_FILE), str(folder / INT8_FILE),
                             weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_quantize=nodes, op_types_to_quantize=["MatMul"])
    return folder


def sample_texts() -> tuple[list[str], list[str]]:
    """Every third chunk of the cached seed+ret index's first 150, and sentence-sized pieces."""
    chunks: list[str] = []
    for db in sorted(TEXTS.glob("seg-*/store.sqlite")):
        connection = sqlite3.connect(db)
        chunks += [t for (t,) in connection.execute("SELECT text FROM chunks")]
        connection.close()
    chunks = chunks[::3][:150]
    return chunks, [s for t in chunks for s in t.split(". ")][:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["all", "ffn", "ffn@6", "all@6"])
    args = parser.parse_args()
    chunks, sentences = sample_texts()
    print(f"{len(chunks)} chunks, {len(sentences)} sentence pieces", flush=True)
    encoders = {"fp32": OnnxEmbedder(SOURCE, "fp32", threads=1)}
    for variant in args.variants:
        encoders[variant] = OnnxEmbedder(quantised(variant), variant, threads=1, int8=True)
    reference = encoders["fp32"].passages(chunks), encoders["fp32"].passages(sentences)
    for name, encoder in encoders.items():
        cosines = [(encoder.passages(texts) * ref).sum(1)
                   for texts, ref in zip((chunks, sentences), reference, strict=True)]
        print(f"{name}: cosine to fp32, chunks mean {cosines[0].mean():.5f} min "
              f"{cosines[0].min():.5f}; sentences mean {cosines[1].mean():.5f} min "
              f"{cosines[1].min():.5f}", flush=True)
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(args.rounds):
        for name, encoder in encoders.items():
            started = time.process_time()
            encoder.passages(chunks)
            encoder.passages(sentences)
            seconds[name].append(time.process_time() - started)
    base = float(np.median(seconds["fp32"]))
    for name, values in seconds.items():
        print(f"{name}: CPU s {[round(v, 2) for v in values]}, fp32 median / median "
              f"{base / float(np.median(values)):.3f}")


if __name__ == "__main__":
    main()
