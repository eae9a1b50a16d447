"""The egress guard as httpx transports, for SDKs built on httpx (OpenAI, Anthropic).

    client = guarded_client()                    # httpx.Client
    openai.OpenAI(http_client=guarded_client())  # the vendor SDK, guarded

The outgoing request is read with ``request.read()`` (replay-safe) and rewritten or refused
by :class:`privlog.egress.EgressGuard`; the response stream is only touched when the
processor asks for placeholders to be restored, chunk by chunk.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Iterator
from typing import Any

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("privlog.adapters.httpx needs httpx: pip install httpx") from exc

from privlog.core import Privlog
from privlog.egress import EgressDecision, Restorer, SseRestorer, restorer_for

__all__ = [
    "AsyncGuardTransport",
    "GuardTransport",
    "guarded_async_client",
    "guarded_client",
]


def _outgoing(request: httpx.Request, decision: EgressDecision) -> httpx.Request:
    if decision.action == "first_party":
        return request
    headers = [
        (k, decision.headers.get(k, v))
        for k, v in request.headers.multi_items()
        if k.lower() != "content-length"
    ]
    if decision.restore is not None:  # restoring needs the reply as plain text
        headers = [(k, v) for k, v in headers if k.lower() != "accept-encoding"]
        headers.append(("accept-encoding", "identity"))
    return httpx.Request(
        request.method,
        decision.url,
        headers=headers,
        content=decision.body,
        extensions=request.extensions,
    )


class _ByteRestorer:
    """Bytes in, bytes out: incremental UTF-8 decoding around a text restorer."""

    def __init__(self, restorer: Restorer | SseRestorer) -> None:
        self._restorer = restorer
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, chunk: bytes) -> bytes:
        return self._restorer.feed(self._decoder.decode(chunk)).encode()

    def finish(self) -> bytes:
        tail = self._restorer.feed(self._decoder.decode(b"", final=True))
        return (tail + self._restorer.finish()).encode()


class _RestoringStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, restorer: _ByteRestorer) -> None:
        self._inner, self._restorer = inner, restorer

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if out := self._restorer.feed(chunk):
                yield out
        if tail := self._restorer.finish():
            yield tail

    def close(self) -> None:
        self._inner.close()


class _AsyncRestoringStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, restorer: _ByteRestorer) -> None:
        self._inner, self._restorer = inner, restorer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            if out := self._restorer.feed(chunk):
                yield out
        if tail := self._restorer.finish():
            yield tail

    async def aclose(self) -> None:
        await self._inner.aclose()


def _restored(
    request: httpx.Request, response: httpx.Response, decision: EgressDecision, *, is_async: bool
) -> httpx.Response:
    """The reply with placeholders restored as it streams (if the processor asks for it)."""
    if decision.restore is None:
        return response
    restorer = _ByteRestorer(
        restorer_for(response.headers.get("content-type", ""), decision.restore)
    )
    stream = response.stream
    wrapped: httpx.SyncByteStream | httpx.AsyncByteStream
    # (httpx.ByteStream is both sync and async: the calling transport decides)
    if is_async:
        assert isinstance(stream, httpx.AsyncByteStream)
        wrapped = _AsyncRestoringStream(stream, restorer)
    else:
        assert isinstance(stream, httpx.SyncByteStream)
        wrapped = _RestoringStream(stream, restorer)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"]
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=wrapped,
        extensions=response.extensions,
        request=request,
    )


class GuardTransport(httpx.BaseTransport):
    """Wraps any httpx transport; refuses or scrubs each request per the egress policy."""

    def __init__(
        self, inner: httpx.BaseTransport | None = None, *, privlog: Privlog | None = None
    ) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._privlog = privlog

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        guard = (self._privlog or Privlog.current()).egress_guard
        body = request.read()
        decision = guard.check(request.method, str(request.url), dict(request.headers), body)
        response = self._inner.handle_request(_outgoing(request, decision))
        return _restored(request, response, decision, is_async=False)

    def close(self) -> None:
        self._inner.close()


class AsyncGuardTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`GuardTransport`; detection runs in a worker thread."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport | None = None, *, privlog: Privlog | None = None
    ) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._privlog = privlog

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import contextvars

        import anyio

        guard = (self._privlog or Privlog.current()).egress_guard
        body = await request.aread()
        context = contextvars.copy_context()  # the request context must reach the thread
        decision = await anyio.to_thread.run_sync(
            lambda: context.run(
                guard.check, request.method, str(request.url), dict(request.headers), body
            )
        )
        response = await self._inner.handle_async_request(_outgoing(request, decision))
        return _restored(request, response, decision, is_async=True)

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_client(*, privlog: Privlog | None = None, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` whose every request passes the egress guard."""
    inner = kwargs.pop("transport", None)
    return httpx.Client(transport=GuardTransport(inner, privlog=privlog), **kwargs)


def guarded_async_client(*, privlog: Privlog | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request passes the egress guard."""
    inner = kwargs.pop("transport", None)
    return httpx.AsyncClient(transport=AsyncGuardTransport(inner, privlog=privlog), **kwargs)
