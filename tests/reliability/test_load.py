"""Load: the example apps under real servers with several workers (uvicorn for FastAPI,
gunicorn for Flask), a PostgreSQL store, and requests at a fixed rate from a bounded
open-loop generator. Every request answered, every record written once, one gapless chain;
the latency privlog adds is measured against the same endpoint without it, served alike."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.schema import records
from tests.canaries import cn_mobile, find_leaks
from tests.reliability_support import Report, size
from tests.storetools import scratch_database
from tests.test_examples import _free_port, _wait

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS = 2
SERVERS = {
    "fastapi-uvicorn": (
        [
            *(str(BIN / "uvicorn"), "{app}", "--workers", str(WORKERS)),
            *("--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"),
        ],
        "examples.fastapi_app:app",
        "tests.reliability.plain_apps:fastapi_app",
    ),
    "flask-gunicorn": (
        [str(BIN / "gunicorn"), "-w", str(WORKERS), "-b", "127.0.0.1:{port}", "{app}"],
        "examples.flask_app:app",
        "tests.reliability.plain_apps:flask_app",
    ),
}


@contextmanager
def _served(command: list[str], app: str, env: dict[str, str]) -> Iterator[int]:
    port = _free_port()
    cmd = [part.replace("{port}", str(port)).replace("{app}", app) for part in command]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        _wait(port, proc)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)  # graceful: each worker's writer flushes
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise


def _load(port: int, rate: int, seconds: int, bodies: list[bytes]) -> tuple[list[float], int]:
    """Send ``rate`` requests a second for ``seconds`` on a fixed schedule (open loop: a
    slow answer does not delay the next request). Returns the latencies and the errors."""
    latencies: list[float] = []
    errors = 0

    async def one(client: httpx.AsyncClient, body: bytes) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            response = await client.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                content=body,
                headers={"Content-Type": "application/json", "X-User-Id": "u-load"},
            )
            if response.status_code != 200:
                errors += 1
        except httpx.HTTPError:
            errors += 1
        latencies.append(time.perf_counter() - start)

    async def run() -> None:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            tasks = []
            start = time.perf_counter()
            for i in range(rate * seconds):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(client, bodies[i % len(bodies)])))
            await asyncio.gather(*tasks)

    asyncio.run(run())
    return latencies, errors


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@pytest.mark.slow
@pytest.mark.parametrize("server", list(SERVERS))
def test_load_at_a_fixed_rate(server: str, tmp_path: Path, reliability: Report) -> None:
    base = os.environ.get("PRIVLOG_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PRIVLOG_TEST_DATABASE_URL is not set: the load scenario needs PostgreSQL")
    rate, seconds = size(50, 200), size(8, 60)
    rng = random.Random(server)
    phones = [cn_mobile(rng) for _ in range(200)]
    bodies = [
        json.dumps(
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": f"Please call me back on {phone} about the "
                        "delivery to our Shanghai office, and summarise the contract terms.",
                    }
                ],
            }
        ).encode()
        for phone in phones
    ]
    command, app, plain = SERVERS[server]
    policy = tmp_path / "policy.toml"
    policy.write_text("[store]\nbatch_interval = 0.2\n")
    with scratch_database(base) as url:
        env = {
            **os.environ,
            "PRIVLOG_DATABASE_URL": url,
            "PRIVLOG_KEY_FILE": str(tmp_path / "k.keys"),
            "PRIVLOG_CONFIG": str(policy),
        }
        env.pop("UPSTREAM_URL", None)
        subprocess.run(
            [str(BIN / "privlog"), "db", "upgrade"], env=env, check=True, capture_output=True
        )
        with _served(command, plain, env) as port:
            _load(port, rate, 2, bodies)  # warm-up
            baseline, baseline_errors = _load(port, rate, seconds, bodies)
        with _served(command, app, env) as port:
            _load(port, rate, 2, bodies)  # warm-up: models loaded in every worker
            guarded, errors = _load(port, rate, seconds, bodies)
        store = ChainStore(make_engine(url))
        report = store.verify()
        with store.engine.connect() as conn:
            usage = conn.execute(
                select(func.count()).select_from(records).where(records.c.kind == "usage")
            ).scalar_one()
            texts = b"".join(
                (t or "").encode() for t in conn.execute(select(records.c.text)).scalars()
            )
        store.engine.dispose()
    sent = rate * (seconds + 2)
    assert baseline_errors == 0
    assert errors == 0
    assert report.ok, str(report)
    assert report.last_seq == report.records  # one chain, no gap, for all workers
    assert usage == sent  # every request recorded once: nothing dropped, nothing doubled
    assert find_leaks(texts, phones) == []
    added50 = _ms(guarded, 0.5) - _ms(baseline, 0.5)
    added99 = _ms(guarded, 0.99) - _ms(baseline, 0.99)
    reliability.area = "load"
    reliability.scenario = f"{server}, {WORKERS} workers, PostgreSQL"
    reliability.done = (
        f"{rate} requests/s for {seconds} s (after 2 s of warm-up) from an open-loop "
        f"generator on loopback; the same without privlog for the baseline"
    )
    reliability.figure = (
        f"{len(guarded):,} requests, {errors} errors; {usage:,} records for {sent:,} requests "
        f"(warm-up included); chain of {report.records:,} entries intact and gapless; p50 "
        f"{_ms(guarded, 0.5):.1f} ms ({added50:+.1f}), p99 {_ms(guarded, 0.99):.1f} ms "
        f"({added99:+.1f}) against the app alone; mean {statistics.mean(guarded) * 1000:.1f} ms"
    )
