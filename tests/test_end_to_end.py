"""The real corpus, the real model: index, search from the CLI, and the evaluation bar."""

from __future__ import annotations

import json

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.engine import Engine
from assistant.evaluate import Gold, first_match, read_questions

from .conftest import SHARED_EVAL

pytestmark = pytest.mark.model

EST_BENEFIT_GOLD = "Forsakringskassan betalar ut etableringsersattningen"


def _benefit_rank(engine: Engine) -> int | None:
    hits = engine.search(["Who pays establishment benefit?"], k=10)[0]
    gold = [Gold("blekinge-integrationsstrategi-2023-2026.txt", EST_BENEFIT_GOLD)]
    return first_match(hits, gold)


def test_establishment_benefit_found_in_top_10(real_engine: Engine) -> None:
    rank = _benefit_rank(real_engine)
    assert rank is not None and rank <= 10


def test_establishment_benefit_found_in_top_3(real_engine: Engine) -> None:
    rank = _benefit_rank(real_engine)
    assert rank is not None and rank <= 3


def test_cli_search_json_and_eval(real_settings: Settings, real_engine: Engine,
                                  capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL_DIR", str(real_settings.model_dir))
    common = ["--index", str(real_settings.index_dir)]
    assert main(["search", "--json", "-k", "2", *common, "vem betalar etableringsersättning",
                 "Växjömentor"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["query"] == "vem betalar etableringsersättning"
    hit = first["hits"][0]
    assert {"doc", "title", "section", "page", "text", "score", "highlights"} <= set(hit)
    assert json.loads(lines[1])["hits"][0]["doc"] == "kronoberg-sok-rapport-2019-2024.md"

    if SHARED_EVAL.exists():
        assert main(["eval", "--json", *common, str(SHARED_EVAL)]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["metrics"]["overall"]["n"] == len(
            [q for q in read_questions(SHARED_EVAL) if q.answerable])
        # Issue 5's bar on the dev questions (above issue 2's); a drop below it is a
        # retrieval regression.
        overall, xling = report["metrics"]["overall"], report["metrics"]["xling"]
        assert overall["R@1"] >= 0.75 and overall["R@5"] >= 0.95
        assert overall["MRR@10"] >= 0.85 and xling["R@5"] >= 0.90
        ranks = {q["id"]: q["rank"] for q in report["questions"]}
        assert ranks["est-benefit-en"] == 1  # "Who pays establishment benefit?"
