"""The ONNX Runtime encoder (fp32 by default, int8 opt-in): batching, prefixes and order with a
fake session, then the real exports against the sentence-transformers model, and a serving process
without torch."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError
from assistant.index.builder import build_fingerprint
from assistant.model import e5export, e5onnx, embed
from assistant.model.e5onnx import OnnxEmbedder, _batches
from assistant.model.embed import encoder_kind, load_embedder, onnx_dir

DEFAULT = "intfloat/multilingual-e5-small"
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("model", "encoder", "kind"),
    [
        (DEFAULT, "auto", "onnx"),
        (DEFAULT, "onnx", "onnx"),
        (DEFAULT, "onnx-int8", "onnx-int8"),
        (DEFAULT, "sentence-transformers", "sentence-transformers"),
        ("my/model", "auto", "sentence-transformers"),
        ("my/model", "sentence-transformers", "sentence-transformers"),
        ("hash", "onnx", "hash"),
    ],
)
def test_encoder_kind(model: str, encoder: str, kind: str) -> None:
    assert encoder_kind(model, encoder) == kind


@pytest.mark.parametrize("encoder", ["onnx", "onnx-int8"])
def test_onnx_for_another_model_is_a_config_error(encoder: str) -> None:
    with pytest.raises(ConfigError, match="ONNX encoder"):
        encoder_kind("my/model", encoder)


def test_encoder_setting_is_checked() -> None:
    assert load_settings(env={"ASSISTANT_ENCODER": "ONNX"}).encoder == "onnx"
    assert load_settings(env={"ASSISTANT_ENCODER": "onnx-INT8"}).encoder == "onnx-int8"
    with pytest.raises(ConfigError, match="encoder"):
        load_settings(env={"ASSISTANT_ENCODER": "gpu"})


def test_fp32_onnx_reuses_sentence_transformers_indexes_but_int8_does_not() -> None:
    fingerprint = {e: build_fingerprint(load_settings(env={"ASSISTANT_ENCODER": e}))
                   for e in ("auto", "onnx", "onnx-int8", "sentence-transformers")}
    assert fingerprint["auto"] == fingerprint["onnx"] == fingerprint["sentence-transformers"]
    assert "encoder" not in fingerprint["onnx"]
    assert fingerprint["onnx-int8"] == {**fingerprint["onnx"], "encoder": "onnx-int8"}


def test_onnx_folder_sits_beside_the_converted_one(tmp_path: Path) -> None:
    beside = tmp_path / "intfloat--multilingual-e5-small-onnx"
    assert onnx_dir(tmp_path) == beside
    assert onnx_dir(tmp_path / "intfloat--multilingual-e5-small") == beside


@pytest.mark.parametrize(
    ("lengths", "size", "tokens", "expected"),
    [
        ([], 2, 512, []),
        ([3], 2, 512, [[0]]),
        ([2, 9, 4, 9], 2, 512, [[1, 3], [2, 0]]),  # longest first, ties in input order
        ([5, 5, 5], 8, 10, [[0, 1], [2]]),  # padded tokens: rows times the longest row
        ([9, 2, 2, 2], 8, 20, [[0, 1], [2, 3]]),  # the longest row sets the batch's width
        ([4000, 10, 4000], 8, 512, [[0], [2], [1]]),  # a row longer than the budget: alone
        ([10] * 5, 2, 512, [[0, 1], [2, 3], [4]]),  # batch_size caps short rows
    ],
)
def test_batches_hold_at_most_size_rows_and_the_token_budget(lengths, size, tokens,
                                                             expected) -> None:
    assert _batches(lengths, size, tokens) == expected


def test_default_batches_of_chunk_length_texts_are_small() -> None:
    # 200-token chunks go two at a time under the default budget (bench/RESULTS.md)
    assert _batches([200] * 5, 32) == [[0, 1], [2, 3], [4]]


class FakeEncoding:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids


class FakeTokenizer:
    """One id per character, between <s> (0) and </s> (2); records what it was given."""

    def __init__(self) -> None:
        self.inputs: list[str] = []

    def encode_batch(self, texts: list[str]) -> list[FakeEncoding]:
        self.inputs += texts
        return [FakeEncoding([0, *(ord(c) for c in t), 2]) for t in texts]


class FakeSession:
    """Rows [unmasked tokens, sum of unmasked ids, 1]; records each batch's shape."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def get_outputs(self):  # type: ignore[no-untyped-def]
        class Output:
            shape = ["batch", 3]
        return [Output()]

    def run(self, _names, feeds):  # type: ignore[no-untyped-def]
        ids, mask = feeds["input_ids"], feeds["attention_mask"]
        self.shapes.append(ids.shape)
        assert ids.dtype == np.int64 and np.all(ids[mask == 0] == 1)  # padded with <pad>
        return [np.stack([mask.sum(1), (ids * mask).sum(1), np.ones(len(ids))], 1)]


