"""Dependencies as named aliases, so handlers read like prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from assistant.api.guards import key_problem
from assistant.api.library import Library
from assistant.config import Settings
from assistant.engine import Engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _library(request: Request) -> Library:
    library: Library = request.app.state.library
    return library


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
LibraryDep = Annotated[Library, Depends(_library)]

_bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")
_header_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="an API key (the same keys as the bearer token)")


def require_key(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header_key)],
) -> None:
    """Let the request through only with one of the configured API keys."""
    given = bearer.credentials if bearer is not None else header_key
    problem = key_problem(given, settings.api_keys)
    if problem:
        raise HTTPException(401, problem, headers={"WWW-Authenticate": "Bearer"})


KeyRequired = Depends(require_key)
