"""Which store holds the index: the FAISS + SQLite segments in the index folder, or a
PostgreSQL database when `database_url` is set. Everything above the index stage opens,
locks and writes through here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.index.storage import IndexStore, IndexWriter

if TYPE_CHECKING:
    from assistant.index.pgschema import Pool


def open_index(settings: Settings, model: str | None = None) -> IndexStore:
    """The serving index; when `model` is given, it must be the one it was built with."""
    if settings.database_url:
        from assistant.index.pgstore import open_pg_store

        return open_pg_store(settings.database_url, model)
    from assistant.index.store import open_store

    return open_store(settings.index_dir, model)


@contextmanager
def build_lock(settings: Settings) -> Iterator[None]:
    """The build lock: the index folder's, or the database's."""
    if settings.database_url:
        from assistant.index.pgwriter import pg_build_lock

        with pg_build_lock(settings.database_url):
            yield
    else:
        from assistant.index.commits import build_lock as folder_lock

        with folder_lock(settings.index_dir):
            yield


def database_probe(settings: Settings) -> Pool | None:
    """With a database, one connection kept to check that it answers (its `ping`: None, or
    why not with the address masked; `close` when done); without one, None."""
    if not settings.database_url:
        return None
    from assistant.index.pgschema import Pool

    return Pool(settings.database_url, size=1)


def prune(settings: Settings) -> list[str]:
    """Remove older commits and unused segments (a database keeps none)."""
    if settings.database_url:
        return []
    from assistant.index.commits import prune as prune_folder

    return prune_folder(settings.index_dir)


def new_writer(settings: Settings, dim: int, previous: IndexStore | None) -> IndexWriter:
    """A writer for the next build."""
    if settings.database_url:
        from assistant.index.pgwriter import PgWriter

        return PgWriter(settings.database_url, dim)
    from assistant.index.store import SegmentStore
    from assistant.index.writer import SegmentWriter

    assert previous is None or isinstance(previous, SegmentStore)
    return SegmentWriter(settings.index_dir, dim, previous)


def snapshot(store: IndexStore) -> AbstractContextManager[Any]:
    """A context in which one search reads one state of the index: the database's snapshot
    (builds commit while servers search); a commit's segments never change, so nothing for it."""
    pinned = getattr(store, "snapshot", None)
    return pinned() if pinned is not None else nullcontext()