@pytest.fixture
def fake_onnx(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeSession, FakeTokenizer]:
    session, tokenizer = FakeSession(), FakeTokenizer()
    monkeypatch.setattr(e5onnx, "_session", lambda path, threads: session)
    monkeypatch.setattr(e5onnx, "_tokenizer", lambda path: tokenizer)
    return session, tokenizer


def test_rows_come_back_in_input_order_prefixed_nfc_and_normalised(fake_onnx) -> None:
    session, tokenizer = fake_onnx
    embedder = OnnxEmbedder(Path("unused"), DEFAULT, batch_size=2, batch_tokens=40)
    texts = ["ab", unicodedata.normalize("NFD", "Växjö"), "a", "abcdef", "abc"]
    vectors = embedder.passages(texts)
    assert tokenizer.inputs == ["passage: " + unicodedata.normalize("NFC", t) for t in texts]
    expected = np.array([[len(t) + 2, sum(map(ord, t)) + 2, 1.0] for t in tokenizer.inputs])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
    assert np.allclose(vectors, expected)
    assert [s[1] for s in session.shapes] == [17, 14, 12]  # sorted by length: little padding
    assert embedder.queries(["x"]).shape == (1, 3) and tokenizer.inputs[-1] == "query: x"
    assert embedder.passages([]).shape == (0, 3)


def test_batches_side_by_side_give_the_same_rows_on_one_thread_sessions(monkeypatch) -> None:
    sessions: list[tuple[FakeSession, int | None]] = []

    def session(path: Path, threads: int | None) -> FakeSession:
        sessions.append((FakeSession(), threads))
        return sessions[-1][0]

    monkeypatch.setattr(e5onnx, "_session", session)
    monkeypatch.setattr(e5onnx, "_tokenizer", lambda path: FakeTokenizer())
    texts = ["ab" * n for n in range(1, 40)]
    alone = OnnxEmbedder(Path("unused"), DEFAULT, threads=2, batch_tokens=64)
    together = OnnxEmbedder(Path("unused"), DEFAULT, threads=2, batch_tokens=64,
                            side_by_side=True)
    assert np.array_equal(alone.passages(texts), together.passages(texts))
    assert [threads for _, threads in sessions] == [2, 1]  # side by side: one thread each
    shapes = [sorted(s.shapes) for s, _ in sessions]  # side by side: in any order
    assert len(shapes[1]) > 1 and shapes[0] == shapes[1]


def test_load_embedder_picks_the_encoder(tmp_path: Path, monkeypatch, fake_onnx) -> None:
    exports: list[tuple[Path, Path, bool]] = []
    monkeypatch.setattr(e5export, "ensure_onnx", lambda t, c, i: exports.append((t, c, i)) or t)
    graphs: list[str] = []
    monkeypatch.setattr(e5onnx, "_session", lambda path, threads: graphs.append(path.name)
                        or fake_onnx[0])
    embedder = load_embedder(DEFAULT, tmp_path, threads=2)
    assert isinstance(embedder, OnnxEmbedder) and embedder.name == DEFAULT
    load_embedder(DEFAULT, tmp_path, encoder="onnx-int8")
    converted = tmp_path / "intfloat--multilingual-e5-small"
    assert exports == [(onnx_dir(tmp_path), converted, False),
                       (onnx_dir(tmp_path), converted, True)]
    assert graphs == ["model.onnx", "model_int8.onnx"]
    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", lambda *a, **k: "torch")
    assert load_embedder(DEFAULT, tmp_path, encoder="sentence-transformers") == "torch"


