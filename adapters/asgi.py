"""privlog for any ASGI app (FastAPI, Starlette, ...): pure ASGI middleware.

    app.add_middleware(PrivlogMiddleware, privlog=Privlog.from_env())

The body is teed as the app reads it (never pre-read, unless a blocking policy needs the
verdict first: then the exact messages are replayed and the real ``receive`` takes over).
Lifespan and websocket scopes pass through (on ``lifespan.shutdown`` the record queue is
flushed before the message reaches the app); responses are never buffered, so SSE and
streamed replies flow as they are. The only change to a response is the optional
``X-Privlog-Record`` header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

try:
    from anyio import to_thread
    from starlette.requests import HTTPConnection
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError(
        "privlog.adapters.asgi needs Starlette: pip install 'privlog[fastapi]'"
    ) from exc

from privlog import inbound
from privlog.body import BodyCollector
from privlog.context import RequestContext, current_request
from privlog.core import Privlog
from privlog.identity import Subject
from privlog.replies import ReplyGuard

__all__ = ["PrivlogMiddleware"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]
Identify = Callable[[HTTPConnection], Subject | str | None]

# Set while a request is inside privlog, so a second (stacked) middleware passes through.
_active: ContextVar[bool] = ContextVar("privlog_asgi_active", default=False)


class PrivlogMiddleware:
    """Records every HTTP request's user input as a usage record (see privlog.inbound)."""

    def __init__(
        self, app: ASGIApp, *, privlog: Privlog | None = None, identify: Identify | None = None
    ) -> None:
        self.app = app
        self.privlog = privlog or Privlog.from_env()
        self.identify = identify

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        http = self.privlog.settings.policy.http
        if scope["type"] == "websocket" and not _active.get():
            refused = inbound.unrecorded_refusal(
                self.privlog, self.identify, HTTPConnection(scope), scope.get("path", "")
            )
            if refused is not None:  # not recorded: privlog records HTTP requests
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})  # policy violation
                return
        if scope["type"] != "http" or _active.get():
            await self.app(scope, receive, send)
            return
        if not http.extraction.applies_to(scope.get("path", "")):
            refused = inbound.unrecorded_refusal(
                self.privlog, self.identify, HTTPConnection(scope), scope.get("path", "")
            )
            if refused is None:
                await self.app(scope, receive, send)
            else:
                await _send_json(send, *refused, [])
            return
        token = _active.set(True)
        try:
            await _Exchange(self, scope, receive, send).run()
        finally:
            _active.reset(token)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        """Flush the record queue when the server announces shutdown, before the app hears
        of it: servers such as uvicorn re-raise SIGTERM afterwards, so atexit never runs."""

        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                with inbound.suppress_internal_errors("asgi shutdown flush"):
                    # flush, not close: the same app may start again in this process
                    # (a test client used twice); atexit closes the writer at the end.
                    timeout = self.privlog.settings.policy.store.flush_timeout
                    await to_thread.run_sync(self.privlog.flush, timeout)
            return message

        return wrapped


async def _send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ReplyCut(Exception):
    """Raised into the app when it sends after privlog cut (or replaced) its reply, so
    its stream stops and the model stops generating; caught by this middleware."""


def _headers(message: Message) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}


