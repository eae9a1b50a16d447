"""The pure-ASGI middleware: tee without pre-reading, passthrough, streaming, blocking."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from privlog import inbound
from privlog.adapters.asgi import PrivlogMiddleware
from privlog.config import HttpPolicy
from privlog.context import current_request
from tests.adapters_support import make_privlog, stored

CHAT = {"model": "m", "messages": [{"role": "user", "content": "call 13800138000 please"}]}


def _chunks(body: bytes, size: int = 1) -> Callable[[], Any]:
    """A receive() that yields ``body`` in ``size``-byte chunks and fails if polled again."""
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]

    async def receive() -> dict[str, Any]:
        if not messages:
            raise AssertionError("the middleware read past the last message")
        return messages.pop(0)

    return receive


def _scope(body: bytes, path: str = "/v1/chat/completions", **headers: str) -> dict[str, Any]:
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": hdrs,
        "query_string": b"",
        "client": ("203.0.113.9", 5000),
    }


async def _echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _run(app: Any, scope: dict[str, Any], receive: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_tees_one_byte_chunks_without_reading_ahead(tmp_path: Path) -> None:
    """Fed one byte at a time, the app gets the exact body, the middleware never polls past
    the last message, and the record holds the scrubbed message text."""
    pl = make_privlog(tmp_path)
    body = json.dumps(CHAT).encode()
    sent = _run(PrivlogMiddleware(_echo_app, privlog=pl), _scope(body), _chunks(body))
    assert sent[1]["body"] == body
    headers = dict(sent[0]["headers"])
    (row,) = stored(pl)
    assert headers[b"x-privlog-record"].decode() == row["record_id"]
    assert row["text"] == {"messages[0].content": "call <PHONE_NUMBER_1> please"}
    assert row["status"] == 200
    assert row["client_net"] == "203.0.113.0/24"
    assert row["flags"] == set()
    pl.close()


def test_lifespan_and_websocket_pass_through(tmp_path: Path) -> None:
    """Non-HTTP scopes reach the app untouched and leave no record."""
    pl = make_privlog(tmp_path)
    seen = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((scope["type"], receive is marker))

    async def marker() -> dict[str, Any]:
        return {}

    mw = PrivlogMiddleware(app, privlog=pl)
    asyncio.run(mw({"type": "websocket", "path": "/ws"}, marker, marker))
    assert seen == [("websocket", True)]
    assert stored(pl) == []
    pl.close()


def test_streamed_response_is_not_buffered(tmp_path: Path) -> None:
    """An SSE stream's first event reaches the client before the app sends the second (the
    app waits for it), so nothing is held back."""
    pl = make_privlog(tmp_path)
    first_seen = asyncio.Event

    async def main() -> list[bytes]:
        got_first = first_seen()
        chunks: list[bytes] = []

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await receive()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
            await asyncio.wait_for(got_first.wait(), 5)
            await send({"type": "http.response.body", "body": b"data: two\n\n"})

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message["body"])
                got_first.set()

        await PrivlogMiddleware(app, privlog=pl)(_scope(b"{}"), _chunks(b"{}", 64), send)
        return chunks

    assert asyncio.run(main()) == [b"data: one\n\n", b"data: two\n\n"]
    pl.close()


def test_client_disconnect_mid_upload(tmp_path: Path) -> None:
    """A client that goes away mid-upload: the app sees the disconnect, privlog records what
    it saw, flagged partial, and nothing breaks."""
    pl = make_privlog(tmp_path)
    messages = [
        {"type": "http.request", "body": b'{"prompt": "mail wei@exam', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    _run(PrivlogMiddleware(app, privlog=pl), _scope(b"x" * 100), receive)
    (row,) = stored(pl)
    assert "partial" in row["flags"]
    assert "unparseable" in row["flags"]
    assert row["text"] is None or row["text"] == {}
    pl.close()


def test_stacked_middleware_records_once(tmp_path: Path) -> None:
    """Registered twice (stacked), privlog records each request once."""
    pl = make_privlog(tmp_path)
    app = PrivlogMiddleware(PrivlogMiddleware(_echo_app, privlog=pl), privlog=pl)
    body = json.dumps(CHAT).encode()
    _run(app, _scope(body), _chunks(body, 7))
    assert len(stored(pl)) == 1
    pl.close()


def test_gzip_bomb_costs_at_most_the_cap(tmp_path: Path) -> None:
    """A 128 MiB gzip bomb is inflated only up to max_inspect_bytes; the app still gets every
    compressed byte, and the record is flagged truncated."""
    pl = make_privlog(tmp_path, http=HttpPolicy(max_inspect_bytes=64 * 1024))
    bomb = gzip.compress(b"\0" * (128 << 20), compresslevel=9)
    assert len(bomb) < 200_000
    sent = _run(
        PrivlogMiddleware(_echo_app, privlog=pl),
        _scope(bomb, content_encoding="gzip"),
        _chunks(bomb, 16384),
    )
    assert sent[1]["body"] == bomb
    (row,) = stored(pl)
    assert "truncated" in row["flags"]
    pl.close()


def test_internal_errors_never_break_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If privlog's own code fails, the app's response is unchanged and the error counted."""
    pl = make_privlog(tmp_path)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("wei@example.com inside the message")

    monkeypatch.setattr(inbound, "read_fields", broken)
    before = inbound.internal_errors()
    body = json.dumps(CHAT).encode()
    sent = _run(PrivlogMiddleware(_echo_app, privlog=pl), _scope(body), _chunks(body, 10))
    assert sent[1]["body"] == body
    assert inbound.internal_errors() > before
    pl.close()


