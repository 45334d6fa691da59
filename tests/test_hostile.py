"""Hostile and broken documents: each is reported with its reason, good files still index."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time
import zlib
from pathlib import Path

import pytest
from fpdf import FPDF

from assistant.config import Settings, load_settings
from assistant.errors import IngestError
from assistant.index.builder import BuildReport, build_index
from assistant.index.commits import open_commit
from assistant.index.store import open_store
from assistant.ingest import sandbox
from assistant.ingest.sandbox import _exit_reason, _from_json, load_isolated
from assistant.model.embed import HashEmbedder

DATA = Path(__file__).parent / "data"
GOOD = ["good.pdf", "sample.html", "sample.md", "sample.txt", "script.html"]
MEMORY_MB = 256  # low, so that the bombs hit it quickly
SCRIPT_MARK = "SKRIPTTEXT"

# file name → what its failure reason must say
FAILS = {
    "empty.pdf": "the file is empty",
    "empty.txt": "no usable text found in the file",
    "random.pdf": "no %PDF header",
    "random-header.pdf": "not a valid PDF",
    "encrypted.pdf": "password-protected",
    "cycle.pdf": "cyclic page references",
    "bomb.pdf": f"more than {MEMORY_MB} MB of memory",
    "array-bomb.pdf": "output bytes",
    "huge.txt": f"more than {MEMORY_MB} MB of memory",
    "nested.html": "nested too deeply",
    "scan.pdf": "no text extracted from any of its 2 page(s)",
    "script-only.html": "no usable text found",
}
# indexed, but with the damage noted among the document's problems
NOTED = {
    "invalid-utf8.txt": "invalid UTF-8",
    "broken-xref.pdf": "damaged PDF, read anyway",
}
# cut short: pypdf may recover some pages or give up; either way it must be reported
EITHER = {"truncated.pdf"}

PAGE_TEXTS = [
    "Kommunerna ska erbjuda svenska för invandrare och samhällsorientering till nyanlända.",
    "Försäkringskassan betalar ut etableringsersättningen som Arbetsförmedlingen beslutat om.",
    "Länsstyrelsen samordnar uppföljningen och återrapporterar till regeringen varje år.",
]


def _pdf(pages: list[str | None]) -> bytes:
    pdf = FPDF()
    for text in pages:
        pdf.add_page()
        if text:
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(170, 6, text)
    return bytes(pdf.output())


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF made of the given object bodies (object 1 is the catalog), with a correct xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _one_page(contents: bytes, stream: bytes) -> bytes:
    """A one-page PDF whose /Contents is `contents`, with `stream` as object 4."""
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents " + contents
        + b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def _break_xref(pdf: bytes) -> bytes:
    """Shift every xref offset and point startxref nowhere; the objects themselves are intact."""
    head, _, tail = pdf.rpartition(b"\nxref\n")
    tail = re.sub(rb"(?m)^(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m[1]) + 7), tail)
    tail = re.sub(rb"startxref\n\d+", b"startxref\n999999", tail)
    return head + b"\nxref\n" + tail


def write_hostile_files(corpus: Path) -> None:
    """The bad files of the issue, plus a good PDF and an HTML page full of script."""
    rng = random.Random(6)
    whole = _pdf(list(PAGE_TEXTS))
    files = {
        "good.pdf": _pdf(PAGE_TEXTS[:2]),
        "empty.pdf": b"",
        "empty.txt": b"",
        "truncated.pdf": whole[: len(whole) // 2],
        "random.pdf": rng.randbytes(20_000),
        "random-header.pdf": b"%PDF-1.4\n" + rng.randbytes(20_000),
        "broken-xref.pdf": _break_xref(whole),
        "cycle.pdf": _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]),
        # 68 KB that inflate to a 70 MB content stream of text operators
        "bomb.pdf": _one_page(b"4 0 R", zlib.compress(
            b"BT /F1 12 Tf (" + b"A " * 35_000_000 + b") Tj ET", 9)),
        # one 60 MB stream referenced 40 times: pypdf's own output cap stops it
        "array-bomb.pdf": _one_page(b"[" + b"4 0 R " * 40 + b"]", zlib.compress(
            b"BT /F1 12 Tf (" + b"A" * 60_000_000 + b") Tj ET", 9)),
        "huge.txt": b"ord " * 5_000_000,
        "scan.pdf": _pdf([None, None]),
        "invalid-utf8.txt": "Bosättning av nyanlända i kommunerna. ".encode()
        + b"\xff\xfe\xc3(" + " Kommunen ansvarar för mottagandet.\n".encode(),
        "script.html": (
            f"<html><head><script>var s = '{SCRIPT_MARK}';</script></head><body>"
            + f"<script>document.write('{SCRIPT_MARK}')</script><style>p{{}}</style>" * 5000
            + f"<p onclick=\"alert('{SCRIPT_MARK}')\">Styrgruppen tog beslut om boende för "
            f"nyanlända.</p><noscript>{SCRIPT_MARK}</noscript></body></html>").encode(),
        "script-only.html": ("<html><body>" + f"<script>x('{SCRIPT_MARK}')</script>" * 1000
                             + "</body></html>").encode(),
        "nested.html": ("<div>" * 5000 + "djup text" + "</div>" * 5000).encode(),
    }
    encrypted = FPDF()
    encrypted.add_page()
    encrypted.set_font("Helvetica", size=11)
    encrypted.cell(0, 5, "Sekretess")
    encrypted.set_encryption(owner_password="ägare", user_password="hemligt")
    files["encrypted.pdf"] = bytes(encrypted.output())
    for name, data in files.items():
        (corpus / name).write_bytes(data)


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, BuildReport]:
    """One build of the sample files with every hostile file beside them (once: the bombs)."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in ("sample.html", "sample.md", "sample.txt"):
        (corpus / name).write_bytes((DATA / name).read_bytes())
    write_hostile_files(corpus)
    settings = load_settings(env={}, corpus_dir=corpus, index_dir=root / "index", model="hash",
                             parse_timeout_s=60, parse_memory_mb=MEMORY_MB)
    return settings, build_index(settings, HashEmbedder())


