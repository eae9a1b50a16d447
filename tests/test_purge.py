"""Retention purge: expired payloads are erased, the erasure is chained, the chain still
verifies, and (on SQLite) the erased text is gone from every database file."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from privlog import cli
from privlog.store.chainstore import ChainStore
from privlog.store.database import sqlite_path
from privlog.store.schema import records
from tests.canaries import find_leaks, pronounceable
from tests.storetools import payload, store

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _row(i: int, text: str, expires: dt.datetime) -> dict[str, Any]:
    row = payload(i, text=text)
    row["expires_at"] = expires.isoformat(timespec="microseconds")
    return row


def _fill(cs: ChainStore, rng: random.Random) -> tuple[list[str], list[str]]:
    """Ten records: even ones expired a day ago, odd ones expire in a day."""
    gone, kept = [], []
    for i in range(10):
        canary = f"{pronounceable(rng)} {pronounceable(rng)}"
        expired = i % 2 == 0
        delta = dt.timedelta(days=-1 if expired else 1)
        cs.append([_row(i, canary, NOW + delta)])
        (gone if expired else kept).append(canary)
    return gone, kept


def _rows(cs: ChainStore) -> list[dict[str, Any]]:
    with cs.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(records).order_by(records.c.seq)).mappings()]


def test_purge_erases_what_expired_and_the_chain_still_verifies(
    db_url: str, rng: random.Random
) -> None:
    cs = store(db_url, checkpoint_every=3)
    try:
        gone, kept = _fill(cs, rng)
        report = cs.purge(now=NOW)
        assert (report.erased, report.entries) == (5, 1)
        rows = _rows(cs)
        usage = [r for r in rows if r["kind"] == "usage"]
        erased = [r for r in usage if r["erased_at"] is not None]
        assert [r["seq"] for r in erased] == [1, 3, 5, 7, 9]
        for r in erased:
            assert r["text"] is None
            assert r["entity_counts"] is None
            assert r["retention_class"] == "usage"  # what it was and until when stays
            assert r["expires_at"] < NOW.isoformat()
        entry = next(r for r in rows if r["kind"] == "erasure")
        assert json.loads(entry["details"]) == {
            "count": 5,
            "reason": "retention",
            "seqs": [[1, 1], [3, 3], [5, 5], [7, 7], [9, 9]],
        }
        assert find_leaks(json.dumps(rows, default=str), gone) == []
        assert {json.loads(r["text"])["prompt"] for r in usage if r["text"]} == set(kept)
        assert cs.verify().ok
        assert cs.purge(now=NOW).erased == 0  # nothing twice
        assert cs.purge(now=NOW + dt.timedelta(days=2)).erased == 5
        assert cs.verify().ok
    finally:
        cs.close()


def test_marking_a_record_erased_without_an_erasure_entry_is_caught(
    sqlite_url: str, rng: random.Random
) -> None:
    cs = store(sqlite_url)
    try:
        _fill(cs, rng)
        with cs.engine.begin() as conn:  # someone hides record 2's content as "erased"
            conn.execute(
                update(records)
                .where(records.c.seq == 2)
                .values(text=None, erased_at=NOW.isoformat())
            )
        report = cs.verify()
        assert not report.ok
        assert report.problem is not None
        assert report.problem.seq == 2
    finally:
        cs.close()


def test_erased_text_is_gone_from_the_sqlite_files(sqlite_url: str, rng: random.Random) -> None:
    cs = store(sqlite_url)
    try:
        gone, kept = _fill(cs, rng)
        path = sqlite_path(sqlite_url)
        assert path is not None

        def files() -> bytes:
            return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

        assert find_leaks(files(), gone) == gone  # planted: the scan can see them
        cs.purge(now=NOW)
        assert find_leaks(files(), gone) == []
        assert find_leaks(files(), kept) == kept
    finally:
        cs.close()


def test_purge_command(
    sqlite_url: str,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cs = store(sqlite_url)
    try:
        for i in range(4):
            cs.append([_row(i, pronounceable(rng), NOW - dt.timedelta(days=1))])
    finally:
        cs.close()
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    assert cli.main(["purge", "--dry-run"]) == 0
    assert "would erase 4 expired records" in capsys.readouterr().out
    assert cli.main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "erased 4 expired records" in out
    assert "chain intact: 5 records" in out


def test_purge_on_a_missing_database_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    assert cli.main(["purge"]) == 2
    assert "no privlog database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_the_writer_purges_on_its_interval(
    sqlite_url: str, tmp_path: Path, rng: random.Random
) -> None:
    from privlog import Privlog
    from privlog.config import Policy, Settings, StorePolicy
    from privlog.detect import DetectionSettings

    cs = store(sqlite_url)
    try:
        gone = [pronounceable(rng) for _ in range(4)]
        for i, text in enumerate(gone):
            cs.append([_row(i, text, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))])
    finally:
        cs.close()
    policy = Policy(
        detection=DetectionSettings(model=None),
        store=StorePolicy(batch_interval=0.02, purge_interval=0.1),
    )
    pl = Privlog(Settings(database_url=sqlite_url, key_file=tmp_path / "k.keys", policy=policy))
    try:
        pl.log_input({"prompt": "hello"}, route="/v1/chat")  # starts the writer thread
        deadline = time.monotonic() + 20
        while pl.stats()["purged"] < len(gone) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pl.stats()["purged"] == len(gone)
        assert pl.flush(10) == 0
    finally:
        pl.close()
    cs = store(sqlite_url)
    try:
        assert cs.verify().ok
        assert find_leaks(json.dumps(_rows(cs), default=str), gone) == []
    finally:
        cs.close()


def test_purge_interval_is_checked() -> None:
    from privlog.config import Policy
    from privlog.errors import ConfigError

    assert Policy.from_mapping({"store": {"purge_interval": 3600}}).store.purge_interval == 3600
    with pytest.raises(ConfigError, match="purge_interval"):
        Policy.from_mapping({"store": {"purge_interval": -1}})
