"""Pure ASGI layers around the auditor app: read-only methods, security headers, and the
access log (written before any response leaves, or the response is withheld)."""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privlog.audit.accesslog import AccessLog
from privlog.store.schema import now_iso

__all__ = [
    "AccessLogMiddleware",
    "InternalErrors",
    "ReadOnlyMethods",
    "SecurityHeaders",
    "internal_error_body",
]

log = logging.getLogger("privlog.audit")

READ_METHODS = frozenset({"GET", "HEAD"})
STATE_PRINCIPAL = "privlog_principal"
STATE_ROWS = "privlog_rows"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_VALUE = 256
_MAX_PARAMS = 32

# No inline script or style, nothing from another origin; the dashboard's own files only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


async def _send_json(send: Send, status: int, body: dict[str, Any], extra: list[Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def internal_error_body(exc: BaseException) -> dict[str, str]:
    """Log an unexpected error by type and a fresh correlation id; the body for the client
    carries the id only (never the message, SQL or a traceback)."""
    correlation = secrets.token_hex(8)
    log.error("privlog audit: internal error %s (%s)", correlation, type(exc).__name__)
    return {
        "detail": "internal error; quote the correlation id to the operator",
        "correlation_id": correlation,
    }


class InternalErrors:
    """The last line: an exception that escapes the app is answered with a 500 carrying a
    correlation id (if nothing was sent yet) and is not re-raised into the server's log,
    whose traceback could quote SQL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            if scope["type"] != "http":
                raise
            if not started:
                await _send_json(send, 500, internal_error_body(exc), [])


class ReadOnlyMethods:
    """Every method but GET and HEAD, on every path, answers 405. HEAD is served as GET
    without the body (the routes, and so the OpenAPI document, declare GET only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in READ_METHODS:
            await _send_json(
                send,
                405,
                {"detail": "the auditor API is read-only: only GET and HEAD are allowed"},
                [(b"allow", b"GET, HEAD")],
            )
            return
        if scope["method"] == "GET":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # In place: the routing result written into the scope stays visible outside.
        scope["method"] = "GET"
        await self.app(scope, receive, send_headers_only)


class SecurityHeaders:
    """Adds the security headers (CSP, no-store, nosniff, ...) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in _HEADERS}
                kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message = {**message, "headers": [*kept, *_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _clean(value: str) -> str:
    return _CONTROL.sub("?", value)[:_MAX_VALUE]


def _filters(query_string: bytes) -> str:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)[:_MAX_PARAMS]
    return json.dumps({_clean(k): _clean(v) for k, v in pairs}, sort_keys=True)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return _clean(path if isinstance(path, str) else f"(no route) {scope.get('path', '')}")


class AccessLogMiddleware:
    """One access-log entry per request under ``/v1/``: who, which route, which filters,
    how many rows, the status. It is appended when the response starts; if the append
    fails the response is replaced by a 503, so no read goes unrecorded."""

    def __init__(self, app: ASGIApp, access_log: AccessLog) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        method = str(scope.get("method", ""))
        withheld = False

        async def send_logged(message: Message) -> None:
            nonlocal withheld
            if message["type"] == "http.response.start":
                try:
                    entry = _entry(scope, state, method, message)
                    await run_in_threadpool(self.access_log.append, entry)
                except Exception as exc:  # the type only: the message could hold SQL
                    log.error("privlog audit: access log append failed (%s)", type(exc).__name__)
                    withheld = True
                    await _send_json(
                        send,
                        503,
                        {"detail": "the access log is unavailable, so nothing was returned"},
                        [],
                    )
                    return
            if not withheld:
                await send(message)

        await self.app(scope, receive, send_logged)


def _entry(scope: Scope, state: dict[str, Any], method: str, start: Message) -> dict[str, Any]:
    principal = state.get(STATE_PRINCIPAL)
    return {
        "ts": now_iso(),
        "token_id": getattr(principal, "token_id", None),
        "token_name": getattr(principal, "name", None),
        "tenant": getattr(principal, "tenant", None),
        "method": _clean(method),
        "route": _route(scope),
        "filters": _filters(scope.get("query_string", b"")),
        "status": int(start["status"]),
        "rows": state.get(STATE_ROWS),
    }
