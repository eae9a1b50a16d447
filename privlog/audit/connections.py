"""The auditor API's two database connections, and the checks that keep them honest.

* The **read** connection serves every query. SQLite opens the file with ``mode=ro`` and
  ``PRAGMA query_only=ON``; PostgreSQL logs in as the SELECT-only role made by
  ``privlog db grant-auditor``.
* The **access-log** connection appends to ``privlog_access_log`` and can do nothing else:
  SQLite installs an authoriser that refuses every other write; PostgreSQL logs in as the
  role made by ``privlog db grant-access-log``.

Both are probed at start-up with statements that would change nothing if they ran; the
server refuses to start when a probe that must fail succeeds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    Engine,
    column,
    create_engine,
    delete,
    event,
    false,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable, TableClause

from privlog.config import Settings, mask_url
from privlog.errors import AuditSetupError
from privlog.store.database import is_sqlite, make_engine, normalise_url, sqlite_path
from privlog.store.migrate import VERSION_TABLE, current_revision, head_revision
from privlog.store.schema import access_log, metadata

__all__ = ["check_log_only", "check_read_only", "log_engine", "read_engine"]

_BUSY_TIMEOUT_MS = 10_000
_LOG_TABLE = access_log.name
_KEYS = {
    "privlog_records": "seq",
    "privlog_chain_head": "id",
    "privlog_checkpoints": "seq",
    "privlog_audit_tokens": "id",
    "privlog_access_log": "seq",
    "privlog_flagged": "id",
    "privlog_consent": "id",
    VERSION_TABLE: "version_num",
}


def _tables() -> Iterator[tuple[str, TableClause, str]]:
    for name in sorted(metadata.tables):
        yield name, metadata.tables[name], _KEYS[name]
    yield VERSION_TABLE, table(VERSION_TABLE, column("version_num")), _KEYS[VERSION_TABLE]


def _sqlite_read_only(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _sqlite_begin_deferred(connection: Any) -> None:
    # One snapshot per request: a deferred BEGIN takes a read lock only (no write lock).
    connection.exec_driver_sql("BEGIN")


def _only_access_log(action: int, arg1: str | None, *_: object) -> int:
    allowed_everywhere = (
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_TRANSACTION,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_SAVEPOINT,
    )
    if action in allowed_everywhere:
        return sqlite3.SQLITE_OK
    if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_READ) and arg1 == _LOG_TABLE:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_log_only(dbapi_connection: Any, _: Any) -> None:
    # Installed after privlog's own connect pragmas have run (listeners run in order).
    dbapi_connection.set_authorizer(_only_access_log)


def _existing_sqlite_file(url: str) -> str:
    path = sqlite_path(url)
    if path is None:
        raise AuditSetupError(
            f"the auditor API needs a SQLite file or PostgreSQL, not {mask_url(url)}"
        )
    if not path.exists():
        raise AuditSetupError(
            f"no privlog database at {path}; start the app once or run `privlog db upgrade`"
        )
    return str(path.resolve())


def read_engine(settings: Settings) -> Engine:
    """The read-only engine (not yet checked: see :func:`check_read_only`)."""
    url = settings.audit_database_url or settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        path = _existing_sqlite_file(url)
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        event.listen(engine, "connect", _sqlite_read_only)
        event.listen(engine, "begin", _sqlite_begin_deferred)
        return engine
    return create_engine(
        normalise_url(url),
        connect_args={"options": "-c default_transaction_read_only=on"},
        pool_pre_ping=True,
    )


def log_engine(settings: Settings) -> Engine:
    """The access-log engine (not yet checked: see :func:`check_log_only`)."""
    url = settings.audit_log_database_url or settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        _existing_sqlite_file(url)
        engine = make_engine(url)
        event.listen(engine, "connect", _sqlite_log_only)
        return engine
    return make_engine(url, pool_pre_ping=True)


def _probes(tbl: TableClause, key: str) -> dict[str, Executable]:
    # Each would change nothing if it ran; what matters is whether it is allowed to run.
    return {
        "INSERT": insert(tbl).from_select(list(tbl.c.keys()), select(*tbl.c).where(false())),
        "UPDATE": update(tbl).where(false()).values({key: tbl.c[key]}),
        "DELETE": delete(tbl).where(false()),
    }


def _allowed(engine: Engine, statement: Executable) -> bool:
    with engine.connect() as conn:
        try:
            if not is_sqlite(engine):
                # The read engine's sessions default to read-only, but a session can undo
                # that: what must be checked is what the role itself may do.
                conn.exec_driver_sql("SET TRANSACTION READ WRITE")
            conn.execute(statement)
        except DBAPIError:
            return False
        finally:
            conn.rollback()
    return True


def _check_migrated(engine: Engine) -> None:
    with engine.connect() as conn:
        try:
            revision = current_revision(conn)
        except DBAPIError as exc:
            raise AuditSetupError(
                f"cannot read privlog's tables through {mask_url(str(engine.url))} "
                f"({type(exc.orig).__name__}); check the role's grants "
                "(`privlog db grant-auditor ROLE`) and that the database exists"
            ) from None
    if revision != head_revision():
        raise AuditSetupError(
            f"privlog's tables are at revision {revision}, this privlog needs "
            f"{head_revision()}: run `privlog db upgrade` with the writer's database URL"
        )


def check_read_only(engine: Engine) -> None:
    """Refuse to serve through a connection that could change anything."""
    _check_migrated(engine)
    for name, tbl, key in _tables():
        for verb, statement in _probes(tbl, key).items():
            if _allowed(engine, statement):
                raise AuditSetupError(_write_fix(engine, f"{verb} on {name}", read=True))


def check_log_only(engine: Engine) -> None:
    """The access-log connection may insert into the access log and write nothing else."""
    if not _allowed(engine, _probes(access_log, "seq")["INSERT"]):
        raise AuditSetupError(
            "the access-log connection cannot insert into privlog_access_log: "
            + (
                "check the file's permissions"
                if is_sqlite(engine)
                else "run `privlog db grant-access-log ROLE` and set "
                "PRIVLOG_AUDIT_LOG_DATABASE_URL to log in as ROLE"
            )
        )
    for name, tbl, key in _tables():
        for verb, statement in _probes(tbl, key).items():
            if (name, verb) != (_LOG_TABLE, "INSERT") and _allowed(engine, statement):
                raise AuditSetupError(_write_fix(engine, f"{verb} on {name}", read=False))


def _write_fix(engine: Engine, what: str, *, read: bool) -> str:
    where = mask_url(engine.url.render_as_string(hide_password=False))
    if read:
        fix = (
            "create a SELECT-only role with `privlog db grant-auditor ROLE` and set "
            "PRIVLOG_AUDIT_DATABASE_URL to log in as ROLE"
        )
    else:
        fix = (
            "create an insert-only role with `privlog db grant-access-log ROLE` and set "
            "PRIVLOG_AUDIT_LOG_DATABASE_URL to log in as ROLE"
        )
    return f"refusing to start: the auditor connection to {where} may {what}; {fix}"