class _Exchange:
    """One request's state (never on the shared middleware instance)."""

    def __init__(
        self, mw: PrivlogMiddleware, scope: MutableMapping[str, Any], receive: Receive, send: Send
    ) -> None:
        self.mw, self.scope, self.receive, self.send = mw, scope, receive, send
        http = mw.privlog.settings.policy.http
        self.http = http
        self.headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        self.body = BodyCollector(http.max_inspect_bytes, self.headers.get("content-encoding"))
        self.status: int | None = None
        self.replay: list[Message] = []
        self.guard: ReplyGuard | None = None
        self.held: Message | None = None  # the response start, until the guard releases
        self.unsent = bytearray()  # the body while nothing is released (for a guard fault)
        client = scope.get("client")
        self.ctx = RequestContext(
            route=scope.get("path", ""),
            method=scope.get("method"),
            tenant=self.headers.get(http.tenant_header) if http.tenant_header else None,
            session=self.headers.get(http.session_header),
            client_ip=client[0] if client else None,
        )

    async def run(self) -> None:
        inbound.identify(self.ctx, self.mw.identify, HTTPConnection(self.scope))
        self.ctx.loader = self._read_fields
        token = current_request.set(self.ctx)
        try:
            if await self._unidentified():
                return
            if inbound.checks_before_app(self.mw.privlog) and await self._blocked():
                return
            try:
                await self.mw.app(self.scope, self._receive, self._send)
            except _ReplyCut:
                pass  # privlog cut the reply and stopped the app's stream: not an error
            except BaseExceptionGroup as group:  # a task group around the stream wraps it
                rest = group.subgroup(lambda e: not isinstance(e, _ReplyCut))
                if rest is not None:
                    self.ctx.flags.add("aborted")
                    raise rest from None
            except BaseException:
                self.ctx.flags.add("aborted")
                raise
            finally:
                if self.held is not None:  # never sent: the server answers 500 itself
                    self.status = 500
                self._record("logged")
        finally:
            current_request.reset(token)

    async def _unidentified(self) -> bool:
        """Refuse, before the body is read, a request the verified-identity gate stops."""
        refused = inbound.identity_refusal(self.mw.privlog, self.ctx)
        if refused is None:
            return False
        self.ctx.fields = {}  # never read: the request goes no further
        self.status, body = refused
        await self._send_error(self.status, body)
        self._record("blocked")
        return True

    async def _blocked(self) -> bool:
        """Read the body up to the cap first, decide, and either refuse or replay."""
        while not (self.body.complete or self.body.truncated):
            message = await self.receive()
            self.replay.append(message)
            if message["type"] != "http.request":
                break
            self._tee(message)
        refused: tuple[int, bytes] | None = None
        with inbound.suppress_internal_errors("asgi blocking check"):
            self._read_fields()
            refused = await to_thread.run_sync(inbound.refusal, self.mw.privlog, self.ctx)
        if refused is None:
            return False
        self.status, body = refused
        await self._send_error(self.status, body)
        self._record("blocked")
        return True

    async def _guard_failed(self, more: bool) -> None:
        """A fault in the guard itself (logged and counted): before anything left, the
        reply goes out unchecked rather than not at all; mid-stream, the stream ends."""
        guard, self.guard = self.guard, None
        if self.held is not None:
            start, self.held = self.held, None
            await self.send(start)
            await self.send(
                {"type": "http.response.body", "body": bytes(self.unsent), "more_body": more}
            )
            return
        if guard is not None:
            guard.close()
            self.guard = guard  # finished: the app's next piece stops its stream
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_error(self, status: int, body: bytes) -> None:
        await _send_json(self.send, status, body, self._record_header())

    async def _receive(self) -> Message:
        if self.replay:
            return self.replay.pop(0)
        message = await self.receive()
        if message["type"] == "http.request":
            self._tee(message)
        return message

    def _tee(self, message: Message) -> None:
        with inbound.suppress_internal_errors("asgi body"):
            self.body.feed(message.get("body", b""))
            if not message.get("more_body", False):
                self.body.finish()

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message.get("status")
            if self.http.record_header:
                message = {
                    **message,
                    "headers": [*message.get("headers", []), *self._record_header()],
                }
            self.guard = None
            with inbound.suppress_internal_errors("asgi reply guard"):
                self.guard = inbound.reply_guard(
                    self.mw.privlog, self.ctx, _headers(message), self.status
                )
            if self.guard is not None:
                self.held = message  # sent with the first bytes the guard lets through
                return
        elif message["type"] == "http.response.body" and self.guard is not None:
            await self._guarded_body(message)
            return
        elif self.held is not None:
            await self.send(self.held)
            self.held = None
        await self.send(message)

    async def _guarded_body(self, message: Message) -> None:
        """Send what the content rules let through; replace a reply blocked before any of
        it left with a 451, cut one blocked later. The app's later pieces are dropped."""
        guard = self.guard
        assert guard is not None
        if guard.finished:
            raise _ReplyCut  # the reply was cut or replaced: stop the app's stream
        body, more = message.get("body", b""), bool(message.get("more_body", False))
        if self.held is not None:
            self.unsent += body
        try:
            out = guard.feed(body)
            if not more:
                out += guard.end()
        except Exception as exc:
            inbound.note_internal_error("asgi reply guard", exc)
            await self._guard_failed(more)
            return
        if guard.blocked and self.held is not None:
            self.held = None
            self.status, body = guard.refusal()
            await self._send_error(self.status, body)
            return
        last = not more or guard.blocked
        if not out and not last:
            return
        if self.held is not None:
            start, self.held = self.held, None
            if not guard.whole:  # released in pieces, and a cut would change the length
                start = {
                    **start,
                    "headers": [
                        (k, v)
                        for k, v in start.get("headers", [])
                        if k.lower() != b"content-length"
                    ],
                }
            await self.send(start)
        await self.send({"type": "http.response.body", "body": out, "more_body": not last})

    def _record_header(self) -> list[tuple[bytes, bytes]]:
        return (
            [(b"x-privlog-record", self.ctx.record_id.encode())] if self.http.record_header else []
        )

    def _read_fields(self) -> None:
        if self.ctx.fields is None:
            inbound.read_fields(
                self.mw.privlog,
                self.ctx,
                content_type=self.headers.get("content-type"),
                body=self.body,
                query_string=self.scope.get("query_string", b"").decode("latin-1"),
                body_expected=inbound.expects_body(self.headers),
            )

    def _record(self, outcome: str) -> None:
        with inbound.suppress_internal_errors("asgi record"):
            self._read_fields()
            inbound.finish(
                self.mw.privlog,
                self.ctx,
                status=self.status,
                outcome="blocked" if outcome == "blocked" else "logged",
            )
