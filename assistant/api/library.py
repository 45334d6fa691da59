"""The corpus as the API manages it: the catalog with indexing states, uploads and removals.

Uploads are saved under generated names (the uploaded file name is kept as metadata only, never
used as a path) and indexed in the background by the incremental `build_index`; the engine then
switches to the new generation. With a database, an upload's bytes and catalog entry go into
the database with its job (no server folder holds them), and a worker indexes them.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from assistant.engine import Engine
from assistant.errors import (
    AssistantError,
    DatabaseError,
    DocumentNotFoundError,
    UnsupportedFormatError,
)
from assistant.index.source import corpus_file, corpus_names
from assistant.index.storage import DocumentFacts
from assistant.ingest import SUPPORTED_SUFFIXES
from assistant.ingest.catalog import entry_info, read_catalog, write_entry
from assistant.types import DocStatus

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".md": "text/markdown; charset=utf-8",
    ".markdown": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_SUFFIX_BY_MEDIA = {
    "application/pdf": ".pdf",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
    "text/plain": ".txt",
}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_CHARS = 200


def clean_filename(name: str | None) -> str:
    """The last component of an uploaded file name, without control characters; text only."""
    base = _UNSAFE.sub("", PurePath((name or "").replace("\\", "/")).name).strip()
    return base[:MAX_NAME_CHARS] if base.strip(".") else ""


def upload_suffix(filename: str, media_type: str | None) -> str:
    """The suffix an upload is stored under, from its name or else its media type."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    media = (media_type or "").split(";")[0].strip().lower()
    if media in _SUFFIX_BY_MEDIA:
        return _SUFFIX_BY_MEDIA[media]
    raise UnsupportedFormatError(
        f"cannot index {filename or 'the upload'!r} ({media or 'no media type'}); "
        f"upload PDF, Markdown, HTML or plain text ({', '.join(SUPPORTED_SUFFIXES)})"
    )


def check_content(data: bytes, suffix: str) -> None:
    """Reject content that cannot be what its suffix says."""
    if suffix == ".pdf" and not data.startswith(b"%PDF-"):
        raise UnsupportedFormatError("the file is named or typed as PDF but is not a PDF")
    if suffix != ".pdf" and b"\x00" in data[:65536]:
        raise UnsupportedFormatError("the file is binary, not text; upload PDF, Markdown, "
                                     "HTML or plain text")


