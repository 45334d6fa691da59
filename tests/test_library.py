"""Upload names and types: the uploaded name is metadata, never a path."""

from __future__ import annotations

import pytest

from assistant.api.library import check_content, clean_filename, upload_suffix
from assistant.errors import UnsupportedFormatError


@pytest.mark.parametrize(("name", "expected"), [
    ("rapport.pdf", "rapport.pdf"),
    ("../../x.txt", "x.txt"),
    ("..\\..\\windows\\x.md", "x.md"),
    ("/etc/passwd", "passwd"),
    ("a\x00b\nc.txt", "abc.txt"),
    ("..", ""),
    ("", ""),
    (None, ""),
    ("x" * 500 + ".txt", "x" * 200),
])
def test_clean_filename(name: str | None, expected: str) -> None:
    assert clean_filename(name) == expected


@pytest.mark.parametrize(("name", "media", "suffix"), [
    ("a.PDF", None, ".pdf"),
    ("a.md", "application/octet-stream", ".md"),
    ("a.htm", None, ".htm"),
    ("notes", "text/plain; charset=utf-8", ".txt"),
    ("page", "text/html", ".html"),
    ("scan", "application/pdf", ".pdf"),
    ("readme", "text/markdown", ".md"),
])
def test_upload_suffix(name: str, media: str | None, suffix: str) -> None:
    assert upload_suffix(name, media) == suffix


@pytest.mark.parametrize(("name", "media"), [
    ("a.exe", None), ("a.docx", "application/vnd.openxmlformats"), ("a", None), ("", "image/png"),
])
def test_unsupported_suffix(name: str, media: str | None) -> None:
    with pytest.raises(UnsupportedFormatError):
        upload_suffix(name, media)


@pytest.mark.parametrize(("data", "suffix", "ok"), [
    (b"%PDF-1.7\n...", ".pdf", True),
    (b"<html>", ".pdf", False),
    (b"# Rubrik", ".md", True),
    (b"MZ\x00\x00", ".txt", False),
])
def test_check_content(data: bytes, suffix: str, ok: bool) -> None:
    if ok:
        check_content(data, suffix)
    else:
        with pytest.raises(UnsupportedFormatError):
            check_content(data, suffix)
