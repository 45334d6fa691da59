"""Parsing untrusted files in a child process with a wall-clock timeout and a memory limit.

A hostile or broken file (a compression bomb, a deeply nested page, a loop in a PDF's
structure) can make a parser run for ever, exhaust memory or crash. Files are parsed by a
helper process, `python -m assistant.ingest.sandbox`, started once per parent process with the
loaders imported and no threads: for each file it forks a child that caps its address space
with RLIMIT_AS (and its CPU time, in case the helper dies first), parses, and writes the
document back as JSON, not pickle, so even a subverted parser cannot run code in the parent.
The helper kills a child that passes the timeout. Whatever happens, the caller gets a
Document or an IngestError that says why.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from assistant.errors import IngestError
from assistant.ingest.lognotes import LogNotes
from assistant.types import Block, Document

__all__ = ["load_isolated"]

log = logging.getLogger(__name__)

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding `assistant`
_KINDS = {"paragraph", "heading", "item"}
MAX_LOG_RECORDS = 20  # a broken PDF can make pypdf warn thousands of times
HELPER_GRACE_S = 30  # how much longer than the timeout the helper may take to answer


def load_isolated(path: Path, doc: str, timeout_s: int, memory_mb: int) -> Document:
    """Parse the file at `path` in a child process; a limit of 0 is no limit."""
    request = {"path": str(path), "doc": doc, "memory_mb": memory_mb, "timeout_s": timeout_s,
               "log_level": logging.getLogger().getEffectiveLevel()}
    wait_s = timeout_s + HELPER_GRACE_S if timeout_s else None
    with _lock:
        try:
            reply = _helper().ask(request, wait_s)
        except _HelperGone:  # it died between files (never because of one): a fresh one
            try:
                reply = _helper().ask(request, wait_s)
            except _HelperGone as exc:
                raise IngestError(f"{doc}: the parser process failed ({exc})") from exc
    for line in reply.get("log") or []:
        log.debug("%s: parser: %s", doc, line)
    if reply.get("status") != "ok":
        raise IngestError(str(reply.get("reason")))
    try:
        return _from_json(reply["document"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{doc}: the parser process gave malformed output ({exc})") from exc


class _HelperGone(OSError):
    """The helper process exited or closed its pipes."""


class _Helper:
    """The parent's end of one helper process: a JSON line out, a JSON line back."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH"))
                                            if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assistant.ingest.sandbox"], env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as exc:
            raise IngestError(f"cannot start the parser process: {exc}") from exc
        self.pid = os.getpid()  # a forked parent must start its own helper
        self.pending = bytearray()

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.process.poll() is None

    def ask(self, request: dict[str, Any], wait_s: float | None) -> dict[str, Any]:
        """Send one request and read its reply; a helper that fails is stopped."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode("ascii") + b"\n")
            self.process.stdin.flush()
            line = self._readline(wait_s)
            return dict(json.loads(line))
        except (TimeoutError, ValueError) as exc:
            self.stop()
            raise IngestError(f"{request['doc']}: the parser process failed ({exc})") from exc
        except OSError as exc:  # a broken pipe, or the end of its output
            self.stop()
            raise _HelperGone(str(exc)) from exc

    def _readline(self, wait_s: float | None) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while b"\n" not in self.pending:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("no answer in time")
            data = os.read(fd, 1 << 20)
            if not data:
                raise OSError(f"it exited ({_exit_reason(self.process.wait())})")
            self.pending += data
        line, _, rest = bytes(self.pending).partition(b"\n")
        self.pending = bytearray(rest)
        return line

    def stop(self) -> None:
        if self.pid != os.getpid():
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:  # a request still buffered for the dead helper
                    pass


_lock = threading.Lock()
_current: _Helper | None = None


def _helper() -> _Helper:
    global _current
    if _current is None or not _current.alive():
        _current = _Helper()
    return _current


@atexit.register
def _stop_helper() -> None:
    if _current is not None:
        _current.stop()


def _exit_reason(code: int) -> str:
    """Words for a child's exit status (negative: killed by that signal)."""
    if code < 0:
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


# --- the helper's side ------------------------------------------------------------------------


def _error(reason: str, notes: list[str] | None = None) -> bytes:
    return json.dumps({"status": "error", "reason": reason, "log": notes or []}).encode("ascii")


def _parse(request: dict[str, Any]) -> bytes:
    """In the forked child: set the limits, parse, and return the reply."""
    import resource

    from assistant.ingest import load_document

    doc, memory_mb, timeout_s = request["doc"], request["memory_mb"], request["timeout_s"]
    notes = LogNotes(logging.DEBUG, MAX_LOG_RECORDS, levels=True)
    logging.basicConfig(level=request["log_level"], handlers=[notes], force=True)
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
        return json.dumps({"status": "ok", "document": _to_json(document),
                           "log": notes.notes}).encode("ascii")
    except IngestError as exc:
        return _error(str(exc), notes.notes)
    except MemoryError:
        return too_big
    except RecursionError:
        return _error(f"{doc}: the file is nested too deeply to parse", notes.notes)
    except Exception as exc:  # the child's top level: any parser bug becomes a reason
        return _error(f"{doc}: the parser failed ({type(exc).__name__}: {exc})", notes.notes)


def _fork_and_parse(request: dict[str, Any]) -> bytes:
    """Parse in a forked child, killing it when the timeout passes; the reply as bytes."""
    doc, timeout_s = request["doc"], request["timeout_s"]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its stdout must not be the helper's reply channel
        try:
            os.close(read_end)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(2, 1)
            reply = _parse(request)
            with os.fdopen(write_end, "wb") as out:
                out.write(reply)
        finally:
            os._exit(0)  # no interpreter clean-up, which can itself run out of memory
    os.close(write_end)
    parts: list[bytes] = []
    deadline = time.monotonic() + timeout_s if timeout_s else None
    timed_out = False
    with os.fdopen(read_end, "rb", buffering=0) as replies:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0 or not select.select([replies], [], [], left)[0]:
                timed_out = True
                break
            data = replies.read(1 << 20)
            if not data:
                break
            parts.append(data)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return _error(f"{doc}: parsing took longer than {timeout_s} s "
                      f"(ASSISTANT_PARSE_TIMEOUT_S); the file may be hostile or broken")
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not parts:
        return _error(f"{doc}: the parser process died ({_exit_reason(code)})")
    return b"".join(parts)


def _serve() -> None:
    """The helper: one JSON request per line in, one JSON reply per line out, until EOF."""
    from assistant import ingest  # noqa: F401  (imported once here, so that each fork has it)

    for line in sys.stdin.buffer:
        reply = _fork_and_parse(json.loads(line))
        sys.stdout.buffer.write(reply + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
