"""Swedish compounds in the lexical leg: splitting, hyphenated first parts, and matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.engine import Engine
from assistant.index.builder import build_index
from assistant.lang.compounds import compound_terms, join_hyphens, joined_words, split
from assistant.model.embed import HashEmbedder
from assistant.retrieval.fusion import FusionParams


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("etableringsersattning", ("etablering", "ersattning")),
        ("etableringsersattningen", ("etablering", "ersattningen")),  # inflected head
        ("samhallsorientering", ("samhalle", "orientering")),  # linking s after a dropped e
        ("arbetsmarknaden", ("arbete", "marknaden")),
        ("integrationscenter", ("integration", "center")),
        ("kommunerna", ()),  # an ending, not a part
        ("foreningen", ()),  # "foren" + "ingen": a part rarer than the word
        ("tillvaxten", ()),  # a particle prefix is no part
        ("forskola", ()),  # parts of three letters are not taken
        ("ersattning", ()),
        ("2019", ()),
    ],
)
def test_split(word: str, parts: tuple[str, ...]) -> None:
    assert split(word) == parts


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("etablerings- ersattning", "etableringsersattning"),
        ("etablerings- och ersattning", "etableringsersattning och ersattning"),
        ("halso- och sjukvard", "halsovard och sjukvard"),  # the shared second part
        ("integrations- och utbildningscenter", "integrationscenter och utbildningscenter"),
        ("asyl- eller etableringsinsatser", "asylinsatser eller etableringsinsatser"),
        ("bostader - ersattning", "bostader - ersattning"),  # a dash, not a hyphen
        ("2019- 2024", "2019- 2024"),
        ("37a- samt tidiga", "37a- samt tidiga"),
        ("etablerings-ersattning", "etablerings-ersattning"),  # tokenised as two words already
    ],
)
def test_join_hyphens(text: str, joined: str) -> None:
    assert join_hyphens(text) == joined


def test_compound_terms_hold_joins_and_parts() -> None:
    text = "hon fick etablerings- och ersattning och etableringsersattningen"
    assert joined_words(text) == ["etableringsersattning"]
    assert compound_terms(text) == ["etableringsersattning", "etablering", "ersattningen",
                                    "ersattning"]


DOCUMENTS = {
    "compound.md": "Försäkringskassan betalar ut etableringsersättningen varje månad.",
    "separate.md": "Den som deltar i programmet får ersättning vid etablering.",
    "spaced.md": "Beslut om etablerings- ersättning fattas av handläggaren.",
    "shared.md": "Regionen ansvarar för hälso- och sjukvård för asylsökande.",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root: Path = tmp_path_factory.mktemp("compounds")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(f"# {name}\n\n{text}\n", encoding="utf-8")
    settings = load_settings(env={}, corpus_dir=corpus, index_dir=root / "index", model="hash",
                             model_dir=root / "models")
    build_index(settings, HashEmbedder())
    # every word of the question: in four passages, the parts of a compound are too common
    # for the default share (legs.distinctive), and these tests are about finding them
    return Engine(settings, HashEmbedder(), params=FusionParams(lexical_share=None))


ALL = {"compound.md", "separate.md", "spaced.md"}


@pytest.mark.parametrize(
    ("query", "docs"),
    [
        ("ersättning", ALL),  # a part inside a compound
        ("etableringsersättning", ALL),  # the parts apart, and a spaced compound
        ("etablerings- ersättning", ALL),
        ("etablerings- och ersättning", ALL),
        ("hälsovård", {"shared.md"}),  # "hälso- och sjukvård" at index time
    ],
)
def test_lexical_leg_matches_compounds(engine: Engine, query: str, docs: set[str]) -> None:
    hits = engine.search([query], k=10)[0]
    assert {h.chunk.doc for h in hits if "lexical" in h.ranks} == docs

