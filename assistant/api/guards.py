"""ASGI middleware that protects the API: body size cap, rate limit, security headers."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.problems import error_response
from assistant.api.ratelimit import RateLimiter

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI is FastAPI's own page with an inline start-up script; it keeps no CSP.
_NO_PAGE_CSP = ("/docs",)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def presented_key(scope: Scope) -> str | None:
    """The API key a request carries: `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    authorization = _header(scope, b"authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return (_header(scope, b"x-api-key") or "").strip() or None


def is_valid_key(given: str | None, keys: Iterable[str]) -> bool:
    """Whether `given` is one of the keys (compared in constant time)."""
    if not given:
        return False
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode(), key.encode())
    return found


def key_problem(given: str | None, keys: Iterable[str]) -> str | None:
    """Why a request may not change documents, or None when its key is good."""
    keys = tuple(keys)
    if not keys:
        return ("changing documents is turned off: the server has no API keys "
                "(set ASSISTANT_API_KEYS)")
    if not given:
        return "an API key is required: send Authorization: Bearer KEY or X-API-Key: KEY"
    if not is_valid_key(given, keys):
        return "the API key is not valid"
    return None


class KeyGate:
    """401 for a write to /api/documents without a valid key, before any of its body is read
    (the route's own key check runs only after FastAPI has parsed the upload)."""

    def __init__(self, app: ASGIApp, keys: tuple[str, ...]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "DELETE")
                and scope.get("path", "").startswith("/api/documents")):
            problem = key_problem(presented_key(scope), self.keys)
            if problem:
                await _drain_small_body(scope, receive)
                response = error_response(401, problem, headers={"WWW-Authenticate": "Bearer",
                                                                 "Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# A refused request whose declared body is at most this long is read and dropped before the
# answer: closing a socket with unread data makes the kernel reset the connection, and the
# client can lose the 401 (seen under load). Larger or undeclared bodies are never read.
DRAIN_MAX_BYTES = 64 * 1024


async def _drain_small_body(scope: Scope, receive: Receive) -> None:
    """Read and drop the body of a refused request when it declares a small length."""
    declared = _header(scope, b"content-length")
    if declared is None or not declared.strip().isdigit() or int(declared) > DRAIN_MAX_BYTES:
        return
    received = 0
    while received <= DRAIN_MAX_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class _BodyTooLarge(Exception):
    """Raised into the app when the request body passes the cap."""


class BodyLimit:
    """413 for a body over the cap: at once for a declared length, else when the count passes it.

    The count is of the bytes that actually arrive, so a missing or false Content-Length does
    not matter; the rest of the body is never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() \
                and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of a cut-off body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded:  # _BodyTooLarge, possibly wrapped by the app, is expected
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = f"{self.max_bytes / 1_000_000:g} MB"
        response = error_response(413, f"the request body is larger than {limit}",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)


class RateLimit:
    """429 with Retry-After when a key (or, without a valid key, a client address) is too fast."""

    def __init__(self, app: ASGIApp, per_minute: int, keys: tuple[str, ...],
                 exempt: tuple[str, ...] = ("/api/health",)) -> None:
        self.app = app
        self.limiter = RateLimiter(per_minute)
        self.keys = keys
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path in self.exempt:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.take(self._client(scope))
        if wait > 0:
            response = error_response(429, "too many requests; try again shortly",
                                      headers={"Retry-After": str(max(1, math.ceil(wait)))})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _client(self, scope: Scope) -> str:
        key = presented_key(scope)
        if is_valid_key(key, self.keys):
            assert key is not None
            # A digest, not the key, so the key is never kept or shown anywhere.
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        client = scope.get("client") or ("unknown", 0)
        return f"addr:{client[0]}"


class SecurityHeaders:
    """nosniff on everything; the strict page CSP wherever a response sets none of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_csp = scope.get("path", "") not in _NO_PAGE_CSP

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if b"x-frame-options" not in names:
                    headers.append((b"x-frame-options", b"DENY"))
                if with_csp and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)
