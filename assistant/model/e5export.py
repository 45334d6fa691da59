"""Export the converted e5 model to an fp32 ONNX graph, once, at set-up; int8 only when asked.

The fp32 graph is always written: it is the default encoder and the source of the int8 one. The
int8 graph is quantised from it beside it only when ASSISTANT_ENCODER=onnx-int8 asks for it: it
costs a quantisation pass and another file, and it is opt-in because it loses quality (dev R@1
0.778 -> 0.741, held-out 0.885 -> 0.769; bench/RESULTS.md, issue 15) for about 1.6x indexing.

This is the only module of the ONNX path that imports torch and transformers; serving reads the
folder it writes with onnxruntime and tokenizers alone (see e5onnx).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from assistant.errors import ModelError
from assistant.model.e5convert import MARKER as CONVERTED_MARKER
from assistant.model.e5convert import ensure_model, make_readable, replace_folder

__all__ = ["FORMAT", "INT8_FILE", "MARKER", "MODEL_FILE", "add_int8", "ensure_onnx", "export",
           "is_exported"]

FORMAT = 2  # bump when the exported graph or its quantisation changes: ensure_onnx then redoes it
MARKER = "e5export.json"  # written last; its presence means the folder is complete
MODEL_FILE = "model.onnx"  # fp32, the default encoder
INT8_FILE = "model_int8.onnx"  # quantised from MODEL_FILE on demand; present only when complete
TOKENIZER_FILE = "tokenizer.json"
OPSET = 17


def _source_stamp(converted: Path) -> str:
    """A fingerprint of the converted folder the export was made from."""
    marker = (converted / CONVERTED_MARKER).read_bytes()
    return hashlib.sha256(marker).hexdigest()[:16]


def is_exported(target: Path, converted: Path) -> bool:
    """True when `target` holds a finished export, in the current format, of `converted`."""
    try:
        marker = json.loads((Path(target) / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    files_there = all((Path(target) / f).is_file() for f in (MODEL_FILE, TOKENIZER_FILE))
    try:
        same_source = marker.get("source") == _source_stamp(Path(converted))
    except OSError:
        same_source = False
    return marker.get("format") == FORMAT and files_there and same_source


def ensure_onnx(target: Path, converted: Path, int8: bool = False) -> Path:
    """The ONNX folder at `target` (fp32, int8 too when asked), exporting first where needed."""
    ensure_model(converted)
    if not is_exported(target, converted):
        export(converted, target)
    if int8 and not (Path(target) / INT8_FILE).is_file():
        add_int8(target)
    return Path(target)


def export(converted: Path, target: Path) -> Path:
    """Write the fp32 ONNX model and its tokenizer to `target`, atomically."""
    converted, target = Path(converted), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _export_fp32(converted, work / MODEL_FILE)
        shutil.copyfile(converted / TOKENIZER_FILE, work / TOKENIZER_FILE)
        marker = {"format": FORMAT, "source": _source_stamp(converted), "opset": OPSET,
                  "int8": f"{INT8_FILE}, on demand: onnxruntime dynamic, per-channel weights",
                  "outputs": "mean over all tokens (attention mask), L2-normalised"}
        (work / MARKER).write_text(json.dumps(marker, indent=2) + "\n", "utf-8")
        make_readable(work)
        replace_folder(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _export_fp32(converted: Path, path: Path) -> None:
    """Trace the converted model, with e5's pooling, into an fp32 ONNX graph."""
    import torch
    from transformers import AutoModel

    try:
        bert = AutoModel.from_pretrained(str(converted), dtype=torch.float32,
                                         attn_implementation="eager")
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {converted} for the ONNX export: {exc}") from exc
    bert.eval()

    class Pooled(torch.nn.Module):
        """BertModel, then e5's pooling: mean over unmasked tokens (<s> and </s> included)."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(mean, p=2.0, dim=-1)

    ids = torch.tensor([[0, 581, 2], [0, 581, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(Pooled(), (ids, mask), str(path), input_names=["input_ids",
                          "attention_mask"], output_names=["embedding"], dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)


def add_int8(target: Path) -> Path:
    """Quantise the folder's fp32 graph into its int8 one; the file appears only when complete."""
    target = Path(target)
    handle, partial = tempfile.mkstemp(prefix=f".{INT8_FILE}.", suffix=".onnx", dir=target)
    os.close(handle)
    try:
        _quantise(target / MODEL_FILE, Path(partial))
        Path(partial).chmod(0o644)
        os.replace(partial, target / INT8_FILE)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target / INT8_FILE


def _quantise(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantisation of the weights (MatMul and the embedding table)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # One scale per output channel: per-tensor scales agreed with fp32 at cosine 0.985 on the
    # corpus, per-channel at 0.995 (bench/RESULTS.md, issue 15), at the same speed and size.
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)


def main() -> None:
    """`python -m assistant.model.e5export`: prepare the configured model (`make model`)."""
    from assistant.config import load_settings
    from assistant.model.embed import encoder_kind, load_embedder

    settings = load_settings()
    load_embedder(settings.model, settings.model_dir, 1, 1, settings.encoder)
    print(f"model ready: {settings.model} ({encoder_kind(settings.model, settings.encoder)})")


if __name__ == "__main__":
    main()