def test_ensure_onnx_exports_only_when_needed(tmp_path: Path, monkeypatch) -> None:
    converted, target = tmp_path / "conv", tmp_path / "conv-onnx"
    converted.mkdir()
    (converted / "e5convert.json").write_text('{"format": 1}')
    monkeypatch.setattr(e5export, "ensure_model", lambda c: c)
    done: list[Path] = []

    def fake_export(conv: Path, tgt: Path) -> Path:
        done.append(tgt)
        tgt.mkdir(exist_ok=True)
        for name in (e5export.MODEL_FILE, e5export.TOKENIZER_FILE):
            (tgt / name).write_bytes(b"x")
        stamp = e5export._source_stamp(conv)
        (tgt / e5export.MARKER).write_text(json.dumps({"format": e5export.FORMAT,
                                                      "source": stamp}))
        return tgt

    def fake_quantise(fp32: Path, int8: Path) -> None:
        assert fp32 == target / e5export.MODEL_FILE and int8.parent == target
        assert not (target / e5export.INT8_FILE).exists()  # written aside, renamed when done
        int8.write_bytes(b"int8")
        done.append(int8)

    monkeypatch.setattr(e5export, "export", fake_export)
    monkeypatch.setattr(e5export, "_quantise", fake_quantise)
    e5export.ensure_onnx(target, converted)
    e5export.ensure_onnx(target, converted)
    assert done == [target]  # fp32 once; no int8 unless asked
    e5export.ensure_onnx(target, converted, int8=True)
    e5export.ensure_onnx(target, converted, int8=True)
    assert len(done) == 2 and (target / e5export.INT8_FILE).read_bytes() == b"int8"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [e5export.MARKER, e5export.INT8_FILE, e5export.MODEL_FILE, e5export.TOKENIZER_FILE])
    (converted / "e5convert.json").write_text('{"format": 1, "dtype": "float32"}')  # reconverted
    e5export.ensure_onnx(target, converted)
    assert done[2:] == [target]


QUERIES = ["Vem betalar etableringsersättning?", "Who pays establishment benefit?", "SFI"]


@pytest.mark.model
def test_fp32_gives_sentence_transformers_vectors(onnx_embedder, embedder) -> None:
    from tests.test_e5convert import corpus_passages

    passages = corpus_passages()[::3]
    cosines = np.sum(onnx_embedder.passages(passages) * embedder.passages(passages), axis=1)
    assert cosines.min() >= 0.9999  # float noise: an index built by either serves the other
    queries = np.sum(onnx_embedder.queries(QUERIES) * embedder.queries(QUERIES), axis=1)
    assert queries.min() >= 0.9999


@pytest.mark.model
def test_int8_is_close_but_not_the_same(onnx_embedder, embedder, converted) -> None:
    from tests.test_e5convert import corpus_passages

    int8 = load_embedder(DEFAULT, converted.parent, threads=2, encoder="onnx-int8")
    passages = corpus_passages()[::3]
    cosines = np.sum(int8.passages(passages) * embedder.passages(passages), axis=1)
    assert cosines.min() >= 0.99 and cosines.mean() >= 0.993
    assert cosines.mean() < 0.9999  # why int8 indexes carry their own fingerprint
    assert np.sum(int8.queries(QUERIES) * embedder.queries(QUERIES), axis=1).min() >= 0.98


SERVE = """
import json, sys
from pathlib import Path
from assistant.api.app import create_app
from assistant.config import load_settings
from assistant.engine import Engine
from assistant.index.builder import build_index
settings = load_settings()
build_index(settings, Engine(settings).embedder)
create_app(settings)
hits = Engine(settings).search(["Vem betalar etableringsersättning?"], k=1)
print(json.dumps([hits[0][0].chunk.doc, sorted(m for m in
      ("torch", "transformers", "sentence_transformers") if m in sys.modules)]))
"""


@pytest.mark.model
def test_indexing_and_serving_import_no_torch(tmp_path: Path, onnx_embedder, converted) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ersattning.md").write_text(
        "# Ersättning\n\nFörsäkringskassan betalar ut etableringsersättning till nyanlända.\n",
        encoding="utf-8")
    (corpus / "sfi.md").write_text("# SFI\n\nKommunen erbjuder svenska för invandrare.\n",
                                   encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE",
           "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
           "ASSISTANT_MODEL_DIR": str(converted.parent)}
    done = subprocess.run([sys.executable, "-c", SERVE], env=env, capture_output=True,
                          text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["ersattning.md", []]
