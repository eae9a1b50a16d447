"""Store set-up: SQLite settings, migrations beside a host app, roles, summary entries."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.exc import DBAPIError

from privlog import migrate
from privlog.keys import KeyRing
from privlog.store import consent
from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.migrate import VERSION_TABLE, head_revision, include_name
from privlog.store.roles import grant_auditor, grant_writer
from privlog.store.schema import metadata, records
from privlog.store.writer import RecordWriter, WriterSettings
from tests.storetools import payload, signer, store
from tests.test_records import _record
from tests.test_writer import _prepare


def test_sqlite_connection_settings(sqlite_url: str) -> None:
    """SQLite runs in WAL mode with a busy timeout and secure_delete on."""
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()


def test_migrations_live_beside_a_host_app(db_url: str) -> None:
    """privlog keeps its own version table, leaves the host's alembic_version and tables
    alone, and its migrations match its models (autogenerate, filtered to privlog_*,
    finds nothing to do)."""
    engine = make_engine(db_url)
    host = MetaData()
    Table("alembic_version", host, Column("version_num", String(32), primary_key=True))
    Table("users", host, Column("id", Integer, primary_key=True))
    host.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('host_rev_1')"))
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "host_rev_1"
        )
        assert (
            conn.execute(text("SELECT version_num FROM privlog_alembic_version")).scalar()
            == head_revision()
        )
        opts = {"include_name": include_name, "version_table": VERSION_TABLE}
        ctx = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(ctx, metadata) == []
    engine.dispose()


def test_postgres_is_not_upgraded_implicitly(pg_url: str) -> None:
    """On PostgreSQL the store refuses to write to un-migrated tables and names the fix."""
    cs = ChainStore(make_engine(pg_url), signer())
    with pytest.raises(Exception, match="privlog db upgrade"):
        cs.append([payload(1)])
    cs.engine.dispose()


def _as_role(url: str, role: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=role).render_as_string(hide_password=False)


def test_auditor_and_writer_roles(pg_url: str, tmp_path: Path) -> None:
    """The auditor role can read privlog's tables and change nothing; the writer role can
    append to the chain but cannot update or delete records."""
    cs = store(pg_url)
    cs.append([payload(i) for i in range(5)])
    grant_auditor(cs.engine, "privlog_test_auditor")
    grant_writer(cs.engine, "privlog_test_writer")
    auditor = make_engine(_as_role(pg_url, "privlog_test_auditor"))
    with auditor.connect() as conn:
        assert len(conn.execute(select(records.c.seq)).all()) == 5
    for statement in (
        "UPDATE privlog_records SET text = 'x'",
        "DELETE FROM privlog_records",
        "INSERT INTO privlog_chain_head VALUES (2, 0, 'x')",
    ):
        with auditor.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text(statement))
    auditor.dispose()
    writer = ChainStore(
        make_engine(_as_role(pg_url, "privlog_test_writer")), signer(), auto_migrate=False
    )
    # With subject tokens, so the writer reads training consent as it appends; the app's
    # account pages grant and revoke consent through the same role.
    writer.append([{**payload(i), "subject_token": f"k1:user{i}"} for i in range(3)])
    ring = KeyRing.load(tmp_path / "privlog.keys")
    consent.change(writer, ring, "u-1", "grant", source="settings-page")
    assert consent.change(writer, ring, "u-1", "revoke", source="settings-page").records_marked == 0
    for statement in ("UPDATE privlog_records SET text = 'x'", "DELETE FROM privlog_records"):
        with writer.engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text(statement))
    writer.engine.dispose()
    assert cs.verify().records == 10  # and the two consent entries
    with cs.engine.begin() as conn:
        for role in ("privlog_test_auditor", "privlog_test_writer"):
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
    cs.engine.dispose()


def test_periodic_summary_is_chained(sqlite_url: str) -> None:
    """The writer appends a summary entry (counters only) to the chain periodically."""
    writer = RecordWriter(
        lambda: ChainStore(make_engine(sqlite_url), signer()),
        _prepare,
        WriterSettings(batch_interval=0.02, summary_interval=0.2),
    )
    for _ in range(5):
        writer.submit(_record())
    deadline = time.monotonic() + 5
    while writer.stats()["summaries"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        rows = conn.execute(select(records.c.kind, records.c.details)).all()
    engine.dispose()
    summaries = [json.loads(d) for k, d in rows if k == "summary"]
    assert summaries
    assert summaries[0]["received"] == 5
    assert (
        summaries[0]["received"]
        == summaries[0]["written"] + summaries[0]["dropped_total"] + summaries[0]["in_flight"]
    )
    assert [k for k, _ in rows].count("usage") == 5
    cs = ChainStore(make_engine(sqlite_url))
    assert cs.verify().ok
    cs.engine.dispose()
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_upgrade_keeps_older_records_verifiable(db_url: str) -> None:
    """Records written at revision 0001 still verify after upgrading to head, beside new
    records that carry the columns added since."""
    from tests.storetools import payload as make_payload

    engine = make_engine(db_url)
    migrate(engine, "0001")
    legacy = [{k: v for k, v in make_payload(i).items() if k != "record_id"} for i in range(5)]
    from sqlalchemy import insert as sa_insert

    from privlog.store import chain
    from privlog.store.schema import GENESIS_HASH

    rows, _, prev = chain.link(legacy, 0, GENESIS_HASH)
    legacy_table = Table("privlog_records", MetaData(), autoload_with=engine)
    legacy_columns = set(legacy_table.c.keys())
    rows = [{k: v for k, v in row.items() if k in legacy_columns} for row in rows]
    with engine.begin() as conn:
        conn.execute(sa_insert(legacy_table), rows)
        conn.execute(text("UPDATE privlog_chain_head SET seq = 5, entry_hash = :h"), {"h": prev})
    migrate(engine)
    new = ChainStore(engine, signer())
    new.append([{**make_payload(9), "record_id": "abc123"}])
    report = new.verify()
    assert report.ok, str(report)
    assert report.records == 6
    engine.dispose()
