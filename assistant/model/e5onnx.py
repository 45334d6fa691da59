"""The default e5 model served by ONNX Runtime (fp32, or int8 when asked): no torch, transformers
or sentence-transformers in the serving process, so a new process answers within seconds."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError
from assistant.model.embed import model_inputs, normalise_rows

__all__ = ["OnnxEmbedder"]

MAX_TOKENS = 512  # e5-small's position table; longer inputs are cut, as sentence-transformers does
# Padded tokens per batch (besides batch_size rows at most; one row at least). Small batches
# keep the layers' activations in the CPU's caches: on 2 cores, 512 encoded the same texts
# about 1.5x faster than the earlier 32 rows of up to 4,096 tokens, with the same vectors
# (bench/RESULTS.md, issue 15, "Encoder batches").
BATCH_TOKENS = 512


class OnnxEmbedder:
    """e5 vectors from an ONNX graph that e5export writes (pooling and norm are in it)."""

    def __init__(
        self, folder: Path, name: str, prefixes: tuple[str, str] = ("query: ", "passage: "),
        batch_size: int = 32, threads: int | None = None, int8: bool = False,
        batch_tokens: int = BATCH_TOKENS, side_by_side: bool = False,
    ) -> None:
        from assistant.model.e5export import INT8_FILE, MODEL_FILE, TOKENIZER_FILE

        self.name = name
        self.prefixes = prefixes
        self.batch_size = max(1, batch_size)
        self.batch_tokens = batch_tokens
        # Side by side: `threads` batches at once, one thread each (about 1.2x the texts a
        # second of one batch on `threads` threads, but a lone query takes longer: index
        # builds only; bench/RESULTS.md, issue 15, "Encoder batches").
        self._workers = max(1, threads or 1) if side_by_side else 1
        # Both loads take a second or more and release the GIL for much of it: side by side,
        # a new process is ready sooner (bench/RESULTS.md, issue 15).
        with ThreadPoolExecutor(1) as pool:
            graph = Path(folder) / (INT8_FILE if int8 else MODEL_FILE)
            session = pool.submit(_session, graph, 1 if self._workers > 1 else threads)
            self._tokenizer = _tokenizer(Path(folder) / TOKENIZER_FILE)
            self._session = session.result()
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts to be searched, with the passage prefix."""
        return self._encode(texts, self.prefixes[1])

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries, with the query prefix."""
        return self._encode(texts, self.prefixes[0])

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        """Encode NFC-normalised, prefixed texts, batched by length to waste little on padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(model_inputs(texts, prefix))
        ids = [e.ids for e in encodings]
        batches = _batches([len(i) for i in ids], self.batch_size, self.batch_tokens)
        if self._workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self._workers) as pool:  # Run releases the GIL
                vectors = list(pool.map(lambda b: self._run([ids[i] for i in b]), batches))
        else:
            vectors = [self._run([ids[i] for i in b]) for b in batches]
        for batch, rows in zip(batches, vectors, strict=True):
            out[batch] = rows
        return normalise_rows(out)

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        """One padded batch through the graph."""
        width = max(len(r) for r in rows)
        input_ids = np.ones((len(rows), width), dtype=np.int64)  # 1 is <pad>; the mask hides it
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            input_ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]


def _batches(lengths: list[int], batch_size: int, batch_tokens: int = BATCH_TOKENS
             ) -> list[list[int]]:
    """Row numbers grouped by similar token count (longest first), so little padding is run:
    at most `batch_size` rows and `batch_tokens` padded tokens a batch, one row at least."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        if batches:
            current = batches[-1]
            width = lengths[current[0]]  # the longest of the batch comes first
            if len(current) < batch_size and (len(current) + 1) * width <= batch_tokens:
                current.append(i)
                continue
        batches.append([i])
    return batches


def _session(path: Path, threads: int | None) -> Any:
    """An ONNX Runtime CPU session with a deliberate thread count."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Threads: the setting (2 by default), never "all cores", which oversubscribes a shared machine.
    options.intra_op_num_threads = threads or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as OMP passive
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise ModelError(f"cannot load ONNX model {path}: {exc}") from exc


def _tokenizer(path: Path) -> Any:
    """The project's own XLM-R tokenizer (e5tokenizer), truncating as the model requires."""
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
        raise ModelError(f"cannot load tokenizer {path}: {exc}") from exc
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok
