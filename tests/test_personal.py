"""Personal identity numbers: validity, masking in text and documents, the log filter."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.errors import ConfigError
from assistant.lang.personal import (
    COORDINATION_MASK,
    PERSONAL_MASK,
    PersonalNumberFilter,
    find_numbers,
    is_valid,
    luhn_ok,
    mask_document,
    mask_text,
)
from assistant.types import Block, Document

# Valid examples: Skatteverket's test person 19121212-1212, its example 811218-9876 and its
# samordningsnummer example 701063-2391 (day 03 + 60).


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("811218-9876", True),
        ("8112189876", True),
        ("19811218-9876", True),
        ("198112189876", True),
        ("121212-1212", True),
        ("121212+1212", True),  # "+": born more than 100 years ago
        ("19121212-1212", True),
        ("701063-2391", True),  # samordningsnummer
        ("19701063-2391", True),
        ("811218\u20139876", True),  # en dash, as PDF text often has
        ("811218 9876", True),
        ("811218-9875", False),  # wrong check digit
        ("811318-9876", False),  # month 13
        ("810230-1234", False),  # 30 February
        ("701093-2391", False),  # day 93 − 60 = 33
        ("21811218-9876", False),  # century 21
        ("811218--9876", False),
        ("81121-89876", False),
        ("", False),
    ],
)
def test_is_valid(number: str, valid: bool) -> None:
    assert is_valid(number) is valid


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("8112189876", True), ("1212121212", True), ("7010632391", True), ("8112189875", False),
     ("0000000000", True), ("1234567890", False)],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Sökande 811218-9876 har beviljats.", f"Sökande {PERSONAL_MASK} har beviljats."),
        ("pnr: 198112189876.", f"pnr: {PERSONAL_MASK}."),
        ("samordningsnr 701063-2391", f"samordningsnr {COORDINATION_MASK}"),
        ("(19121212-1212)", f"({PERSONAL_MASK})"),
        ("nr19121212-1212x", f"nr{PERSONAL_MASK}x"),
        # look-alikes that fail the date or the Luhn check stay as they were
        ("Dnr 811218-9875 och 811318-9876", "Dnr 811218-9875 och 811318-9876"),
        # longer digit runs are other identifiers, not personal numbers
        ("konto 128112189876", "konto 128112189876"),
        ("08112189876 and 81121898760", "08112189876 and 81121898760"),
        ("dnr 1539-2023-1, år 2019–2024", "dnr 1539-2023-1, år 2019–2024"),
        ("två: 811218-9876, 19121212-1212", f"två: {PERSONAL_MASK}, {PERSONAL_MASK}"),
        ("no digits at all", "no digits at all"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_find_numbers_gives_spans_and_kinds() -> None:
    text = "A 811218-9876, B 701063-2391"
    assert find_numbers(text) == [(2, 13, "personnummer"), (17, 28, "samordningsnummer")]


def test_mask_document_masks_title_and_blocks() -> None:
    heading = ("Beslut för 811218-9876",)
    document = Document("d.txt", (Block(heading[0], section=heading, kind="heading"),
                                  Block("Ingen siffra här.", section=heading),
                                  Block("Dnr 811218-9875.", section=heading)),
                        title="Beslut för 811218-9876")
    masked = mask_document(document)
    assert masked.title == f"Beslut för {PERSONAL_MASK}"
    assert [b.text for b in masked.blocks] == [
        f"Beslut för {PERSONAL_MASK}", "Ingen siffra här.", "Dnr 811218-9875."]
    assert {b.section for b in masked.blocks} == {(f"Beslut för {PERSONAL_MASK}",)}
    assert masked.blocks[0].kind == "heading"


def _formatted(record: logging.LogRecord) -> str:
    PersonalNumberFilter().filter(record)
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("query %r", ("811218-9876",)),
        ("query 811218-9876", ()),
        ("%(who)s asked", ({"who": "19121212-1212"},)),
        ("number %d", (8112189876,)),  # not a string: the whole message is masked instead
        ("object %s", (["811218-9876"],)),
    ],
)
def test_log_filter_masks_messages(msg: str, args: object) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, msg, args, None)
    text = _formatted(record)
    assert "9876" not in text and "1212-1212" not in text
    assert PERSONAL_MASK in text


def test_log_filter_keeps_argument_structure() -> None:
    # uvicorn's access formatter unpacks record.args; they must stay a tuple of five
    args = ("127.0.0.1:5000", "GET", "/api/search?q=811218-9876", "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', args, None)
    PersonalNumberFilter().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.args[2] == f"/api/search?q={PERSONAL_MASK}"
    assert record.args[4] == 200


def test_log_filter_masks_tracebacks() -> None:
    try:
        raise ValueError("bad input 811218-9876")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = _formatted(record)
    assert "ValueError: bad input" in text
    assert "811218-9876" not in text


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, True), ({"ASSISTANT_MASK_PERSONAL_NUMBERS": "false"}, False),
     ({"ASSISTANT_MASK_PERSONAL_NUMBERS": "0"}, False),
     ({"ASSISTANT_MASK_PERSONAL_NUMBERS": "yes"}, True)],
)
def test_mask_setting(env: dict[str, str], expected: bool) -> None:
    assert load_settings(env=env).mask_personal_numbers is expected


@pytest.mark.parametrize(
    ("env", "message"),
    [({"ASSISTANT_MASK_PERSONAL_NUMBERS": "maybe"}, "use true or false"),
     ({"ASSISTANT_LOG_LEVEL": "loud"}, "use one of debug")],
)
def test_bad_flag_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


# --- the CLI at debug level: logs never show a valid number -------------------------------------

DOCUMENT = (
    "# Beslut för 811218-9876\n\n"
    "Sökande 19121212-1212 och personen med samordningsnummer 701063-2391 har beviljats "
    "etableringsersättning. Referens 811218-9875 har fel kontrollsiffra och 811318-9876 har "
    "månad 13; de lämnas som de är.\n"
)
VALID = ("811218-9876", "19121212-1212", "701063-2391", "8112189876")
LOOK_ALIKES = ("811218-9875", "811318-9876")


def _cli(tmp_path: Path, *args: str, mask: bool) -> tuple[str, str]:
    """Run the installed CLI at debug level; (stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_MODEL="hash", ASSISTANT_LOG_LEVEL="debug",
               ASSISTANT_CORPUS_DIR=str(tmp_path / "corpus"),
               ASSISTANT_MASK_PERSONAL_NUMBERS="true" if mask else "false")
    done = subprocess.run([str(Path(sys.executable).with_name("assistant")), *args,
                           "--index", str(tmp_path / f"index-{mask}")],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


@pytest.mark.slow  # a whole CLI build in a child process, twice
@pytest.mark.parametrize("mask", [True, False])
def test_cli_logs_at_debug_level_show_no_valid_number(tmp_path: Path, mask: bool) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "beslut.md").write_text(DOCUMENT, encoding="utf-8")
    (corpus / "bilaga.pdf").write_bytes(b"%PDF-1.4 811218-9876 is not a PDF")
    _, index_log = _cli(tmp_path, "index", mask=mask)
    out, search_log = _cli(tmp_path, "search", "--json", "811218-9876", "beviljats", mask=mask)
    logs = index_log + search_log
    assert "DEBUG" in logs and PERSONAL_MASK in logs  # the numbers were there, and masked
    assert find_numbers(logs) == []
    assert not any(number in logs for number in VALID)
    texts = " ".join(hit["text"] + hit["title"] + hit["section"] for line in out.splitlines()
                     for hit in json.loads(line)["hits"])
    assert all(look_alike in texts for look_alike in LOOK_ALIKES)  # left alone
    if mask:  # masked in the index too: searching shows placeholders only
        assert find_numbers(texts) == []
        assert PERSONAL_MASK in texts and COORDINATION_MASK in texts
    else:  # the text is indexed as written; only the logs are masked
        assert "19121212-1212" in texts


def test_failure_reasons_quoting_the_file_are_masked(hash_settings: Settings) -> None:
    from assistant.index.builder import build_index
    from assistant.model.embed import HashEmbedder

    (hash_settings.corpus_dir / "bad.html").write_bytes(b"<p>x</p><![ 811218-9876")
    report = build_index(hash_settings, HashEmbedder())
    assert "not valid HTML" in report.failed["bad.html"]
    assert PERSONAL_MASK in report.failed["bad.html"]
    assert "811218-9876" not in report.failed["bad.html"]
