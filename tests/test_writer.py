"""The write path under load and faults: counters stay exact, requests never wait or fail."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import event

from privlog.records import UsageRecord
from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.writer import RecordWriter, WriterSettings
from tests.reliability_support import Report
from tests.storetools import signer
from tests.test_records import _record

FAST = WriterSettings(
    queue_size=200,
    batch_size=50,
    batch_interval=0.02,
    backoff_initial=0.01,
    backoff_max=0.05,
    breaker_threshold=3,
    breaker_cooldown=0.1,
)


def _prepare(batch: Sequence[UsageRecord]) -> list[Mapping[str, Any]]:
    return [{"kind": "usage", **r.payload()} for r in batch]


def _identity(stats: Mapping[str, Any]) -> bool:
    return stats["received"] == stats["written"] + stats["dropped_total"] + stats["in_flight"]


def _writer(url: str, settings: WriterSettings = FAST, **engine_kwargs: Any) -> RecordWriter:
    engines = []

    def factory() -> ChainStore:
        engine = make_engine(url, **engine_kwargs)
        engines.append(engine)
        return ChainStore(engine, signer(), auto_migrate=True)

    writer = RecordWriter(factory, _prepare, settings)
    writer.engines = engines  # type: ignore[attr-defined]
    return writer


def _dispose(writer: RecordWriter) -> None:
    for engine in writer.engines:  # type: ignore[attr-defined]
        engine.dispose()


def _watch_identity(writer: RecordWriter, stop: threading.Event, bad: list[Any]) -> None:
    while not stop.is_set():
        snapshot = writer.stats()
        if not _identity(snapshot):
            bad.append(snapshot)
        time.sleep(0.001)


def test_counters_are_exact_under_load(sqlite_url: str, reliability: Report) -> None:
    """Eight threads submit faster than the queue drains: submit never blocks, drops are
    counted as queue_full, and received = written + dropped + in_flight at every snapshot."""
    writer = _writer(sqlite_url)
    stop, bad = threading.Event(), []
    watcher = threading.Thread(target=_watch_identity, args=(writer, stop, bad))
    watcher.start()
    slowest = []

    def burst() -> None:
        for _ in range(400):
            start = time.perf_counter()
            writer.submit(_record())
            slowest.append(time.perf_counter() - start)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.flush(30) == 0
    stop.set()
    watcher.join()
    stats = writer.stats()
    assert bad == []
    assert stats["received"] == 3200
    assert stats["written"] + stats["dropped"].get("queue_full", 0) == 3200
    assert stats["written"] >= FAST.queue_size
    assert max(slowest) < 0.5  # generous: submit only ever takes a lock and a put_nowait
    writer.close()
    _dispose(writer)
    reliability.area = "faults"
    reliability.scenario = "record queue overrun (SQLite)"
    reliability.done = (
        f"8 threads submit 3,200 records into a queue of {FAST.queue_size}, identity checked "
        "by a watcher thread throughout"
    )
    reliability.figure = (
        f"{stats['written']:,} written, {stats['dropped'].get('queue_full', 0):,} dropped and "
        f"counted; received = written + dropped + in_flight at every snapshot; slowest "
        f"submit {max(slowest) * 1000:.1f} ms"
    )


def test_unreachable_database_at_startup(caplog: pytest.LogCaptureFixture) -> None:
    """With the database unreachable from the start, submit keeps returning at once,
    records beyond the queue are dropped and counted, and one warning is logged."""
    writer = _writer("postgresql://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 1})
    with caplog.at_level(logging.WARNING, logger="privlog"):
        for _ in range(500):
            writer.submit(_record())
        time.sleep(1.0)
        for _ in range(100):
            writer.submit(_record())
    stats = writer.stats()
    assert _identity(stats)
    assert stats["written"] == 0
    assert stats["dropped"]["queue_full"] >= 300
    assert stats["breaker_open"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()
    assert writer.close(0.2) == stats["in_flight"]
    assert _identity(writer.stats())
    _dispose(writer)


def _sqlite_space_limit(writer: RecordWriter, pages: Callable[[], int | None]) -> None:
    """Make every transaction of the writer's engine run under PRAGMA max_page_count: the
    way SQLite reports a full disk (SQLITE_FULL)."""
    original = writer._store_factory

    def factory() -> ChainStore:
        store = original()

        @event.listens_for(store.engine, "begin")
        def _limit(conn: Any) -> None:
            limit = pages()
            conn.exec_driver_sql(f"PRAGMA max_page_count={limit or 1073741823}")

        return store

    writer._store_factory = factory


def test_disk_full_then_space_again(
    sqlite_url: str, caplog: pytest.LogCaptureFixture, reliability: Report
) -> None:
    """A full disk stops writes (breaker opens, one warning); when space returns, the queued
    records are written, the chain verifies, and the counters are exact throughout."""
    writer = _writer(sqlite_url)
    limit: list[int | None] = [None]
    _sqlite_space_limit(writer, lambda: limit[0])
    for _ in range(20):
        writer.submit(_record())
    assert writer.flush(10) == 0
    import sqlite3

    used = (
        sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        .execute("PRAGMA page_count")
        .fetchone()[0]
    )
    limit[0] = used  # no room for another page
    with caplog.at_level(logging.WARNING, logger="privlog"):
        for _ in range(150):
            writer.submit(_record(text={"prompt": "x" * 2000}))
        deadline = time.monotonic() + 10
        while not writer.stats()["breaker_open"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.stats()["breaker_open"]
        assert _identity(writer.stats())
        limit[0] = None  # space again
        assert writer.flush(15) == 0
    stats = writer.stats()
    assert stats["written"] == 170
    assert _identity(stats)
    assert not stats["breaker_open"]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("reachable again" in m for m in messages) == 1
    writer.close()
    _dispose(writer)
    store = ChainStore(make_engine(sqlite_url))
    assert store.verify().ok
    store.engine.dispose()
    reliability.area = "faults"
    reliability.scenario = "disk full, then space again (SQLite)"
    reliability.done = "150 records of 2,000 characters submitted with no room for a page"
    reliability.figure = (
        "breaker opened with one warning; 170/170 written once space returned; identity "
        "exact throughout; chain intact"
    )


def test_read_only_database_file(sqlite_url: str) -> None:
    """A database file opened read-only never fails the caller: records queue, then drop,
    all counted."""
    path = sqlite_url.removeprefix("sqlite:///")
    ChainStore(make_engine(sqlite_url)).ensure_ready()
    writer = _writer(f"sqlite:///file:{path}?mode=ro&uri=true")
    for _ in range(400):
        assert writer.submit(_record()) in (True, False)
    time.sleep(0.5)
    stats = writer.stats()
    assert stats["written"] == 0
    assert stats["write_failures"] >= 1
    assert stats["dropped"]["queue_full"] >= 400 - FAST.queue_size - FAST.batch_size
    assert stats["in_flight"] <= FAST.queue_size + FAST.batch_size
    assert _identity(stats)
    writer.close(0.1)
    _dispose(writer)


def test_database_goes_away_and_comes_back(
    pg_url: str, caplog: pytest.LogCaptureFixture, reliability: Report
) -> None:
    """PostgreSQL refusing connections mid-run (connections killed, new ones refused) and
    then accepting them again: writing resumes, nothing queued is lost, counters exact."""
    from sqlalchemy.engine import make_url

    name = make_url(pg_url).database
    admin = make_engine(
        make_url(pg_url).set(database="postgres").render_as_string(False),
        isolation_level="AUTOCOMMIT",
    )
    writer = _writer(pg_url, connect_args={"connect_timeout": 2})
    for _ in range(30):
        writer.submit(_record())
    assert writer.flush(10) == 0
    with admin.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(db)s",
            {"db": name},
        )
    with caplog.at_level(logging.WARNING, logger="privlog"):
        for _ in range(100):
            writer.submit(_record())
        deadline = time.monotonic() + 10
        while not writer.stats()["breaker_open"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.stats()["breaker_open"]
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert writer.flush(20) == 0
    stats = writer.stats()
    assert stats["written"] == 130
    assert _identity(stats)
    writer.close()
    _dispose(writer)
    admin.dispose()
    store = ChainStore(make_engine(pg_url))
    report = store.verify()
    assert report.ok, str(report)
    assert report.records == 130
    store.engine.dispose()
    reliability.area = "faults"
    reliability.scenario = "database down mid-run, then back (PostgreSQL)"
    reliability.done = (
        "connections killed and refused while 100 records were submitted, then allowed again"
    )
    reliability.figure = "130/130 written after it came back; identity exact; chain intact"


def test_close_reports_what_was_not_written(sqlite_url: str) -> None:
    """close() with a stuck store returns the number of records it could not write and
    counts them as dropped (shutdown)."""
    writer = _writer("postgresql://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 1})
    for _ in range(40):
        writer.submit(_record())
    left = writer.close(0.3)
    stats = writer.stats()
    assert left == 40
    assert stats["dropped"].get("shutdown") == 40
    assert stats["in_flight"] == 0
    assert _identity(stats)
    assert not writer.submit(_record())
    assert writer.stats()["dropped"]["closed"] == 1
    _dispose(writer)


def test_close_stops_background_detection_mid_batch(tmp_path: Any) -> None:
    """A writer closed while its batch is still being detected stops at the next step of
    that detection: its thread has ended when close() returns (no thread left inside the
    model at interpreter exit), and the batch is counted as dropped at shutdown."""
    from privlog.detect.turns import Turns

    turns = Turns()
    started = threading.Event()

    def slow_prepare(batch: Sequence[UsageRecord]) -> list[Mapping[str, Any]]:
        started.set()
        for _ in range(10_000):  # background detection, step by step (100 s in all)
            with turns.background():
                time.sleep(0.01)
        return _prepare(batch)

    url = f"sqlite:///{tmp_path / 'w.db'}"
    writer = RecordWriter(
        lambda: ChainStore(make_engine(url), signer(), auto_migrate=True), slow_prepare, FAST
    )
    for _ in range(5):
        assert writer.submit(_record())
    assert started.wait(10)
    began = time.monotonic()
    writer.close(timeout=0.05)
    assert time.monotonic() - began < 2
    assert writer._thread is not None
    assert not writer._thread.is_alive()
    stats = writer.stats()
    assert stats["dropped"] == {"shutdown": 5}
    assert stats["written"] == 0
    assert stats["in_flight"] == 0
    assert _identity(stats)


def test_a_record_the_database_refuses_does_not_hold_up_the_others(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch the database refuses for its data (here a NUL in text, with the cleaning
    that prevents it switched off) is written one record at a time at once: the refused
    record is dropped and counted as ``refused``, the others are written, the breaker stays
    shut, and the chain verifies."""
    from privlog.store import chain

    monkeypatch.setattr(chain, "storable", dict)
    writer = _writer(pg_url)
    for i in range(10):
        writer.submit(_record(route="/v1/chat\x00" if i == 4 else f"/v1/chat/{i}"))
    start = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="privlog"):
        assert writer.flush(10) == 0
    stats = writer.stats()
    assert time.monotonic() - start < FAST.backoff_initial + 5
    assert stats["written"] == 9
    assert stats["dropped"] == {"refused": 1}
    assert _identity(stats)
    assert not stats["breaker_open"]
    assert sum("refused a record for its data" in r.getMessage() for r in caplog.records) == 1
    writer.close()
    _dispose(writer)
    store = ChainStore(make_engine(pg_url))
    report = store.verify()
    assert report.ok, str(report)
    assert report.records == 9
    store.engine.dispose()