class Library:
    """Lists, adds and removes corpus documents; re-indexes in one background thread, or,
    with a database, queues jobs for `assistant worker` (and the catalog's states come from
    the jobs)."""

    def __init__(self, engine: Engine, on_built: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.on_built = on_built
        self._cond = threading.Condition()
        self._files = threading.Lock()
        self._jobs: dict[str, tuple[str, str | None]] = {}  # doc -> (state, error)
        self._pending = False
        self._building = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._queue = None
        self._stored = None
        if self.settings.database_url:
            import tempfile

            from assistant.index.pgfiles import PgFiles
            from assistant.index.pgjobs import JobQueue

            self._queue = JobQueue(self.settings.database_url)
            self._stored = PgFiles(self.settings.database_url, self._queue.pool)
            self._scratch = Path(tempfile.mkdtemp(prefix="assistant-served-"))

    # --- reading -------------------------------------------------------------------------

    def documents(self, names: set[str] | None = None) -> list[DocStatus]:
        """Every document in the corpus (the folder's, or the database's), the index or a job,
        by name; only those of `names` when given (looked up, not listed)."""
        if self._stored is not None:
            catalog = {d: e or {} for d, e in self._stored.entries().items()}
            files = set(catalog)
        else:
            catalog = read_catalog(self.settings.corpus_dir)
            files = (corpus_names(self.settings.corpus_dir) if names is None else
                     {n for n in names if corpus_file(self.settings.corpus_dir, n) is not None})
        indexed, failed = self._index_facts(names)
        with self._cond:
            jobs = self._queue.states() if self._queue else dict(self._jobs)
        result = []
        known = set(files) | set(indexed) | set(jobs) | set(failed)
        for doc in sorted(known if names is None else known & names):
            state, error = jobs.get(doc, (None, None))
            if doc in indexed:
                facts = indexed[doc]
                result.append(DocStatus(facts.info, state or "indexed", facts.pages,
                                        facts.chunks, facts.problems, error))
                continue
            if state is None:
                state, error = ("failed", failed[doc]) if doc in failed else ("unindexed", None)
            result.append(DocStatus(entry_info(doc, catalog.get(doc)), state, error=error))
        return result

    def document(self, doc: str) -> DocStatus:
        """One document's catalog entry and state."""
        found = self.documents({doc})
        if not found:
            raise DocumentNotFoundError(f"no document {doc!r} in the corpus or the index")
        return found[0]

    def path(self, doc: str) -> Path:
        """The file of a corpus document (looked up by name as the corpus listing finds it,
        `source.corpus_file`; with a database, written out from it for this request: `release`
        it once sent)."""
        if self._stored is not None:
            import tempfile

            return self._stored.fetch(doc, Path(tempfile.mkdtemp(dir=self._scratch)))
        found = corpus_file(self.settings.corpus_dir, doc)
        if found is None:
            raise DocumentNotFoundError(f"no file for document {doc!r} in the corpus")
        return found[0]

    def release(self, path: Path) -> None:
        """Delete a file `path` wrote out of the database (no copy of a document stays on a
        server after a removal); a corpus folder's file stays."""
        if self._stored is not None and path.is_relative_to(self._scratch):
            import shutil

            shutil.rmtree(self._scratch / path.relative_to(self._scratch).parts[0],
                          ignore_errors=True)

    def _index_facts(self, names: set[str] | None = None
                     ) -> tuple[dict[str, DocumentFacts], dict[str, str]]:
        """The facts of each indexed document (of `names` only, when given), and the failed
        ones with their reasons."""
        try:
            reader = self.engine.reader
            return reader.documents(names), dict(reader.failed)
        except DatabaseError:
            raise  # 503: the catalog cannot be told without the database
        except AssistantError:
            return {}, {}

    # --- writing -------------------------------------------------------------------------

    def add(self, data: bytes, filename: str | None, media_type: str | None,
            entry: dict[str, Any]) -> DocStatus:
        """Save an upload under a generated name, catalog it and queue it for indexing."""
        original = clean_filename(filename)
        suffix = upload_suffix(original, media_type)
        check_content(data, suffix)
        entry = {k: v for k, v in entry.items() if v is not None}
        entry.setdefault("title", PurePath(original).stem or "Uploaded document")
        entry["form"] = f"uploaded as {original}" if original else "uploaded"
        corpus = self.settings.corpus_dir
        if self._queue is not None:  # the bytes go with the job, for a worker anywhere
            doc = f"upload-{secrets.token_hex(8)}{suffix}"
            self._queue.upload(doc, data, entry)
            log.info("uploaded %s (%d bytes) as %s", original or "(no name)", len(data), doc)
            return DocStatus(entry_info(doc, entry), "queued")
        with self._files:
            corpus.mkdir(parents=True, exist_ok=True)
            doc = f"upload-{secrets.token_hex(8)}{suffix}"
            with (corpus / doc).open("xb") as fh:  # "x": never overwrite an existing file
                fh.write(data)
            write_entry(corpus, doc, entry)
        log.info("uploaded %s (%d bytes) as %s", original or "(no name)", len(data), doc)
        self._schedule(doc, "queued")
        return DocStatus(entry_info(doc, entry), "queued")

    def remove(self, doc: str) -> None:
        """Delete a document's file and catalog entry, then rebuild without it."""
        known = {s.info.doc for s in self.documents({doc}) if s.status != "removing"}
        if doc not in known:
            raise DocumentNotFoundError(f"no document {doc!r} in the corpus or the index")
        with self._files:
            found = corpus_file(self.settings.corpus_dir, doc)
            if found is not None:
                found[0].unlink()
            write_entry(self.settings.corpus_dir, doc, None)
        log.info("removed %s", doc)
        if self._queue is not None:  # its stored bytes go with the job
            self._queue.discard(doc)
            return
        self._schedule(doc, "removing")

    # --- the background build ------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the next build back while several uploads are queued (in this thread), so
        that one build takes them all."""
        with self._cond:
            yield

    def _schedule(self, doc: str, state: str) -> None:
        if self._queue is not None:
            self._queue.enqueue(doc, "index" if state == "queued" else "remove")
            return
        with self._cond:
            self._jobs[doc] = (state, None)
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="indexer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no build is queued or running; False on timeout."""
        if self._queue is not None:  # the workers' jobs
            import time

            deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
            while self._queue.open_jobs():
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.2)
            return True
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._building, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background thread after the build in progress, if any."""
        if self._queue is not None:
            import shutil

            self._queue.close()
            shutil.rmtree(self._scratch, ignore_errors=True)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        from assistant.index.builder import build_index

        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                self._pending, self._building = False, True
                batch = {d: s for d, (s, _) in self._jobs.items() if s in ("queued", "removing")}
                for doc, state in batch.items():
                    if state == "queued":
                        self._jobs[doc] = ("indexing", None)
            error = None
            report = None
            try:
                # the uploaded and removed documents only: the others stay as they are
                # (files changed by other means wait for `assistant index`)
                report = build_index(self.settings, self.engine.embedder, only=set(batch))
                self.engine.reload()
            except AssistantError as exc:
                error = str(exc)
            except Exception:  # the worker's top level: one failed build must not end it
                log.exception("indexing failed")
                error = "indexing failed with an internal error; see the server log"
            with self._cond:
                for doc, state in batch.items():
                    expected = "indexing" if state == "queued" else state
                    if self._jobs.get(doc, (None,))[0] != expected:
                        continue  # removed or re-uploaded meanwhile: a later build settles it
                    reason = error or (report.failed.get(doc) if report else None)
                    if reason:
                        self._jobs[doc] = ("failed", reason)
                    else:
                        self._jobs.pop(doc)
                self._building = False
                self._cond.notify_all()
            if error is None and self.on_built is not None:
                self.on_built()

