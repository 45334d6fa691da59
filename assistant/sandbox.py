"""Parsing untrusted files in a child process with a wall-clock timeout and a memory limit.

A hostile or broken file (a compression bomb, a deeply nested page, a loop in a PDF's
structure) can make a parser run for ever, exhaust memory or crash. Each file is parsed by
`python -m assistant.sandbox` in a process of its own: the child caps its address space with
RLIMIT_AS (and its CPU time, in case the parent dies first), the parent kills it when the
timeout passes, and the parsed document comes back as JSON, not pickle, so even a subverted
parser cannot run code in the parent. Whatever happens, the caller gets a Document or an
IngestError that says why.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import IngestError
from .types import Block, Document

__all__ = ["load_isolated"]

log = logging.getLogger(__name__)

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_KINDS = {"paragraph", "heading", "item"}
MAX_LOG_RECORDS = 20  # a broken PDF can make pypdf warn thousands of times


def load_isolated(path: Path, doc: str, timeout_s: int, memory_mb: int) -> Document:
    """Parse the file at `path` in a child process; a limit of 0 is no limit."""
    request = {"path": str(path), "doc": doc, "memory_mb": memory_mb, "timeout_s": timeout_s,
               "log_level": logging.getLogger().getEffectiveLevel()}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "assistant.sandbox"], input=json.dumps(request).encode(),
            capture_output=True, timeout=timeout_s or None, env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        raise IngestError(f"{doc}: parsing took longer than {timeout_s} s "
                          f"(ASSISTANT_PARSE_TIMEOUT_S); the file may be hostile or broken"
                          ) from None
    except OSError as exc:
        raise IngestError(f"{doc}: cannot start the parser process: {exc}") from exc
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        log.debug("%s: parser: %s", doc, line)
    if done.returncode != 0:
        raise IngestError(f"{doc}: the parser process died ({_exit_reason(done.returncode)})")
    try:
        reply = json.loads(done.stdout)
        if reply["status"] != "ok":
            raise IngestError(str(reply["reason"]))
        return _from_json(reply["document"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{doc}: the parser process gave malformed output ({exc})") from exc


def _exit_reason(code: int) -> str:
    """Words for a child's exit status (negative: killed by that signal)."""
    if code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _to_json(document: Document) -> dict[str, Any]:
    return {"doc": document.doc, "title": document.title, "pages": document.pages,
            "problems": list(document.problems),
            "blocks": [[b.text, b.page, list(b.section), b.kind] for b in document.blocks]}


def _from_json(data: dict[str, Any]) -> Document:
    """A Document from the child's JSON, checked field by field (the child is not trusted)."""
    blocks = []
    for text, page, section, kind in data["blocks"]:
        if (not isinstance(text, str) or kind not in _KINDS
                or not (page is None or type(page) is int)
                or not all(isinstance(s, str) for s in section)):
            raise ValueError("a block of the wrong shape")
        blocks.append(Block(text, page, tuple(section), kind))
    title, pages, problems = data["title"], data["pages"], data["problems"]
    if not (title is None or isinstance(title, str)) or not (pages is None or type(pages) is int):
        raise ValueError("a title or page count of the wrong type")
    if not all(isinstance(p, str) for p in problems):
        raise ValueError("a problem that is not text")
    return Document(str(data["doc"]), tuple(blocks), title, pages, tuple(problems))


class _Budget(logging.Filter):
    """Lets the first MAX_LOG_RECORDS records through, then one notice, then nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen += 1
        if self.seen == MAX_LOG_RECORDS + 1:
            record.msg, record.args = "further parser messages suppressed", ()
        return self.seen <= MAX_LOG_RECORDS + 1


def _child() -> None:
    """The child's side: read the request, set the limits, parse, print JSON, exit."""
    import resource

    from .ingest import load_document
    from .personal import PersonalNumberFilter

    request = json.loads(sys.stdin.buffer.read())
    doc, memory_mb, timeout_s = request["doc"], request["memory_mb"], request["timeout_s"]
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Budget())
    handler.addFilter(PersonalNumberFilter())
    logging.basicConfig(level=request["log_level"], handlers=[handler], force=True)
    out, sys.stdout = sys.stdout, sys.stderr  # only the reply goes to stdout
    # made before the limit: when memory runs out there may be none left to make it then
    too_big = _error(f"{doc}: parsing needs more than {memory_mb} MB of memory "
                     f"(ASSISTANT_PARSE_MEMORY_MB); a compression bomb?")
    if memory_mb:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    if timeout_s:
        resource.setrlimit(resource.RLIMIT_CPU, (timeout_s + 5, timeout_s + 10))
    try:
        document = load_document(Path(request["path"]), doc)
        # ASCII JSON: lone surrogates and odd characters survive the pipe
        reply = json.dumps({"status": "ok", "document": _to_json(document)}).encode("ascii")
    except IngestError as exc:
        reply = _error(str(exc))
    except MemoryError:
        reply = too_big
    except RecursionError:
        reply = _error(f"{doc}: the file is nested too deeply to parse")
    except Exception as exc:  # the child's top level: any parser bug becomes a reason
        reply = _error(f"{doc}: the parser failed ({type(exc).__name__}: {exc})")
    out.buffer.write(reply)
    out.flush()
    os._exit(0)  # no interpreter clean-up, which can itself run out of memory


def _error(reason: str) -> bytes:
    return json.dumps({"status": "error", "reason": reason}).encode("ascii")


if __name__ == "__main__":
    _child()
