"""A 1-layer stand-in for the default model, so that scale figures are not all encoder time.

It is the converted multilingual-e5-small with only its first transformer layer kept: the same
tokenizer, embeddings, 384-dim mean-pooled output and e5 prefixes, about 12 times less encoder
work per token. Its vectors are not good for retrieval quality; they are for timing the rest.
Load it like any sentence-transformers folder: ASSISTANT_MODEL=<its absolute path>.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from assistant.config import DEFAULT_MODEL
from assistant.model.e5convert import ensure_model

WEIGHTS = "model.safetensors"
MARKER = "scale-standin.json"  # written last: its presence means the folder is complete
# The embedder adds e5's "query: "/"passage: " prefixes only when the name says e5.
STANDIN_NAME = "e5-small-1layer"


def converted_model(model_dir: Path) -> Path:
    """The converted default model under model_dir (converted first if missing)."""
    return ensure_model(Path(model_dir) / DEFAULT_MODEL.replace("/", "--"))


def ensure_standin(target: Path, model_dir: Path, layers: int = 1) -> Path:
    """The stand-in model folder at target, derived from the converted model if missing."""
    target = Path(target)
    if (target / MARKER).exists():
        return target
    source = converted_model(model_dir)
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(WEIGHTS))
    _keep_layers(source / WEIGHTS, work / WEIGHTS, layers)
    config = json.loads((work / "config.json").read_text(encoding="utf-8"))
    config["num_hidden_layers"] = layers
    (work / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (work / MARKER).write_text(json.dumps({"source": str(source), "layers": layers}) + "\n",
                               encoding="utf-8")
    for path in [work, *work.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(work, target)
    return target


def _keep_layers(source: Path, target: Path, layers: int) -> None:
    """Copy the weights file without the transformer layers numbered `layers` and above."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    kept = {}
    with safe_open(str(source), "np") as weights:
        for name in weights.keys():  # noqa: SIM118 (safe_open is not a mapping)
            parts = name.split(".")
            if parts[:2] == ["encoder", "layer"] and int(parts[2]) >= layers:
                continue
            kept[name] = weights.get_tensor(name)
    save_file(kept, str(target), metadata={"format": "pt"})


def ensure_standin_onnx(standin: Path) -> Path:
    """The stand-in exported as the default model is (fp32 ONNX, pooling in the graph), beside
    it, so that a serving process can load it without torch, as the product does."""
    from assistant.model.e5export import export, is_exported

    target = onnx_folder(standin)
    if not is_exported(target, standin):
        export(standin, target)
    return target


def onnx_folder(standin: Path) -> Path:
    """Where the stand-in's ONNX export lives: beside it."""
    return Path(standin).with_name(Path(standin).name + "-onnx")
