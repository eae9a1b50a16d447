"""PostgreSQL roles with the least privilege each side needs."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from privlog.errors import ConfigError, StoreError

__all__ = ["grant_access_log", "grant_auditor", "grant_writer"]

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_TABLES = (
    "privlog_records",
    "privlog_chain_head",
    "privlog_checkpoints",
    "privlog_alembic_version",
    "privlog_audit_tokens",
    "privlog_access_log",
    "privlog_flagged",
    "privlog_consent",
)


def _check(engine: Engine, role: str) -> None:
    if engine.dialect.name != "postgresql":
        raise StoreError("roles are a PostgreSQL feature; SQLite auditors open the file read-only")
    if not _ROLE.fullmatch(role):
        raise ConfigError(
            f"role name {role!r} must be lower-case letters, digits and underscores (max 63)"
        )


def _ensure_role(engine: Engine, role: str) -> None:
    with engine.begin() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'REVOKE ALL ON {", ".join(_TABLES)} FROM "{role}"')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')


def grant_auditor(engine: Engine, role: str) -> None:
    """Create (if needed) ``role`` with SELECT on privlog's tables and nothing else."""
    _check(engine, role)
    _ensure_role(engine, role)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'GRANT SELECT ON {", ".join(_TABLES)} TO "{role}"')


def grant_writer(engine: Engine, role: str) -> None:
    """Create (if needed) ``role`` with what the record writer needs: INSERT on records and
    checkpoints, SELECT/UPDATE on the chain head, SELECT on checkpoints and the version,
    SELECT/INSERT on the flagged-content register, SELECT/INSERT on training consent and
    UPDATE of ``training_revoked_at`` (a revoke's mark) on records."""
    _check(engine, role)
    _ensure_role(engine, role)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'GRANT INSERT ON privlog_records, privlog_checkpoints TO "{role}"')
        conn.exec_driver_sql(f'GRANT SELECT, UPDATE ON privlog_chain_head TO "{role}"')
        # The flagged-content register: new entries, and reading signatures back so that
        # every process blocks outputs another process flagged.
        conn.exec_driver_sql(f'GRANT SELECT, INSERT ON privlog_flagged TO "{role}"')
        # Training consent is decided as records are appended (privlog.store.consent);
        # the app's account pages grant and revoke it, and a revoke marks earlier records
        # (that one column, nothing else of a record).
        conn.exec_driver_sql(f'GRANT SELECT, INSERT ON privlog_consent TO "{role}"')
        conn.exec_driver_sql(
            f"GRANT UPDATE (training_revoked_at), SELECT (subject_token, training, "
            f'training_revoked_at) ON privlog_records TO "{role}"'
        )
        conn.exec_driver_sql(
            f'GRANT SELECT ON privlog_checkpoints, privlog_alembic_version TO "{role}"'
        )


def grant_access_log(engine: Engine, role: str) -> None:
    """Create (if needed) ``role`` for the auditor API's access log: INSERT and SELECT on
    ``privlog_access_log`` (SELECT to chain each entry to the last) and nothing else."""
    _check(engine, role)
    _ensure_role(engine, role)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'GRANT SELECT, INSERT ON privlog_access_log TO "{role}"')
