"""Real-model indexing speed (issue 15): full builds of a corpus with each encoder, in one run.

Each encoder is loaded first (its load time reported apart), then builds the corpus into a fresh
index folder; builds alternate between encoders so that load from other processes on a shared
machine falls on both alike. Compare the ratios, not the seconds. Run from the repository root:
    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/index_speed.py \
        [--corpus DIR ...] [--rounds 2] [--encoders sentence-transformers onnx onnx-int8] \
        [--interleaved N]
("onnx" is the fp32 graph, the default since issue 15's follow-up; "onnx-int8" the opt-in one.)
An ONNX encoder named with "@N" takes batches of at most N padded tokens (e5onnx.BATCH_TOKENS
by default): "onnx@1000000" batches 32 rows whatever their length, as before issue 15's
"Encoder batches". Builds load their encoder as the product's builds do (`bulk`: ONNX batches
side by side); "/alone" after the encoder's name runs one batch at a time on every thread, as
before ("onnx/alone@1000000": the encoder as it was).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.config import load_settings
from assistant.engine import configure_threads
from assistant.index.builder import build_index
from assistant.model.embed import load_embedder


class Counting:
    """An embedder that counts the texts and seconds spent in it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts, self.seconds = 0, 0.0

    def passages(self, texts: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.passages(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)

    def queries(self, texts: Any) -> Any:
        return self.inner.queries(texts)


def build_once(corpus: Path, encoder: str, embedder: Any) -> dict[str, Any]:
    """One full build of `corpus` into a new folder."""
    work = Path(tempfile.mkdtemp(prefix="index-speed-"))
    try:
        settings = load_settings(corpus_dir=corpus, index_dir=work / "index", encoder=encoder)
        counting = Counting(embedder)
        started = time.perf_counter()
        report = build_index(settings, counting)
        seconds = time.perf_counter() - started
        return {"build_s": round(seconds, 1), "encode_s": round(counting.seconds, 1),
                "texts": counting.texts, "chunks": report.chunks,
                "documents": len(report.indexed)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def corpus_texts(corpus: Path) -> list[str]:
    """What a build of `corpus` embeds: each chunk's passage text and each distinct sentence."""
    from assistant.index.chunking import chunk_document
    from assistant.index.embedding import passage_text, sentence_text
    from assistant.index.source import corpus_files
    from assistant.ingest import load_document
    from assistant.ingest.catalog import doc_info, read_catalog
    from assistant.lang.diacritics import repair_document

    catalog, texts = read_catalog(corpus), []
    for name, path in corpus_files(corpus):
        document = repair_document(load_document(path, name))
        info = doc_info(document, catalog.get(name))
        chunks = chunk_document(document)
        texts += [passage_text(info, c) for c in chunks]
        texts += dict.fromkeys(sentence_text(info, c, i) for c in chunks
                               for i in range(len(c.sentences)))
    return texts


def interleaved(corpus: Path, embedders: dict[str, Any], every: int, block: int) -> None:
    """Encoder seconds on the same texts, the encoders taking turns block by block, so that a
    change in the machine's load falls on all of them alike."""
    texts = corpus_texts(corpus)[::every]
    seconds = dict.fromkeys(embedders, 0.0)
    for start in range(0, len(texts), block):
        for encoder, embedder in embedders.items():
            began = time.perf_counter()
            embedder.passages(texts[start:start + block])
            seconds[encoder] += time.perf_counter() - began
    base = seconds[next(iter(embedders))]
    for encoder, spent in seconds.items():
        print(json.dumps({"corpus": str(corpus), "texts": len(texts), "encoder": encoder,
                          "encode_s": round(spent, 1), "speedup": round(base / spent, 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, nargs="+", default=[Path("corpus")])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--encoders", nargs="+", default=["sentence-transformers", "onnx"])
    parser.add_argument("--interleaved", type=int, default=0, metavar="EVERY",
                        help="instead of builds: encode every EVERY-th text of the corpus, "
                             "the encoders taking turns every 32 texts")
    args = parser.parse_args()
    settings = load_settings()
    configure_threads(settings)
    embedders, encoders = {}, {}  # by the name given: the embedder, and its encoder setting
    for name in args.encoders:
        encoder, _, tokens = name.partition("@")
        encoder, alone = encoder.removesuffix("/alone"), encoder.endswith("/alone")
        encoders[name] = encoder
        started = time.perf_counter()
        embedders[name] = load_embedder(settings.model, settings.model_dir, settings.threads,
                                        settings.batch_size, encoder, bulk=not alone)
        if tokens:
            embedders[name].batch_tokens = int(tokens)
        print(json.dumps({"encoder": name, "load_s": round(time.perf_counter() - started, 1)}),
              flush=True)
    if args.interleaved:
        for corpus in args.corpus:
            interleaved(corpus, embedders, args.interleaved, 32)
        return
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for corpus in args.corpus:
            for encoder in args.encoders:
                row = build_once(corpus, encoders[encoder], embedders[encoder])
                results.setdefault((str(corpus), encoder), []).append(row)
                print(json.dumps({"corpus": str(corpus), "encoder": encoder, **row}), flush=True)
    for corpus in args.corpus:
        base = statistics.median(r["build_s"] for r in results[(str(corpus), args.encoders[0])])
        for encoder in args.encoders:
            median = statistics.median(r["build_s"] for r in results[(str(corpus), encoder)])
            print(json.dumps({"corpus": str(corpus), "encoder": encoder, "median_build_s": median,
                              "speedup": round(base / median, 2)}))


if __name__ == "__main__":
    main()
