"""Late chunking (issue 15, item 4): sentence vectors pooled from the chunk's own encoder pass.

Today a build encodes each chunk once (`passage_text`) and every sentence again on its own
(`sentence_text`), and the sentences are about 62% of the encoder's tokens. Here the chunk goes
through the transformer once, through a graph that returns the last layer's token vectors
(exported into bench/.cache/late/, beside nothing of the shipped model folder), and each
sentence's vector is the mean of its tokens' vectors, L2-normalised. Modes:
- "span": the sentence's own tokens;
- "ctx": <s>, the "passage: " prefix and the chunk's context (title › section) tokens, the
  sentence's tokens, those of its list lead where the chunk holds it, and </s>.
A sentence cut off by the 512-token limit is encoded on its own, as today.

Run from the repository root:
    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/late_chunking.py check
    ... bench/late_chunking.py devsets --mode ctx [devsets.py options]
    ... bench/late_chunking.py speed [--rounds 2] [--mode ctx]
`devsets` runs bench/devsets.py with the variant, its indexes cached apart
(bench/.cache/index/<model>--onnx--late-<mode>/); `speed` runs bench/index_speed.py's builds,
today's and the variant's taking turns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from assistant.index import embedding as embedding_module  # noqa: E402
from assistant.index.abbreviations import _use, spell_out  # noqa: E402
from assistant.model.embed import model_inputs, normalise_rows  # noqa: E402
from assistant.types import Chunk, DocInfo  # noqa: E402

GRAPH = REPO / "bench" / ".cache" / "late" / "tokens.onnx"
MODES = ("span", "ctx")
PREFIX = "passage: "


def export_tokens(converted: Path, path: Path) -> Path:
    """The converted e5 model traced into an fp32 graph returning the last layer's token
    vectors (what e5export's graph pools), once."""
    if path.is_file():
        return path
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(converted), dtype=torch.float32,
                                     attn_implementation="eager").eval()

    class Tokens(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask)[0]

    ids = torch.tensor([[0, 581, 2], [0, 581, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "tokens": {0: "batch", 1: "tokens"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with torch.no_grad():
        torch.onnx.export(Tokens(), (ids, mask), str(partial), input_names=["input_ids",
                          "attention_mask"], output_names=["tokens"], dynamic_axes=axes,
                          opset_version=17, do_constant_folding=True, dynamo=False)
    os.replace(partial, path)
    return path


class LateEmbedder:
    """Today's ONNX embedder plus a token-output graph: `token_states` gives each passage's
    token vectors and character offsets; `passages`/`queries` are today's."""

    late = True

    def __init__(self, base: Any, graph: Path, threads: int | None) -> None:
        from assistant.model.e5onnx import _session

        self.base, self.name, self.dim = base, base.name, base.dim
        self._session = _session(graph, threads)
        self._tokenizer = base._tokenizer

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.base.passages(texts)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.base.queries(texts)

    def token_states(self, texts: Sequence[str]) -> list[tuple[np.ndarray, list, list, str]]:
        """Per text: token vectors (tokens × dim), token character offsets in the input,
        special-token mask, and the input string (prefix + NFC text)."""
        from assistant.model.e5onnx import _batches

        inputs = model_inputs(texts, PREFIX)
        encodings = self._tokenizer.encode_batch(inputs)
        ids = [e.ids for e in encodings]
        states: list[Any] = [None] * len(texts)
        for batch in _batches([len(i) for i in ids], self.base.batch_size):
            rows = [ids[i] for i in batch]
            width = max(len(r) for r in rows)
            input_ids = np.ones((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                input_ids[j, : len(r)] = r
                mask[j, : len(r)] = 1
            out = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            for j, i in enumerate(batch):
                states[i] = out[j, : len(ids[i])]
        return [(states[i], encodings[i].offsets, encodings[i].special_tokens_mask, inputs[i])
                for i in range(len(texts))]


def spell_map(text: str, pairs: tuple[tuple[str, str], ...]) -> tuple[str, list[tuple[int, int]]]:
    """spell_out's result and its insertions as (position in `text`, length)."""
    current, inserts = text, []
    for short, long in pairs:
        if long.lower() in current.lower():
            continue
        match = _use(short).search(current)
        if not match:
            continue
        added = f" ({long})"
        end, shift = match.end(), 0
        original = None
        for p, n in sorted(inserts):
            if p + shift + n <= end:
                shift += n
            elif p + shift < end:
                original = p
                break
        inserts.append((end - shift if original is None else original, len(added)))
        current = current[:end] + added + current[end:]
    return current, inserts


def _moved(offset: int, inserts: list[tuple[int, int]]) -> int:
    return offset + sum(n for p, n in inserts if p <= offset)


def sentence_rows(info: DocInfo, chunk: Chunk, offsets: list, special: list, text: str,
                  mode: str) -> list[list[int]] | None:
    """Each sentence's token rows within its chunk's pass; None when the spans cannot be
    placed (the passage text is not what was expected)."""
    nfc = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731
    context = " › ".join((info.title, *chunk.section))
    spelled, inserts = spell_map(chunk.text, chunk.abbreviations)
    if spelled != spell_out(chunk.text, chunk.abbreviations):
        return None
    head = len(PREFIX) + len(nfc(context)) + 1
    if text != PREFIX + nfc(f"{context}\n{spelled}"):
        return None
    spans = []
    for s in chunk.sentences:
        a = head + len(nfc(spelled[:_moved(s.start, inserts)]))
        b = head + len(nfc(spelled[:_moved(s.end, inserts)]))
        spans.append((a, b))
    own = [[j for j, (x, y) in enumerate(offsets) if not special[j] and y > x and x < b and y > a]
           for a, b in spans]
    if mode == "span":
        return own
    shared = [j for j, (x, y) in enumerate(offsets) if special[j] or (y > x and y <= head - 1)]
    plain = [" ".join(chunk.text[s.start:s.end].split()) for s in chunk.sentences]
    rows = []
    for i, s in enumerate(chunk.sentences):
        extra = []
        if s.lead and s.lead in plain:
            extra = own[plain.index(s.lead)]
        rows.append(sorted(set(shared) | set(extra) | set(own[i])) if own[i] else [])
    return rows


def late_vectors(info: DocInfo, chunks: Sequence[Chunk], embedder: Any, mode: str
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Chunk vectors and sentence vectors from one pass per chunk; sentences without tokens
    there (cut off at 512) are encoded on their own. Returns how many were."""
    states = embedder.token_states([embedding_module.passage_text(info, c) for c in chunks])
    chunk_vectors = normalise_rows(np.stack([h.mean(0) for h, *_ in states]))
    sentence_vectors, missing = [], []
    for chunk, (hidden, offsets, special, text) in zip(chunks, states, strict=True):
        rows = sentence_rows(info, chunk, offsets, special, text, mode)
        for i in range(len(chunk.sentences)):
            if rows is None or not rows[i]:
                missing.append((len(sentence_vectors),
                                embedding_module.sentence_text(info, chunk, i)))
                sentence_vectors.append(np.zeros(embedder.dim, dtype=np.float32))
            else:
                sentence_vectors.append(hidden[rows[i]].mean(0))
    out = normalise_rows(np.stack(sentence_vectors)) if sentence_vectors else np.zeros(
        (0, embedder.dim), dtype=np.float32)
    if missing:
        out[[i for i, _ in missing]] = embedder.passages([t for _, t in missing])
    return chunk_vectors, out, len(missing)


MISSING = {"sentences": 0, "separately": 0}


def install(mode: str) -> None:
    """Builds use the variant for any embedder that has a token graph (`late`)."""
    import assistant.index.builder as builder
    from assistant.index.storage import StoredDocument

    original = embedding_module.embed_document
    captured: dict[str, Any] = {}

    def passages_spy(embedder: Any) -> Any:
        class Spy:
            name, dim = embedder.name, embedder.dim

            def passages(self, texts: Sequence[str]) -> np.ndarray:
                captured["texts"] = list(texts)
                return np.zeros((len(texts), embedder.dim), dtype=np.float32)

        return Spy()

    def embed_document(path: Path, name: str, entry: Any, fingerprint: str, settings: Any,
                       embedder: Any) -> StoredDocument:
        if not getattr(embedder, "late", False):
            return original(path, name, entry, fingerprint, settings, embedder)
        # today's parse/repair/mask/chunk steps, with an encoder that encodes nothing
        stored = original(path, name, entry, fingerprint, settings, passages_spy(embedder))
        chunks, vectors, sentences, missing = stored.chunks, None, None, 0
        if chunks:
            vectors, sentences, missing = late_vectors(stored.info, chunks, embedder, mode)
        MISSING["sentences"] += sum(len(c.sentences) for c in chunks)
        MISSING["separately"] += missing
        return replace(stored, chunk_vectors=vectors if vectors is not None
                       else stored.chunk_vectors, sentence_vectors=sentences if
                       sentences is not None else stored.sentence_vectors)

    builder.embed_document = embed_document


def load(mode: str) -> tuple[Any, Any, Any]:
    """Settings, today's ONNX embedder, and the variant beside it (sharing the tokenizer)."""
    from assistant.config import load_settings
    from assistant.engine import configure_threads
    from assistant.model.embed import load_embedder

    settings = load_settings()
    configure_threads(settings)
    base = load_embedder(settings.model, settings.model_dir, settings.threads,
                         settings.batch_size, settings.encoder)
    graph = export_tokens(Path(settings.model_dir) / settings.model.replace("/", "--"), GRAPH)
    install(mode)
    return settings, base, LateEmbedder(base, graph, settings.threads)


def check(args: argparse.Namespace) -> None:
    """Pooling all tokens reproduces the chunk vector; how far late sentence vectors are from
    today's."""
    from assistant.index.chunking import chunk_document
    from assistant.index.embedding import passage_text, sentence_text
    from assistant.index.source import corpus_files
    from assistant.ingest import load_document
    from assistant.ingest.catalog import doc_info, read_catalog
    from assistant.lang.diacritics import repair_document

    _, base, late = load("span")
    corpus = args.corpus
    catalog = read_catalog(corpus)
    for name, path in corpus_files(corpus):
        document = repair_document(load_document(path, name))
        info = doc_info(document, catalog.get(name))
        chunks = chunk_document(document)[: args.chunks]
        from assistant.index.abbreviations import definitions, used
        from assistant.index.chunking import document_text

        defined = definitions(document_text(document))
        chunks = [replace(c, abbreviations=used(c.text, defined)) for c in chunks]
        today = base.passages([passage_text(info, c) for c in chunks])
        states = late.token_states([passage_text(info, c) for c in chunks])
        pooled = normalise_rows(np.stack([h.mean(0) for h, *_ in states]))
        chunk_cos = (today * pooled).sum(1)
        sentences = base.passages([sentence_text(info, c, i) for c in chunks
                                   for i in range(len(c.sentences))])
        row = {"doc": name, "chunks": len(chunks),
               "chunk_cos_min": round(float(chunk_cos.min()), 5),
               "spans_off": spans_off(info, chunks, states)}
        for mode in MODES:
            install(mode)
            _, vectors, missing = late_vectors(info, chunks, late, mode)
            cos = (vectors * sentences).sum(1)
            row[mode] = {"mean": round(float(cos.mean()), 3), "min": round(float(cos.min()), 3),
                         "separately": missing}
        print(json.dumps(row, ensure_ascii=False), flush=True)


def spans_off(info: DocInfo, chunks: Sequence[Chunk], states: list) -> int:
    """Sentences whose token span does not start and end with the sentence's own characters
    (a check that character offsets were mapped to the right tokens)."""
    off = 0
    for chunk, (_, offsets, special, text) in zip(chunks, states, strict=True):
        rows = sentence_rows(info, chunk, offsets, special, text, "span") or []
        for s, own in zip(chunk.sentences, rows, strict=True):
            covered = "".join(text[offsets[own[0]][0]:offsets[own[-1]][1]].split()) if own else ""
            words = "".join(chunk.text[s.start:s.end].split())
            off += not (covered[:6] == words[:6] and covered[-6:] == words[-6:])
    return off


def devsets(args: argparse.Namespace, rest: list[str]) -> int:
    """bench/devsets.py with the variant's embedder and its own cache folder."""
    import devsets as ds

    import assistant.model.embed as embed

    _, _, late = load(args.mode)
    original_name = ds.cache_name
    ds.cache_name = lambda settings: f"{original_name(settings)}--late-{args.mode}"
    embed.load_embedder = lambda *a, **k: late

    class Cached(ds.CachedQueries):
        late = True

        def token_states(self, texts: Sequence[str]) -> Any:
            return self.inner.token_states(texts)

    ds.CachedQueries = Cached
    sys.argv = ["bench/devsets.py", *rest]
    jsonl = REPO / "bench" / "results" / "devsets.jsonl"
    before = jsonl.read_text("utf-8").count("\n") if jsonl.exists() else 0
    code = ds.main()
    relabel(jsonl, before, args.mode)
    print(json.dumps({"mode": args.mode, **MISSING}), file=sys.stderr)
    return code


def relabel(jsonl: Path, before: int, mode: str) -> None:
    """devsets.py records its own command line; name the variant's instead, in the JSON lines
    this run appended."""
    plain = "bench/devsets.py "
    lines = jsonl.read_text("utf-8").splitlines(keepends=True)
    for i in range(before, len(lines)):
        record = json.loads(lines[i])
        record["command"] = record["command"].replace(
            plain, f"bench/late_chunking.py devsets --mode {mode} ")
        lines[i] = json.dumps(record, ensure_ascii=False) + "\n"
    jsonl.write_text("".join(lines), "utf-8")


def speed(args: argparse.Namespace) -> None:
    """Full builds, today's and the variant's taking turns (index_speed.build_once)."""
    import index_speed

    import assistant.model.e5onnx as e5onnx

    _, base, late = load(args.mode)

    class Counting(index_speed.Counting):
        def __init__(self, inner: Any) -> None:
            super().__init__(inner)
            self.late = getattr(inner, "late", False)
            self.tokens = 0

        def passages(self, texts: Any) -> Any:
            self.tokens += sum(len(e.ids) for e in
                               base._tokenizer.encode_batch(model_inputs(texts, PREFIX)))
            return super().passages(texts)

        def token_states(self, texts: Any) -> Any:
            started = time.perf_counter()
            try:
                states = self.inner.token_states(texts)
                return states
            finally:
                self.seconds += time.perf_counter() - started
                self.texts += len(texts)
                self.tokens += sum(len(s[0]) for s in states)

    if args.interleaved:
        interleaved(args.corpus, base, late, args.interleaved)
        return
    counters: list[Any] = []

    def counting(inner: Any) -> Any:
        counters.append(Counting(inner))
        return counters[-1]

    index_speed.Counting = counting
    for _ in range(args.rounds):
        variants = [("today", base, 32 * 128), (f"late-{args.mode}", late, 32 * 128)]
        if args.batch_tokens:  # today's build at smaller padded batches instead of the variant
            variants[1] = (f"today-batch-tokens-{args.batch_tokens}", base, args.batch_tokens)
        for label, embedder, batch_tokens in variants:
            e5onnx._BATCH_TOKENS = batch_tokens
            base.batch_size = max(1, batch_tokens // 128)
            load_average = os.getloadavg()[0]
            row = index_speed.build_once(args.corpus, "onnx", embedder)
            print(json.dumps({"variant": label, **row, "tokens": counters[-1].tokens,
                              "load_before": round(load_average, 2),
                              "load_after": round(os.getloadavg()[0], 2)}), flush=True)


def interleaved(corpus: Path, base: Any, late: Any, block: int) -> None:
    """Encoder seconds on the same chunks, today's (chunk texts, then their distinct sentence
    texts) and the variant's (chunk texts through the token graph) taking turns every `block`
    chunks, so that a change in the machine's load falls on both alike."""
    from assistant.index.abbreviations import definitions, used
    from assistant.index.chunking import chunk_document, document_text
    from assistant.index.embedding import passage_text, sentence_text
    from assistant.index.source import corpus_files
    from assistant.ingest import load_document
    from assistant.ingest.catalog import doc_info, read_catalog
    from assistant.lang.diacritics import repair_document

    catalog, units = read_catalog(corpus), []
    for name, path in corpus_files(corpus):
        document = repair_document(load_document(path, name))
        info = doc_info(document, catalog.get(name))
        defined = definitions(document_text(document))
        for c in chunk_document(document):
            c = replace(c, abbreviations=used(c.text, defined))
            units.append((passage_text(info, c),
                          [sentence_text(info, c, i) for i in range(len(c.sentences))]))
    seconds, tokens = {"today": 0.0, "late": 0.0}, {"today": 0, "late": 0}
    count = lambda texts: sum(len(e.ids) for e in  # noqa: E731
                              base._tokenizer.encode_batch(model_inputs(texts, PREFIX)))
    for start in range(0, len(units), block):
        part = units[start:start + block]
        chunks = [p for p, _ in part]
        sentences = list(dict.fromkeys(s for _, ss in part for s in ss))
        began = time.perf_counter()
        base.passages(chunks)
        base.passages(sentences)
        seconds["today"] += time.perf_counter() - began
        began = time.perf_counter()
        late.token_states(chunks)
        seconds["late"] += time.perf_counter() - began
        tokens["today"] += count(chunks) + count(sentences)
        tokens["late"] += count(chunks)
    print(json.dumps({"corpus": str(corpus), "chunks": len(units), "block": block,
                      "encode_s": {k: round(v, 1) for k, v in seconds.items()},
                      "tokens": tokens, "speedup": round(seconds["today"] / seconds["late"], 2),
                      "load": round(os.getloadavg()[0], 2)}), flush=True)


def batches(args: argparse.Namespace) -> None:
    """Today's encoder on the corpus's chunk texts and sentence texts apart, at several padded
    batch sizes, taking turns text block by text block (is the chunk pass's higher cost per
    token a batching cost?)."""
    from index_speed import corpus_texts

    import assistant.model.e5onnx as e5onnx

    _, base, _ = load("span")
    texts = corpus_texts(args.corpus)
    chunks = [t for t in texts if "\n" in t]
    sentences = [t for t in texts if "\n" not in t]
    sizes = (32 * 128, 16 * 128, 8 * 128)
    seconds = {(kind, size): 0.0 for kind in ("chunks", "sentences") for size in sizes}
    for kind, group in (("chunks", chunks), ("sentences", sentences)):
        for start in range(0, len(group), 64):
            for size in sizes:
                e5onnx._BATCH_TOKENS = size
                base.batch_size = max(1, size // 128)
                began = time.perf_counter()
                base.passages(group[start:start + 64])
                seconds[kind, size] += time.perf_counter() - began
    for (kind, size), spent in seconds.items():
        print(json.dumps({"texts": kind, "count": len(chunks if kind == "chunks" else sentences),
                          "batch_tokens": size, "batch_size": size // 128,
                          "encode_s": round(spent, 1), "load": round(os.getloadavg()[0], 2)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "devsets", "speed", "batches"))
    parser.add_argument("--mode", choices=MODES, default="ctx")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--chunks", type=int, default=12, help="check: chunks per document")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--interleaved", type=int, default=0, metavar="BLOCK",
                        help="speed: instead of builds, encoder seconds on the same chunks, "
                             "taking turns every BLOCK chunks")
    parser.add_argument("--batch-tokens", type=int, default=0,
                        help="speed: build today's way at this many padded tokens a batch "
                             "(and batch size tokens/128) instead of the variant")
    args, rest = parser.parse_known_args()
    if args.command == "check":
        check(args)
    elif args.command == "batches":
        batches(args)
    elif args.command == "devsets":
        return devsets(args, rest)
    else:
        speed(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
