"""Engines for the store: SQLite tuned for a shared log file, PostgreSQL through psycopg 3."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["is_sqlite", "make_engine", "normalise_url", "sqlite_path"]

_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver privlog ships with)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (``None`` for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # Autocommit at the driver level, so that SQLAlchemy's "begin" below issues the only
    # BEGIN: BEGIN IMMEDIATE takes the write lock up front, which serialises writers from
    # several processes on the chain head instead of failing them at commit time.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}",
        "PRAGMA secure_delete=ON",  # erased payloads must not linger in free pages
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private_file(path: Path | None) -> None:
    # Usage records are personal data in their own right: a new database file is created
    # readable by its owner only (an existing file keeps the mode its operator chose).
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for privlog's store at ``url`` (SQLite or PostgreSQL)."""
    engine = create_engine(normalise_url(url), **kwargs)
    if is_sqlite(engine):
        _create_private_file(sqlite_path(url))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine
