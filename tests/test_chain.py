"""The hash chain on SQLite and PostgreSQL: appends, checkpoints, several writers.

Every kind of tampering, at random places, is in tests/reliability/test_tampering.py.
"""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import select

from privlog import cli
from privlog.store.chainstore import ChainStore
from privlog.store.migrate import head_revision
from privlog.store.schema import checkpoints, records
from tests.storetools import payload, signer, store


def _fill(cs: ChainStore, n: int, batch: int = 50) -> None:
    for start in range(0, n, batch):
        cs.append([payload(i) for i in range(start, min(n, start + batch))])


class TestAppend:
    def test_gapless_sequence_and_intact_chain(self, db_url: str) -> None:
        """Appended records get 1..n with no gap, and the chain verifies with checkpoints."""
        cs = store(db_url, checkpoint_every=100)
        _fill(cs, 450)
        with cs.engine.connect() as conn:
            seqs = [r.seq for r in conn.execute(select(records.c.seq).order_by(records.c.seq))]
            marks = conn.execute(select(checkpoints.c.seq)).scalars().all()
        assert seqs == list(range(1, 451))
        marks = sorted(marks)
        assert marks[0] == 50  # the first append has no earlier checkpoint to be near
        assert all(b - a >= 100 for a, b in itertools.pairwise(marks))
        assert len(marks) >= 4
        report = cs.verify()
        assert report.ok, str(report)
        assert report.records == 450
        cs.engine.dispose()

    def test_checkpoints_name_an_exportable_public_key(self, db_url: str) -> None:
        """Checkpoints verify against the signer's public key and fail against another."""
        sign = signer()
        cs = store(db_url, sign, checkpoint_every=10)
        _fill(cs, 30, batch=10)
        assert cs.verify({"k1": sign.public_key}).ok
        report = cs.verify({"k1": signer().public_key})
        assert not report.ok
        assert "signature" in str(report)
        cs.engine.dispose()


def _writer_process(url: str, worker: int, batches: int) -> None:
    cs = store(url)
    for b in range(batches):
        cs.append([payload(worker * 1000 + b * 10 + i) for i in range(10)])
    cs.engine.dispose()


def test_four_processes_share_one_gapless_chain(db_url: str) -> None:
    """Four processes appending at once produce one chain, 1..n, that verifies."""
    store(db_url).engine.dispose()  # migrate once up front
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer_process, args=(db_url, w, 20)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    cs = store(db_url)
    report = cs.verify()
    assert report.ok, str(report)
    assert report.records == 4 * 20 * 10
    cs.engine.dispose()


def test_verify_without_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify on a missing SQLite file says so (exit 2) and does not create the file."""
    db = tmp_path / "absent.db"
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{db}")
    assert cli.main(["verify"]) == 2
    assert "no privlog database" in capsys.readouterr().err
    assert not db.exists()


def test_db_upgrade_command(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`privlog db upgrade` creates privlog's tables (and only those) at the head revision,
    and the new SQLite file is readable by its owner only."""
    import sqlite3
    import stat

    monkeypatch.setenv("PRIVLOG_DATABASE_URL", sqlite_url)
    assert cli.main(["db", "upgrade"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    tables = {
        r[0]
        for r in sqlite3.connect(path).execute("select name from sqlite_master where type='table'")
    }
    assert tables == {
        "privlog_records",
        "privlog_chain_head",
        "privlog_checkpoints",
        "privlog_alembic_version",
        "privlog_audit_tokens",
        "privlog_access_log",
        "privlog_flagged",
        "privlog_consent",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