class TestFastAPI:
    def _app(self, pl: Any) -> FastAPI:
        app = FastAPI()
        app.add_middleware(
            PrivlogMiddleware, privlog=pl, identify=lambda conn: conn.headers.get("x-api-user")
        )

        @app.post("/v1/chat/completions")
        async def chat(payload: dict[str, Any]) -> dict[str, Any]:
            ctx = current_request.get()
            return {
                "echo": payload["messages"][0]["content"],
                "record": ctx.record_id if ctx else None,
            }

        return app

    def test_end_to_end(self, tmp_path: Path) -> None:
        """A FastAPI app with two lines of privlog: the view reads the JSON as usual, the
        record carries scrubbed text, keyed subject and session tokens, and its id is in the
        X-Privlog-Record header and the request context."""
        pl = make_privlog(tmp_path)
        with TestClient(self._app(pl)) as client:
            response = client.post(
                "/v1/chat/completions",
                json=CHAT,
                headers={"x-api-user": "user-42", "x-session-id": "conv-7"},
            )
        assert response.status_code == 200
        assert response.json()["echo"] == "call 13800138000 please"
        (row,) = stored(pl)
        assert response.headers["x-privlog-record"] == row["record_id"] == response.json()["record"]
        assert row["text"] == {"messages[0].content": "call <PHONE_NUMBER_1> please"}
        assert row["subject_token"] in pl.subject_tokens("user-42")
        assert row["session_token"]
        assert "conv-7" not in str(row)
        pl.close()

    def test_blocking_policy(self, tmp_path: Path) -> None:
        """With block_on, a request carrying a resident ID gets 422 naming what to remove
        (never the value) and is recorded as blocked; other requests reach the view with
        their exact body."""
        pl = make_privlog(tmp_path, http=HttpPolicy(block_on=("CN_RESIDENT_ID",)))
        with TestClient(self._app(pl)) as client:
            bad = client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "id 11010519491231002X"}]},
            )
            good = client.post("/v1/chat/completions", json=CHAT)
        assert bad.status_code == 422
        assert "resident identity card number" in bad.json()["error"]["message"]
        assert "11010519491231002X" not in bad.text
        assert good.status_code == 200
        assert good.json()["echo"] == "call 13800138000 please"
        rows = stored(pl)
        assert [r["outcome"] for r in rows] == ["blocked", "logged"]
        assert [r["status"] for r in rows] == [422, 200]
        assert rows[0]["text"] == {"messages[0].content": "id <CN_RESIDENT_ID_1>"}
        pl.close()

    @pytest.mark.usefixtures("broken_detection")
    def test_blocking_policy_without_a_verdict(self, tmp_path: Path) -> None:
        """With block_on and a detector that fails, the request is refused with 503 and
        never reaches the view (it could carry what the policy blocks); the record keeps
        no text."""
        pl = make_privlog(tmp_path, http=HttpPolicy(block_on=("CN_RESIDENT_ID",)))
        with TestClient(self._app(pl)) as client:
            response = client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "id 11010519491231002X"}]},
            )
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "request_not_checked"
        assert "11010519491231002X" not in response.text
        (row,) = stored(pl)
        assert (row["outcome"], row["status"], row["text"]) == ("blocked", 503, None)
        assert "detector_error" in row["flags"]
        pl.close()


def test_lifespan_shutdown_flushes_the_queue(tmp_path: Path) -> None:
    """Lifespan messages reach the app unchanged; on shutdown privlog writes what is queued
    first (uvicorn re-raises SIGTERM after shutdown, so atexit would never run)."""
    pl = make_privlog(tmp_path)
    pl.log_input({"prompt": "queued before shutdown"}, route="/r", defer=True)
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    seen: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(await receive())
        seen.append(await receive())

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(PrivlogMiddleware(app, privlog=pl)({"type": "lifespan"}, receive, send))
    assert seen == [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    stats = pl.stats()
    assert stats["written"] == 1
    assert stats["in_flight"] == 0


def test_chunked_upload_without_content_length(tmp_path: Path) -> None:
    """A chunked upload (no Content-Length) is capped by bytes received: 3 MB of prompt in
    64 KiB chunks keeps 1 MiB for inspection, is flagged truncated, and reaches the app whole."""
    pl = make_privlog(tmp_path)
    body = json.dumps({"prompt": "x" * 3_000_000}).encode()
    scope = _scope(body)
    scope["headers"] = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    sent = _run(PrivlogMiddleware(_echo_app, privlog=pl), scope, _chunks(body, 65536))
    assert sent[1]["body"] == body
    (row,) = stored(pl)
    assert {"truncated", "unparseable"} <= row["flags"]
    assert row["input_chars"] == 0
    pl.close()


def test_app_restarted_in_the_same_process_keeps_recording(tmp_path: Path) -> None:
    """A lifespan shutdown flushes but does not close: the same app started again (a test
    client used twice) still records."""
    pl = make_privlog(tmp_path)
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl)

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, str]:
        return {"ok": "yes"}

    for _ in range(2):
        with TestClient(app) as client:
            client.post("/v1/chat/completions", json=CHAT)
        assert pl.stats()["in_flight"] == 0
    assert len(stored(pl)) == 2
    assert pl.stats()["dropped_total"] == 0
    pl.close()
