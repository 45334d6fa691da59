"""The CLI over the tiny corpus with the fake embedder; the README stays in sync with --help."""

from __future__ import annotations

import argparse
import json

import pytest

from assistant.cli import build_parser, main
from assistant.config import Settings

from .conftest import REPO


@pytest.fixture
def cli_env(hash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("ASSISTANT_MODEL", "hash")
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(hash_settings.corpus_dir))
    return ["--index", str(hash_settings.index_dir)]


def test_index_summary_and_failures(cli_env: list[str], hash_settings: Settings,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (hash_settings.corpus_dir / "empty.pdf").write_bytes(b"")
    assert main(["index", *cli_env]) == 0
    out = capsys.readouterr().out
    assert "3 indexed, 0 unchanged, 0 removed, 1 failed" in out
    assert "failed: empty.pdf:" in out
    assert main(["index", *cli_env]) == 0
    assert "0 indexed, 3 unchanged" in capsys.readouterr().out


def test_index_progress_counts_every_byte_of_one_listing(
        cli_env: list[str], hash_settings: Settings, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.index import source

    listings = []
    real_listing = source._listing

    def counted(corpus_dir):  # type: ignore[no-untyped-def]
        listings.append(corpus_dir)
        return real_listing(corpus_dir)

    monkeypatch.setattr(source, "_listing", counted)
    assert main(["index", *cli_env]) == 0
    corpus_bytes = sum(p.stat().st_size for p in hash_settings.corpus_dir.iterdir()
                       if p.name != "catalog.json")
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()[-1]
    assert len(listings) == 1
    assert f"{corpus_bytes}/{corpus_bytes}" in bar.replace("B", "").replace(" ", "")


def test_search_json_one_line_per_query(cli_env: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    main(["index", *cli_env])
    capsys.readouterr()
    assert main(["search", "--json", "-k", "2", *cli_env, "boende", "survey municipalities"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["boende", "survey municipalities"]
    assert lines[0]["hits"][0]["doc"] == "housing.html"
    assert set(lines[0]["hits"][0]) >= {"doc", "title", "section", "page", "text", "score",
                                         "highlights"}


def test_errors_are_messages_not_tracebacks(cli_env: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", *cli_env, "anything"]) == 2
    assert "run `assistant index`" in capsys.readouterr().err


def test_readme_documents_every_command_and_option() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        assert f"assistant {name}" in readme, name
        for action in sub._actions:
            for option in action.option_strings:
                if option not in {"-h", "--help"}:
                    assert option in readme, f"{name} {option}"


def test_warnings_one_line_per_kind_unless_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.console import print_warnings

    problems = {f"scan-{i}.pdf": [f"page {p}: no text extracted — scanned?" for p in (2, 5)]
                for i in range(3)}
    problems["odd.pdf"] = ["damaged PDF, read anyway: bad xref at 123"]
    print_warnings(problems, verbose=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "  warning: 6× no text extracted — scanned? (3 files; --verbose lists them)",
        "  warning: damaged PDF, read anyway (odd.pdf; --verbose lists them)"]
    print_warnings(problems, verbose=True)
    assert len(capsys.readouterr().out.splitlines()) == 7


def test_third_party_progress_bars_and_warnings_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from assistant.console import quiet_third_parties

    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY"):
        monkeypatch.delenv(name, raising=False)
    quiet_third_parties()
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"


def test_ask_json_carries_the_plain_text(cli_env: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    main(["index", *cli_env])
    capsys.readouterr()
    assert main(["ask", "--json", *cli_env, "Vem betalar ut etableringsersättningen?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["plain_text"].startswith(answer["answer"].strip())
    for citation in answer["citations"]:
        assert f"[{citation['n']}] {citation['title']}" in answer["plain_text"]
        assert f"/api/documents/{citation['doc']}/file" in answer["plain_text"]


@pytest.mark.model
def test_index_with_the_real_model_shows_only_our_progress(converted, tiny_corpus, tmp_path):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ASSISTANT_", "HF_HUB_", "TRANSFORMERS_"))}
    env.update(ASSISTANT_MODEL_DIR=str(converted.parent), ASSISTANT_CORPUS_DIR=str(tiny_corpus))
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "index", "--index", str(tmp_path / "index")],
        env=env, capture_output=True, text=True, timeout=600, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert "3 indexed" in result.stdout
    assert "Loading weights" not in result.stderr
    others = [line for line in result.stderr.replace("\r", "\n").splitlines()
              if line.strip() and not line.startswith("indexing")]
    assert others == []


def test_search_group_json_is_the_api_shape(cli_env: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    main(["index", *cli_env])
    capsys.readouterr()
    assert main(["search", "--json", "--group", "-k", "5", *cli_env, "kommunerna boende"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert {"query", "hits", "groups", "facets", "sort"} <= set(line)
    docs = [g["doc"] for g in line["groups"]]
    assert len(docs) == len(set(docs)) == len({h["doc"] for h in line["hits"]})
    assert main(["search", "--group", *cli_env, "kommunerna boende"]) == 0
    assert capsys.readouterr().out.startswith("# kommunerna boende\n1. ")
