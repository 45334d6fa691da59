"""Hybrid search: fusion, filters, legs."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index
from assistant.ingest.catalog import CATALOG_FILE
from assistant.model.embed import HashEmbedder
from assistant.retrieval.fusion import FusionParams, fuse
from assistant.types import Filters


def test_fuse_weighted_rrf_with_stable_ties() -> None:
    params = FusionParams(rrf_k=1.0, weights=(1.0, 1.0, 2.0))
    fused = fuse({"dense": [3, 1], "sentence": [1], "lexical": [2]}, params)
    assert [(row, round(score, 3)) for row, score in fused] == [(2, 1.0), (1, 0.833), (3, 0.5)]
    tied = fuse({"dense": [3, 1], "sentence": [1, 3]}, params)
    assert [row for row, _ in tied] == [1, 3]
    lexical_only = fuse({"dense": [3, 1], "lexical": [2]}, params, weights=(0, 0, 1))
    assert [row for row, _ in lexical_only] == [2]  # a leg weighted 0 brings no rows


@pytest.fixture
def engine(hash_settings: Settings) -> Engine:
    (hash_settings.corpus_dir / CATALOG_FILE).write_text(
        '{"documents": {"report.txt": {"title": "Annual report", "type": "report", '
        '"year": 2021, "language": "en", "region": "Sweden"}}}', encoding="utf-8")
    build_index(hash_settings, HashEmbedder())
    return Engine(hash_settings, HashEmbedder())


@pytest.mark.parametrize(
    ("filters", "docs"),
    [
        (Filters(), {"ansvar.md", "report.txt", "housing.html"}),
        (Filters(type="report"), {"report.txt"}),
        (Filters(year=2021), {"report.txt"}),
        (Filters(language="sv"), {"ansvar.md", "housing.html"}),
        (Filters(doc="housing.html"), {"housing.html"}),
        (Filters(region="sweden"), {"report.txt"}),
        (Filters(type="strategy"), set()),
    ],
)
def test_filters(engine: Engine, filters: Filters, docs: set[str]) -> None:
    hits = engine.search(["kommuner boende rapport ersättning"], k=20, filters=filters)[0]
    assert {h.chunk.doc for h in hits} == docs


def test_lexical_leg_folds_diacritics(engine: Engine) -> None:
    hits = engine.search(["forsakringskassan etableringsersattning"], k=1)[0]
    assert hits[0].chunk.doc == "ansvar.md"
    assert hits[0].ranks["lexical"] == 1


def test_derived_metadata_for_uncatalogued_documents(engine: Engine) -> None:
    info = engine.reader.docs["ansvar.md"]
    assert info.title == "Ansvar för nyanlända"
    assert info.language == "sv"
    assert engine.reader.docs["report.txt"].title == "Annual report"


def test_loading_opens_the_index_beside_the_model_and_searches_from_any_thread(
        hash_settings: Settings) -> None:
    import threading

    build_index(hash_settings, HashEmbedder())
    loads: list[str] = []

    def load_model() -> HashEmbedder:
        loads.append(threading.current_thread().name)
        return HashEmbedder()

    engine = Engine(hash_settings, load_model=load_model)
    assert loads == []  # nothing loads before it is needed
    engine.load()
    assert loads == [threading.current_thread().name]
    hits = engine.search(["forsakringskassan etableringsersattning"], k=1)[0]
    assert hits[0].chunk.doc == "ansvar.md"  # the index a worker opened, read here
    assert loads == [threading.current_thread().name]
