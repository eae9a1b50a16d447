"""The detector raising on every call (with the input quoted in its message), under requests
through FastAPI and Flask whose app forwards each body through the egress guard: every
request is answered, no text is stored, every outbound call is refused, and the input
reaches no sink, the exception's message included."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from flask import Flask
from flask import request as flask_request

from privlog import Privlog
from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from privlog.adapters.httpx import guarded_client
from privlog.errors import EgressBlocked
from tests.adapters_support import stored
from tests.canaries import find_leaks, fixed_format_canaries
from tests.reliability_support import Report, size
from tests.test_egress import _privlog
from tests.thirdparty import third_party

Send = Callable[[dict[str, Any]], tuple[int, Any]]


def _forward(pl: Privlog, upstream: str, body: bytes) -> dict[str, bool]:
    try:
        with guarded_client(privlog=pl) as client:
            client.post(upstream, content=body, headers={"content-type": "application/json"})
    except EgressBlocked:
        return {"forwarded": False}
    return {"forwarded": True}


def _fastapi(pl: Privlog, upstream: str) -> Send:
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl)

    @app.post("/v1/chat")
    async def chat(request: Request) -> Any:
        return _forward(pl, upstream, await request.body())

    client = TestClient(app, raise_server_exceptions=False)

    def send(body: dict[str, Any]) -> tuple[int, Any]:
        response = client.post("/v1/chat", json=body)
        return response.status_code, response.json()

    return send


def _flask(pl: Privlog, upstream: str) -> Send:
    app = Flask(__name__)
    PrivlogFlask(app, privlog=pl)

    @app.post("/v1/chat")
    def chat() -> Any:
        return _forward(pl, upstream, flask_request.get_data())

    client = app.test_client()

    def send(body: dict[str, Any]) -> tuple[int, Any]:
        response = client.post("/v1/chat", json=body)
        return response.status_code, response.json

    return send


@pytest.mark.slow
@pytest.mark.usefixtures("broken_detection")
@pytest.mark.parametrize("framework", [_fastapi, _flask], ids=["fastapi", "flask"])
def test_detector_raising_on_every_call(
    framework: Callable[[Privlog, str], Send],
    tmp_path: Path,
    rng: random.Random,
    caplog: pytest.LogCaptureFixture,
    reliability: Report,
) -> None:
    count = size(50, 500)
    planted: list[str] = []
    answers = []
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        send = framework(pl, f"http://127.0.0.1:{server.server_port}/v1/chat")
        with caplog.at_level(logging.DEBUG):
            for _ in range(count):
                values = [c.value for c in fixed_format_canaries(rng)]
                planted += values
                answers.append(send({"messages": [{"role": "user", "content": " ".join(values)}]}))
            rows = stored(pl)
        refused = pl.stats()["egress"].get("blocked_detector_error", 0)
        pl.close()
        received = len(server.received)
    assert [status for status, _ in answers] == [200] * count
    assert [answer for _, answer in answers] == [{"forwarded": False}] * count
    assert received == 0
    assert refused == count
    assert len(rows) == count
    assert all(row["text"] is None and "detector_error" in row["flags"] for row in rows)
    sinks = [p.read_bytes() for p in tmp_path.glob("privlog.db*")] + [caplog.text.encode()]
    leaks = [hit for blob in sinks for hit in find_leaks(blob, planted)]
    assert leaks == []
    name = framework.__name__.strip("_")
    reliability.area = "faults"
    reliability.scenario = f"detector raising on every call ({name})"
    reliability.done = (
        f"{count} requests with {len(planted):,} canaries; the detector raises with the input "
        "in its message; the app forwards each body through the egress guard"
    )
    reliability.figure = (
        f"{count}/{count} answered 200; {count}/{count} records without text, flagged "
        f"detector_error; {refused}/{count} outbound calls refused, 0 received by the third "
        f"party; canary hits in the database files and the log: {len(leaks)}"
    )