@pytest.mark.slow  # one build of every hostile file: about 9 s
def test_every_good_file_is_indexed(hostile_build: tuple[Settings, BuildReport]) -> None:
    _, report = hostile_build
    assert sorted(report.indexed) == sorted([*GOOD, *NOTED, *(EITHER - set(report.failed))])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAILS))
def test_bad_file_is_reported_with_its_reason(
    hostile_build: tuple[Settings, BuildReport], name: str,
) -> None:
    _, report = hostile_build
    assert name in report.failed, f"{name} was not reported: {report.problems.get(name)}"
    assert FAILS[name] in report.failed[name]
    assert report.failed[name].startswith(f"{name}: ")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NOTED))
def test_damage_that_could_be_read_is_noted(
    hostile_build: tuple[Settings, BuildReport], name: str,
) -> None:
    _, report = hostile_build
    assert any(NOTED[name] in p for p in report.problems[name])


@pytest.mark.slow  # one build of every hostile file: about 9 s
def test_truncated_pdf_is_reported_either_way(hostile_build: tuple[Settings, BuildReport]) -> None:
    _, report = hostile_build
    assert "truncated.pdf" in report.failed or report.problems.get("truncated.pdf")


@pytest.mark.slow  # one build of every hostile file: about 9 s
def test_index_holds_the_good_text_and_no_script(
    hostile_build: tuple[Settings, BuildReport],
) -> None:
    settings, _ = hostile_build
    reader = open_store(settings.index_dir)
    try:
        texts = {doc: " ".join(c.text for c in reader.stored(doc).chunks) for doc in reader.docs}
    finally:
        reader.close()
    assert sorted(texts) == sorted([*GOOD, *NOTED, *(set(texts) & EITHER)])
    assert "Styrgruppen tog beslut om boende" in texts["script.html"]
    assert not any(SCRIPT_MARK in text for text in texts.values())
    assert "Försäkringskassan betalar ut" in texts["good.pdf"]
    assert "Länsstyrelsen samordnar" in texts["broken-xref.pdf"]


@pytest.mark.slow  # one build of every hostile file: about 9 s
def test_failures_are_listed_in_the_commit(hostile_build: tuple[Settings, BuildReport]) -> None:
    settings, report = hostile_build
    _, body = open_commit(settings.index_dir)
    assert body["failed"] == report.failed


def test_timeout_kills_the_parser(tmp_path: Path) -> None:
    path = tmp_path / "slow.txt"
    path.write_bytes(b"ord " * 5_000_000)  # about 40 s to parse without a memory limit
    with pytest.raises(IngestError, match=r"slow.txt: parsing took longer than 1 s"):
        load_isolated(path, "slow.txt", timeout_s=1, memory_mb=0)


def test_isolated_parse_equals_in_process_parse() -> None:
    from assistant.ingest import load_document

    for name in ("sample.md", "sample.html", "sample.txt"):
        path = DATA / name
        assert load_isolated(path, name, 30, 512) == load_document(path, name)


