"""The database slow, or gone for a while, under requests through the ASGI middleware:
requests never wait for it, every one is answered, and every record is written once the
database keeps up again (received = written + dropped + in_flight throughout)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from privlog.adapters.asgi import PrivlogMiddleware
from privlog.store.chainstore import ChainStore
from tests.adapters_support import asgi_post, make_privlog, stored
from tests.canaries import find_leaks
from tests.reliability_support import Report, size

DELAY = 0.25  # seconds per batch write, in the slow case


def _app(pl: Any) -> Any:
    app = FastAPI()

    @app.post("/v1/chat")
    async def chat(body: dict[str, Any]) -> dict[str, str]:
        return {"reply": "ok"}

    return PrivlogMiddleware(app, privlog=pl)


PHONES = [f"139{i:08d}" for i in range(0, 10**8, 10**8 // 5_000)]


def _files(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def _run(app: Any, count: int, first: int = 0) -> tuple[list[float], list[int]]:
    bodies = [
        json.dumps({"messages": [{"role": "user", "content": f"call me on {PHONES[i]}"}]}).encode()
        for i in range(first, first + count)
    ]

    async def run() -> list[tuple[float, int]]:
        return [await asgi_post(app, "/v1/chat", body) for body in bodies]

    results = asyncio.run(run())
    return [t for t, _ in results], [s for _, s in results]


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


@pytest.mark.slow
def test_a_slow_database_does_not_slow_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Report
) -> None:
    """Every batch write takes a quarter of a second: requests are answered as fast as with
    a quick database (none waits for a write), and all records are written in the end."""
    count = size(300, 3_000)
    (tmp_path / "quick").mkdir()
    (tmp_path / "slow").mkdir()
    pl = make_privlog(tmp_path / "quick")
    quick, _ = _run(_app(pl), count)
    assert len(stored(pl)) == count
    pl.close()
    append = ChainStore.append

    def slow_append(self: ChainStore, payloads: Any) -> int:
        time.sleep(DELAY)
        return append(self, payloads)

    monkeypatch.setattr(ChainStore, "append", slow_append)
    pl = make_privlog(tmp_path / "slow")
    slow, statuses = _run(_app(pl), count)
    assert pl.flush(60) == 0
    rows = stored(pl)
    stats = pl.stats()
    pl.close()
    assert set(statuses) == {200}
    assert len(rows) == count
    assert stats["received"] == stats["written"] == count
    assert max(slow) < DELAY  # no request waited for a write
    reliability.area = "faults"
    reliability.scenario = "database slow (FastAPI, SQLite)"
    reliability.done = (
        f"{count:,} requests, every batch write delayed {DELAY} s; the same with a quick "
        "database for comparison"
    )
    reliability.figure = (
        f"p50 {_p(slow, 0.5):.2f} ms, p99 {_p(slow, 0.99):.2f} ms, slowest "
        f"{max(slow) * 1000:.1f} ms (quick database: p50 {_p(quick, 0.5):.2f} ms, p99 "
        f"{_p(quick, 0.99):.2f} ms); {count:,}/{count:,} answered 200 and written"
    )


@pytest.mark.slow
def test_requests_succeed_while_the_database_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Report
) -> None:
    """The database refuses every write while the first half of the requests arrive, then
    comes back: every request is answered, the counters add up at every moment, no raw text
    is spooled to disk, and every record is written once it is back."""
    count = size(400, 4_000)
    append = ChainStore.append
    down = threading.Event()
    down.set()

    def flaky_append(self: ChainStore, payloads: Any) -> int:
        if down.is_set():
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database is down"))
        return append(self, payloads)

    monkeypatch.setattr(ChainStore, "append", flaky_append)
    pl = make_privlog(tmp_path)
    app = _app(pl)
    half = count // 2
    times, statuses = _run(app, half)
    snapshot = pl.stats()
    assert (
        snapshot["received"]
        == snapshot["written"] + snapshot["dropped_total"] + snapshot["in_flight"]
    )
    assert snapshot["written"] == 0
    spooled = find_leaks(_files(tmp_path), PHONES[:half])
    down.clear()
    more, more_statuses = _run(app, count - half, first=half)
    assert pl.flush(60) == 0
    rows = stored(pl)
    stats = pl.stats()
    pl.close()
    assert set(statuses + more_statuses) == {200}
    assert stats["received"] == stats["written"] == count
    assert len(rows) == count
    assert spooled == []  # nothing raw anywhere on disk while the database was down
    assert find_leaks(_files(tmp_path), PHONES[:count]) == []
    reliability.area = "faults"
    reliability.scenario = "database down for a while, then back (FastAPI, SQLite)"
    reliability.done = (
        f"{half:,} requests while every write was refused, then {count - half:,} after it came back"
    )
    reliability.figure = (
        f"{count:,}/{count:,} answered 200 (slowest {max(times + more) * 1000:.1f} ms); "
        f"while down: {snapshot['in_flight']:,} in flight, 0 written, identity exact; after: "
        f"{stats['written']:,} written, 0 dropped"
    )
