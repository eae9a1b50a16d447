"""privlog for Flask: a proper extension.

    PrivlogFlask(app)            # or: ext = PrivlogFlask(); ext.init_app(app)

Config keys (``app.config``, falling back to the environment): ``PRIVLOG_DATABASE_URL``,
``PRIVLOG_KEY_FILE``, ``PRIVLOG_CONFIG``. The body is read once, in the first
``before_request`` handler, with ``get_data(cache=True)`` after a size check, so views can
still use ``request.form``, ``request.json`` or ``request.get_data()`` in any order. (One
visible difference: ``request.data`` on a form post returns the raw body, where Werkzeug
would return nothing after parsing the form itself.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    from flask import Flask, Response, current_app, g, request
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("privlog.adapters.flask needs Flask: pip install 'privlog[flask]'") from exc

from privlog import inbound
from privlog.body import BodyCollector
from privlog.config import Settings
from privlog.context import RequestContext, current_request
from privlog.core import Privlog
from privlog.identity import Subject
from privlog.replies import ReplyGuard

__all__ = ["PrivlogFlask"]

Identify = Callable[[Any], Subject | str | None]


class _AppState:
    __slots__ = ("identify", "privlog")

    def __init__(self, privlog: Privlog, identify: Identify | None) -> None:
        self.privlog = privlog
        self.identify = identify


class PrivlogFlask:
    """The Flask extension. State lives in ``app.extensions["privlog"]``, never on self."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        privlog: Privlog | None = None,
        identify: Identify | None = None,
    ) -> None:
        self._privlog = privlog
        self._identify = identify
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register on ``app``. ``PRIVLOG_*`` config keys override the environment."""
        if "privlog" in app.extensions:
            raise RuntimeError("privlog is already registered on this app; call init_app once")
        privlog = self._privlog
        if privlog is None:
            overrides = {k: str(v) for k, v in app.config.items() if k.startswith("PRIVLOG_")}
            privlog = Privlog(Settings.from_env({**os.environ, **overrides}))
        app.extensions["privlog"] = _AppState(privlog, self._identify)
        # First in line, so the body is read before any other handler parses the form.
        app.before_request_funcs.setdefault(None, []).insert(0, _before_request)
        app.after_request(_after_request)
        app.teardown_request(_teardown_request)


def _state() -> _AppState:
    state: _AppState = current_app.extensions["privlog"]
    return state


def _before_request() -> Response | None:
    state = _state()
    http = state.privlog.settings.policy.http
    if not http.extraction.applies_to(request.path):
        gate = inbound.unrecorded_refusal(state.privlog, state.identify, request, request.path)
        if gate is None:
            return None
        status, body = gate
        return Response(body, status=status, mimetype="application/json")
    ctx = RequestContext(
        route=request.path,
        method=request.method,
        tenant=request.headers.get(http.tenant_header) if http.tenant_header else None,
        session=request.headers.get(http.session_header),
        client_ip=request.remote_addr,
    )
    g._privlog_ctx = ctx
    g._privlog_token = current_request.set(ctx)
    inbound.identify(ctx, state.identify, request)
    unidentified = inbound.identity_refusal(state.privlog, ctx)
    if unidentified is not None:  # before the body is read: the request goes no further
        ctx.fields = {}
        return _refuse(unidentified)
    with inbound.suppress_internal_errors("flask body"):
        _read(state.privlog, ctx, http.max_inspect_bytes)
    if not inbound.checks_before_app(state.privlog):
        return None
    refused: tuple[int, bytes] | None = None
    with inbound.suppress_internal_errors("flask blocking check"):
        refused = inbound.refusal(state.privlog, ctx)
    if refused is None:
        return None
    return _refuse(refused)


def _refuse(refused: tuple[int, bytes]) -> Response:
    g._privlog_outcome = "blocked"
    status, body = refused
    return Response(body, status=status, mimetype="application/json")


def _read(privlog: Privlog, ctx: RequestContext, cap: int) -> None:
    collector = BodyCollector(cap, request.headers.get("Content-Encoding"))
    length = request.content_length
    if length is not None and length > cap:
        collector.truncated = True  # not read here: the view decides what to do with it
    else:
        collector.feed(request.get_data(cache=True))
    collector.finish()
    inbound.read_fields(
        privlog,
        ctx,
        content_type=request.headers.get("Content-Type"),
        body=collector,
        query_string=request.query_string.decode("latin-1"),
        body_expected=True,
    )
    if not ctx.fields and "form" in request.__dict__:
        # Another handler parsed the form before privlog: take the parsed text fields and
        # file names (the stream is consumed, get_data() is empty now).
        ctx.fields = {f"form.{k}": v for k, v in request.form.items(multi=True)}
        ctx.fields.update(
            {f"form.{k}.filename": f.filename or "" for k, f in request.files.items(multi=True)}
        )


def _after_request(response: Response) -> Response:
    ctx: RequestContext | None = g.get("_privlog_ctx")
    if ctx is None:
        return response
    privlog = _state().privlog
    guard: ReplyGuard | None = None
    refused_here = g.get("_privlog_outcome") == "blocked"  # privlog's own 451/422
    with inbound.suppress_internal_errors("flask reply guard"):
        if not refused_here:
            headers = {k.lower(): v for k, v in response.headers.items()}
            guard = inbound.reply_guard(privlog, ctx, headers, response.status_code)
    if guard is not None:
        response = _guarded(privlog, ctx, guard, response)
    g._privlog_status = response.status_code
    if privlog.settings.policy.http.record_header:
        response.headers["X-Privlog-Record"] = ctx.record_id
    return response


def _guarded(
    privlog: Privlog, ctx: RequestContext, guard: ReplyGuard, response: Response
) -> Response:
    """Check the reply: a whole one is replaced by a 451 if blocked; a streamed one is
    checked as the server sends it, cut if blocked, and recorded when it ends. A fault in
    the guard lets the reply through unchecked (logged and counted)."""
    if not response.is_streamed:
        try:
            guard.feed(response.get_data())
            guard.end()
        except Exception as exc:
            inbound.note_internal_error("flask reply guard", exc)
            return response
        if guard.blocked:
            status, body = guard.refusal()
            return Response(body, status=status, mimetype="application/json")
        return response
    guard.replaceable = False  # the status line is gone by the time a piece is judged
    guard.whole = False
    response.response = _GuardedStream(privlog, ctx, guard, response.response, response.status_code)
    response.headers.pop("Content-Length", None)
    g._privlog_deferred = True
    return response


class _GuardedStream:
    """The app's streamed body, checked piece by piece. ``close`` (which the WSGI server
    always calls, even when it never iterates, as for HEAD) stops the app's generator and
    writes the record."""

    def __init__(
        self,
        privlog: Privlog,
        ctx: RequestContext,
        guard: ReplyGuard,
        chunks: Iterable[bytes | str],
        status: int,
    ) -> None:
        self.privlog, self.ctx, self.guard, self.status = privlog, ctx, guard, status
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._checked()
        finally:  # the end, a cut or a disconnect: stop the app's generator, record
            self.close()

    def _checked(self) -> Iterator[bytes]:
        guard: ReplyGuard | None = self.guard
        for chunk in self.chunks:
            data = chunk.encode() if isinstance(chunk, str) else chunk
            if guard is None:  # the guard failed before anything left: pass through
                yield data
                continue
            try:
                out = guard.feed(data)
            except Exception as exc:
                inbound.note_internal_error("flask reply guard", exc)
                if guard.released:
                    return  # mid-stream: end it rather than send unchecked text
                out, guard = guard.unreleased() + data, None
            if out:
                yield out
            if guard is not None and guard.finished:
                return  # cut: close() stops the app's generator, so the model stops
        if guard is not None:
            try:
                out = guard.end()
            except Exception as exc:
                inbound.note_internal_error("flask reply guard", exc)
                out = b"" if guard.released else guard.unreleased()
            if out:
                yield out

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        close = getattr(self.chunks, "close", None)
        try:
            if close is not None:
                close()
        finally:
            with inbound.suppress_internal_errors("flask record"):
                inbound.finish(self.privlog, self.ctx, status=self.status)


def _teardown_request(exc: BaseException | None) -> None:
    ctx: RequestContext | None = g.get("_privlog_ctx")
    if ctx is None:
        return
    if exc is not None:
        ctx.flags.add("aborted")
    if g.pop("_privlog_deferred", False) and exc is None:
        pass  # a streamed reply: recorded when its stream ends
    else:
        _finish(ctx, exc)
    token = g.pop("_privlog_token", None)
    if token is not None:
        current_request.reset(token)


def _finish(ctx: RequestContext, exc: BaseException | None) -> None:
    with inbound.suppress_internal_errors("flask record"):
        inbound.finish(
            _state().privlog,
            ctx,
            status=g.get("_privlog_status", 500 if exc is not None else None),
            outcome=g.get("_privlog_outcome", "logged"),
        )
