"""Embedders: the hashing fake, and the sentence-transformers wrapper around a stand-in model."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelError
from assistant.model import e5convert, embed
from assistant.model.embed import HashEmbedder, SentenceTransformerEmbedder, load_embedder

DEFAULT = "intfloat/multilingual-e5-small"


def test_hash_embedder_is_deterministic_and_normalised() -> None:
    texts = ["Kommunen ansvarar för SFI.", "The county board", "", "!!!"]
    first, second = HashEmbedder().passages(texts), HashEmbedder().passages(texts)
    assert first.dtype == np.float32 and first.shape == (4, 64)
    assert np.array_equal(first, second)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)
    assert np.array_equal(HashEmbedder().queries(texts), first)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Försäkringskassan betalar ersättning", "FORSAKRINGSKASSAN betalar"),  # case, diacritics
        ("Återvandring och etablering", "aterVANDRING"),
        ("Kommunen ansvarar för SFI", "sfi i kommunen"),
    ],
)
def test_hash_embedder_shared_words_score_higher(a: str, b: str) -> None:
    vectors = HashEmbedder(dim=256).passages([a, b, "helt orelaterad mening om väder"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert vectors[0] @ vectors[1] > 0.3


def test_hash_embedder_folds_diacritics_and_nfd() -> None:
    nfd = unicodedata.normalize("NFD", "Älmhult")
    vectors = HashEmbedder().passages(["Älmhult", nfd, "almhult"])
    assert np.allclose(vectors[0], vectors[1]) and np.allclose(vectors[0], vectors[2])


def test_load_embedder_hash() -> None:
    embedder = load_embedder("hash", Path("unused"), threads=1)
    assert isinstance(embedder, HashEmbedder)
    assert embedder.name == "hash" and embedder.dim == 64


class FakeModel:
    """Stands in for a SentenceTransformer: records inputs, returns unnormalised float64 rows."""

    def __init__(self) -> None:
        self.inputs: list[str] = []

    def get_embedding_dimension(self) -> int:
        return 3

    def encode(self, texts, **kwargs) -> np.ndarray:
        self.inputs += texts
        return np.array([[len(t), 1.0, 2.0] for t in texts], dtype=np.float64)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int | None]]:
    """Replace model loading with FakeModel; returns the (path, device, threads) of each load."""
    calls: list[tuple[str, str, int | None]] = []

    def fake_load(path: str, device: str, threads: int | None) -> FakeModel:
        calls.append((path, device, threads))
        return FakeModel()

    monkeypatch.setattr(embed, "_load", fake_load)
    return calls


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the conversion with a recorder."""
    targets: list[Path] = []

    def fake_ensure(target: Path) -> Path:
        targets.append(target)
        return target

    monkeypatch.setattr(e5convert, "ensure_model", fake_ensure)
    return targets


def test_default_model_is_converted_under_model_dir(tmp_path: Path, loads, conversions) -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT, tmp_path, threads=2)
    assert conversions == [tmp_path / "intfloat--multilingual-e5-small"]
    assert loads == [(str(conversions[0]), "cpu", 2)]
    assert embedder.name == DEFAULT and embedder.dim == 3


def test_model_dir_may_already_be_the_converted_folder(tmp_path: Path, loads, conversions) -> None:
    SentenceTransformerEmbedder(DEFAULT, tmp_path / "intfloat--multilingual-e5-small")
    assert conversions == [tmp_path / "intfloat--multilingual-e5-small"]


def test_other_models_are_passed_through(tmp_path: Path, loads, conversions) -> None:
    embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", tmp_path)
    assert conversions == [] and loads[0][0] == "sentence-transformers/all-MiniLM-L6-v2"
    embedder.passages(["text"])
    assert embedder._model.inputs == ["text"]  # no e5 prefixes


def test_e5_prefixes_nfc_and_normalised_output(tmp_path: Path, loads, conversions) -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT, tmp_path)
    nfd = unicodedata.normalize("NFD", "Växjö")
    passages = embedder.passages([nfd, "b"])
    queries = embedder.queries(["fråga"])
    assert embedder._model.inputs == ["passage: Växjö", "passage: b", "query: fråga"]
    assert unicodedata.is_normalized("NFC", embedder._model.inputs[0])
    for vectors in (passages, queries):
        assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert embedder.passages([]).shape == (0, 3)


def test_explicit_prefixes_override(tmp_path: Path, loads) -> None:
    embedder = SentenceTransformerEmbedder("my/e5-like", tmp_path, prefixes=("Q: ", "P: "))
    embedder.queries(["x"])
    embedder.passages(["y"])
    assert embedder._model.inputs == ["Q: x", "P: y"]


@pytest.mark.model  # imports torch and sentence-transformers
def test_unloadable_model_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"), tmp_path)


def test_import_is_light() -> None:
    code = (
        "import sys, assistant.model.embed, assistant.model.e5convert, assistant.model.e5export, "
        "assistant.model.e5onnx; "
        "print(sorted({'torch', 'faiss', 'sentence_transformers', 'transformers', 'tokenizers'}"
        " & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=root, check=True)
    assert result.stdout.strip() == "[]"
