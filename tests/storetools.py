"""Helpers for store tests: building stores, payloads and writers without the detector."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from privlog.store.chain import Signer
from privlog.store.chainstore import ChainStore, now_iso
from privlog.store.database import make_engine, normalise_url
from privlog.store.migrate import migrate


@contextmanager
def scratch_database(base_url: str, prefix: str = "privlog_t") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``base_url``, dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalise_url(base_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def migrated(url: str) -> str:
    """``url``, its schema created first when it is PostgreSQL (SQLite's is created on first
    use)."""
    if url.startswith("postgresql"):
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
    return url


def database_bytes(url: str) -> list[bytes]:
    """What an attacker with the database gets: the SQLite files (main, WAL, journal), or a
    pg_dump of the PostgreSQL database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(str(parsed.database))
        blobs = [p.read_bytes() for p in path.parent.glob(path.name + "*")]
        assert any(b.startswith(b"SQLite format 3") for b in blobs), f"no database at {path}"
        return blobs
    dump = subprocess.run(
        ["pg_dump", parsed.set(drivername="postgresql").render_as_string(False)],
        capture_output=True,
        check=True,
    )
    assert b"privlog_records" in dump.stdout, "pg_dump holds no record table"
    return [dump.stdout]


def signer() -> Signer:
    return Signer("k1", secrets.token_bytes(32))


def store(url: str, sign: Signer | None = None, **kwargs: Any) -> ChainStore:
    cs = ChainStore(make_engine(url), sign or signer(), auto_migrate=True, **kwargs)
    cs.ensure_ready()
    return cs


def payload(i: int, text: str | None = None) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "kind": "usage",
        "ts": now_iso(),
        "route": "/v1/chat",
        "input_chars": 10 + i,
        "entity_counts": json.dumps({"PERSON": i % 3}),
        "text": json.dumps({"prompt": text if text is not None else f"hello <PERSON_{i}>"}),
        "outcome": "logged",
        "flags": "",
        "policy_version": "test",
        "detector_version": "test",
        "legal_basis": "legal_obligation",
        "retention_class": "usage",
        "expires_at": (now + dt.timedelta(days=180)).isoformat(timespec="microseconds"),
        "rescan_hits": 0,
    }
