"""Which store holds the index: the FAISS + SQLite segments in the index folder, or a
PostgreSQL database when `database_url` is set. Everything above the index stage opens,
locks and writes through here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.errors import IndexMismatchError
from assistant.index.storage import IndexStore, IndexWriter
from assistant.model.embed import encoder_kind

if TYPE_CHECKING:
    from assistant.index.pgschema import Pool


def open_index(settings: Settings, model: str | None = None, lazy: bool = False
               ) -> IndexStore:
    """The serving index; when `model` is given, it must be the one it was built with, and by
    an encoder that gives the same vectors (see `encoder_mark`). `lazy` is for a build's
    previous commit: a folder's segments then open their vectors only if read (a database
    has nothing to defer)."""
    if settings.database_url:
        from assistant.index.pgstore import open_pg_store

        store: IndexStore = open_pg_store(settings.database_url, model)
    else:
        from assistant.index.store import open_store

        store = open_store(settings.index_dir, model, lazy)
    if model is not None:
        built, wanted = store.build.get("encoder"), encoder_mark(settings).get("encoder")
        if built != wanted:
            store.close()
            raise IndexMismatchError(
                f"the index was built with the {built or 'fp32'} encoder but the settings ask "
                f"for the {wanted or 'fp32'} one, whose vectors differ; run `assistant index` "
                f"to rebuild it, or set ASSISTANT_ENCODER={built or 'auto'}")
    return store


def encoder_mark(settings: Settings) -> dict[str, str]:
    """What a build records of its encoder, where its vectors differ from sentence-transformers':
    fp32 ONNX gives the same vectors within float noise (an index stays valid across the two),
    int8 does not (cosine about 0.995), so switching to or from int8 rebuilds."""
    kind = encoder_kind(settings.model, settings.encoder)
    return {"encoder": kind} if kind == "onnx-int8" else {}


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
    from assistant.index.segment import held_documents

    return prune_folder(settings.index_dir, held_documents)


def new_writer(settings: Settings, dim: int, previous: IndexStore | None) -> IndexWriter:
    """A writer for the next build."""
    if settings.database_url:
        from assistant.index.pgwriter import PgWriter

        return PgWriter(settings.database_url, dim)
    from assistant.index.store import SegmentStore
    from assistant.index.writer import SegmentWriter

    assert previous is None or isinstance(previous, SegmentStore)
    return SegmentWriter(settings.index_dir, dim, previous)


def thread_bound(store: IndexStore) -> bool:
    """Whether a search's reads must all come from its own thread (a database snapshot is
    pinned to one); a commit's segments can be read from any thread."""
    return getattr(store, "snapshot", None) is not None


def snapshot(store: IndexStore) -> AbstractContextManager[Any]:
    """A context in which one search reads one state of the index: the database's snapshot
    (builds commit while servers search); a commit's segments never change, so nothing for it."""
    pinned = getattr(store, "snapshot", None)
    return pinned() if pinned is not None else nullcontext()