@pytest.mark.parametrize(
    "reply",
    [
        {"doc": "x", "title": None, "pages": None, "problems": [], "blocks": [[1, None, [], "x"]]},
        {"doc": "x", "title": None, "pages": None, "problems": [],
         "blocks": [["t", "2", [], "paragraph"]]},
        {"doc": "x", "title": 3, "pages": None, "problems": [], "blocks": []},
        {"doc": "x", "title": None, "pages": None, "problems": [None], "blocks": []},
        {"doc": "x", "title": None, "pages": None, "blocks": []},
    ],
)
def test_malformed_child_output_is_rejected(reply: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        _from_json(reply)


@pytest.mark.parametrize(
    ("code", "words"),
    [(-9, "killed by SIGKILL"), (-24, "killed by SIGXCPU"), (1, "exit status 1"),
     (-200, "killed by signal 200")],
)
def test_exit_reasons(code: int, words: str) -> None:
    assert _exit_reason(code) == words


@pytest.mark.parametrize(
    ("env", "timeout", "memory"),
    [({}, 120, 1024),
     ({"ASSISTANT_PARSE_TIMEOUT_S": "5", "ASSISTANT_PARSE_MEMORY_MB": "0"}, 5, 0)],
)
def test_parse_limit_settings(env: dict[str, str], timeout: int, memory: int) -> None:
    settings = load_settings(env=env)
    assert (settings.parse_timeout_s, settings.parse_memory_mb) == (timeout, memory)


def _crash(request: dict[str, object]) -> bytes:
    import faulthandler

    faulthandler.disable()  # pytest's handler would print this deliberate crash as if real
    os.kill(os.getpid(), signal.SIGSEGV)
    return b""


def _hang(request: dict[str, object]) -> bytes:
    time.sleep(30)
    return b""


@pytest.mark.parametrize(
    ("parse", "reason"),
    [(_crash, "x.txt: the parser process died (killed by SIGSEGV)"),
     (_hang, "x.txt: parsing took longer than 1 s")],
)
def test_a_child_that_crashes_or_hangs_is_reported(
    monkeypatch: pytest.MonkeyPatch, parse: object, reason: str,
) -> None:
    monkeypatch.setattr(sandbox, "_parse", parse)
    reply = json.loads(sandbox._fork_and_parse({"doc": "x.txt", "timeout_s": 1}))
    assert reply["status"] == "error"
    assert reply["reason"].startswith(reason)


def test_a_dead_helper_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Kommunen ansvarar för mottagandet.\n", encoding="utf-8")
    first = load_isolated(path, "a.txt", 10, 256)
    sandbox._helper().process.kill()
    assert load_isolated(path, "a.txt", 10, 256) == first


# --- inputs the fuzzer (bench/fuzz_loaders.py) found ------------------------------------------


def test_html_the_parser_rejects_is_an_ingest_error() -> None:
    from assistant.ingest import html

    with pytest.raises(IngestError, match=r"^x.html: not valid HTML: "):
        html.parse(b"<html><body><p>Text</p><![ OCTYPE", "x.html")


def test_pdf_with_an_unknown_filter_is_a_page_problem() -> None:
    from assistant.ingest import pdf

    data = _one_page(b"4 0 R", zlib.compress(b"BT /F1 12 Tf (Text) Tj ET")).replace(
        b"/Filter /FlateDecode", b"/Filter /FlateDec")
    document = pdf.parse(data, "x.pdf")
    assert document.blocks == ()
    assert document.problems[0].startswith("page 1: text extraction failed (")


def test_an_unchanged_failed_file_is_not_parsed_again(hash_settings: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.index.embedding as indexer

    parsed: list[str] = []
    real = indexer.load_isolated

    def counting(path, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(name)
        return real(path, name, *args, **kwargs)

    monkeypatch.setattr(indexer, "load_isolated", counting)
    bad = hash_settings.corpus_dir / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n garbage, no objects, no xref")
    first = build_index(hash_settings, HashEmbedder())
    assert "broken.pdf" in first.failed and "broken.pdf" in parsed
    parsed.clear()
    second = build_index(hash_settings, HashEmbedder())
    assert second.failed == first.failed  # reported again, with the same reason
    assert parsed == [] and second.generation == first.generation  # nothing parsed or rebuilt
    bad.write_bytes(b"%PDF-1.7\n other garbage")
    build_index(hash_settings, HashEmbedder())
    assert parsed == ["broken.pdf"]  # a changed file is tried again
    parsed.clear()
    build_index(hash_settings.with_overrides(parse_timeout_s=300), HashEmbedder())
    assert parsed == ["broken.pdf"]  # and so is one under other parse limits


def test_a_document_over_the_word_limit_fails_with_its_reason(hash_settings: Settings) -> None:
    big = hash_settings.corpus_dir / "stor.txt"
    big.write_text("Rubrik\n\n" + "ord " * 5000 + "\n", encoding="utf-8")
    report = build_index(hash_settings.with_overrides(max_document_words=1000), HashEmbedder())
    assert "too large to index: 5,001 words" in report.failed["stor.txt"]
    assert "ASSISTANT_MAX_DOCUMENT_WORDS" in report.failed["stor.txt"]
    assert len(report.indexed) == 3  # the tiny corpus is indexed all the same
    assert "stor.txt" not in build_index(hash_settings, HashEmbedder()).failed  # default limit
