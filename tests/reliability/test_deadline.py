"""The detection deadline on a 200,000-character input: the request is answered soon after
the deadline (fail open), no text is stored (fail closed), and an outbound call carrying it
is refused in time."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

from privlog import Privlog
from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from privlog.adapters.httpx import guarded_client
from privlog.config import HttpPolicy, Policy, Settings, StorePolicy
from privlog.detect import DEFAULT_MODEL, DetectionSettings
from privlog.errors import EgressBlocked
from tests.adapters_support import stored
from tests.canaries import find_leaks, fixed_format_canaries
from tests.reliability_support import Report, size
from tests.thirdparty import third_party

DEADLINE = 0.5
CHARS = 200_000
# One detection step (a window of 5,000 characters) may be under way when the deadline
# passes; the rest is the request's own handling of a 200 kB body.
SLACK = 0.6


def _privlog(tmp_path: Path, *, inline: bool, port: int = 1) -> Privlog:
    return Privlog(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'privlog.db'}",
            key_file=tmp_path / "privlog.keys",
            policy=Policy(
                detection=DetectionSettings(model=DEFAULT_MODEL, deadline=DEADLINE),
                store=StorePolicy(batch_interval=0.02),
                # A blocking policy makes the middleware scan before the app runs.
                http=HttpPolicy(block_on=("CN_RESIDENT_ID",) if inline else ()),
                egress={
                    "processors": [{"name": "vendor", "hosts": [f"127.0.0.1:{port}"]}],
                    "detection_deadline": DEADLINE,
                },
            ),
        )
    )


def _prompt(rng: random.Random) -> tuple[str, list[str]]:
    """About 200,000 characters of ordinary prose with canaries at both ends."""
    canaries = [c.value for c in fixed_format_canaries(rng)]
    words = ["Please", "review", "the", "Boston", "contract", "notes", "from", "Maria", "today"]
    body = " ".join(rng.choice(words) for _ in range(CHARS // 6))
    text = f"{' '.join(canaries)} {body} {' '.join(canaries)}"
    return text[: CHARS // 2] + text[-CHARS // 2 :], canaries


def _fastapi(pl: Privlog, ran: list[int]) -> Any:
    app = FastAPI()

    @app.post("/v1/chat")
    def chat(body: dict[str, Any]) -> dict[str, str]:
        ran.append(1)
        return {"reply": "ok"}

    app.add_middleware(PrivlogMiddleware, privlog=pl)
    return app


def _flask(pl: Privlog, ran: list[int]) -> Flask:
    app = Flask(__name__)

    @app.post("/v1/chat")
    def chat() -> dict[str, str]:
        ran.append(1)
        return {"reply": "ok"}

    PrivlogFlask(app, privlog=pl)
    return app


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["fastapi", "flask"])
@pytest.mark.parametrize("mode", ["inline", "deferred"])
def test_deadline_on_a_200k_input(
    framework: str, mode: str, tmp_path: Path, rng: random.Random, reliability: Report
) -> None:
    """Inline (a blocking policy needs the verdict first), the request is refused with 503
    within the deadline plus one step and the app does not run: a prompt padded past the
    deadline must not carry blocked data through. Deferred, the app answers at once and the
    writer gives up at the deadline. Either way the record carries ``detector_timeout``, no
    text, and no canary is in the database files."""
    trials = size(2, 10)
    inline = mode == "inline"
    pl = _privlog(tmp_path, inline=inline)
    ran: list[int] = []
    slowest = 0.0
    canaries: list[str] = []
    statuses = []
    if framework == "fastapi":
        client = TestClient(_fastapi(pl, ran))
        client.__enter__()
        post = client.post
    else:
        post = _flask(pl, ran).test_client().post
    for _ in range(trials):
        prompt, planted = _prompt(rng)
        canaries += planted
        start = time.monotonic()
        response = post("/v1/chat", json={"prompt": prompt})
        slowest = max(slowest, time.monotonic() - start)
        statuses.append(response.status_code)
        if inline:
            body = response.json() if callable(response.json) else response.json
            assert body["error"]["type"] == "request_not_checked"
    if framework == "fastapi":
        client.__exit__(None, None, None)
    rows = stored(pl)
    pl.close()
    assert statuses == [503 if inline else 200] * trials
    assert len(ran) == (0 if inline else trials)
    assert len(rows) == trials
    assert all("detector_timeout" in row["flags"] and row["text"] is None for row in rows)
    if inline:
        assert all(row["outcome"] == "blocked" for row in rows)
        assert slowest < DEADLINE + SLACK, slowest
    leaks = [
        hit
        for path in tmp_path.iterdir()
        if path.name.startswith("privlog.db")
        for hit in find_leaks(path.read_bytes(), canaries)
    ]
    assert leaks == []
    reliability.area = "faults"
    reliability.scenario = f"detector past its deadline, {mode} ({framework})"
    reliability.done = (
        f"{trials} requests of {CHARS:,} characters with canaries, deadline {DEADLINE} s "
        f"(a full scan takes several seconds)"
        + ("; a blocking policy, so the scan comes first" if inline else "")
    )
    reliability.figure = (
        f"slowest response {slowest:.2f} s; "
        + (
            f"{trials}/{trials} refused with 503, the app never ran"
            if inline
            else f"{trials}/{trials} answered by the app"
        )
        + f"; {trials}/{trials} records flagged detector_timeout without text; canary hits "
        f"in the database files: {len(leaks)}"
    )


@pytest.mark.slow
def test_deadline_on_a_200k_outbound_body(
    tmp_path: Path, rng: random.Random, reliability: Report
) -> None:
    """An outbound call with a 200,000-character body is refused within the deadline plus
    one step, and the third party receives nothing; the detector is free again right
    after (the next small call is not kept waiting behind the abandoned scan)."""
    trials = size(2, 10)
    slowest = 0.0
    after = 0.0
    with third_party() as server:
        pl = _privlog(tmp_path, inline=False, port=server.server_port)
        url = f"http://127.0.0.1:{server.server_port}/v1/chat"
        with guarded_client(privlog=pl) as client:
            for _ in range(trials):
                prompt, _ = _prompt(rng)
                start = time.monotonic()
                with pytest.raises(EgressBlocked, match="detection took longer"):
                    client.post(url, json={"messages": [{"role": "user", "content": prompt}]})
                slowest = max(slowest, time.monotonic() - start)
                start = time.monotonic()
                client.post(url, json={"messages": [{"role": "user", "content": "hello"}]})
                after = max(after, time.monotonic() - start)
        assert len(server.received) == trials  # only the small calls
        assert all(len(body) < 1_000 for body in server.bodies)
        pl.close()
    assert slowest < DEADLINE + SLACK, slowest
    assert after < SLACK, after
    reliability.area = "faults"
    reliability.scenario = "detector past its deadline, outbound call"
    reliability.done = (
        f"{trials} outbound calls of {CHARS:,} characters to a processor, deadline {DEADLINE} s"
    )
    reliability.figure = (
        f"{trials}/{trials} refused, slowest in {slowest:.2f} s; third party received 0 of "
        f"them; the next small call took at most {after:.2f} s"
    )
