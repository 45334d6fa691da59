"""HTTP API: an app factory composing the routers; the engine loads once in the lifespan."""

from __future__ import annotations

from assistant.api.app import create_app

__all__ = ["create_app"]
