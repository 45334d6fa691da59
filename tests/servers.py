"""Helpers for tests that need the app over a built index, or a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from assistant.api import create_app
from assistant.config import Settings
from assistant.engine import Engine
from assistant.index.builder import build_index
from assistant.model.embed import Embedder, HashEmbedder


def indexed_app(settings: Settings, embedder: Embedder | None = None) -> FastAPI:
    """The app over a freshly built index of the settings' corpus."""
    embedder = embedder or HashEmbedder()
    build_index(settings, embedder)
    return create_app(settings, Engine(settings, embedder))


@contextmanager
def running(app: FastAPI, timeout: float = 60.0) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
