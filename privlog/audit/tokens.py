"""Auditor bearer tokens: random, shown once, stored as a SHA-256 digest.

A token reads ``plaud_<id>_<secret>``: the id finds the row, the secret is compared (in
constant time) with the stored digest. Creating and revoking go through the writer's
database URL; checking a token needs only SELECT.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from privlog.errors import ConfigError
from privlog.store.schema import audit_tokens, now_iso

__all__ = ["LISTED", "Principal", "authenticate", "create_token", "list_tokens", "revoke_token"]

_PREFIX = "plaud"
_TOKEN = re.compile(rf"{_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,127}")
MAX_EXPIRY_DAYS = 3_650
LISTED = ("id", "name", "tenant", "created_at", "expires_at", "revoked_at")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated request comes from."""

    token_id: str
    name: str
    tenant: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_label(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise ConfigError(
            f"{what} must be 1-128 characters: letters, digits, space, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return value


def create_token(
    engine: Engine,
    name: str,
    *,
    tenant: str | None = None,
    expires_days: int | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Store a new token's digest and return the token (the only time it is available)."""
    _check_label(name, "--name")
    if tenant is not None:
        _check_label(tenant, "--tenant")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise ConfigError(f"--expires must be between 1 and {MAX_EXPIRY_DAYS} days")
    created = now or _now()
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        taken = conn.execute(
            select(audit_tokens.c.id).where(
                audit_tokens.c.name == name, audit_tokens.c.revoked_at.is_(None)
            )
        ).first()
        if taken is not None:
            raise ConfigError(
                f"an active auditor token is already named {name!r}; revoke it first "
                "(`privlog audit token revoke NAME`) or choose another name"
            )
        conn.execute(
            insert(audit_tokens).values(
                id=token_id,
                name=name,
                tenant=tenant,
                secret_hash=_digest(secret),
                created_at=now_iso(created),
                expires_at=(
                    None if expires_days is None else now_iso(created + dt.timedelta(expires_days))
                ),
            )
        )
    return f"{_PREFIX}_{token_id}_{secret}"


def list_tokens(engine: Engine) -> list[dict[str, Any]]:
    """Every token's id, name, tenant and dates (never a digest)."""
    with engine.connect() as conn:
        columns = [audit_tokens.c[name] for name in LISTED]
        rows = conn.execute(select(*columns).order_by(audit_tokens.c.created_at)).mappings()
        return [dict(row) for row in rows]


def revoke_token(engine: Engine, name_or_id: str, *, now: dt.datetime | None = None) -> int:
    """Revoke the active token(s) with this name or id; return how many were revoked."""
    with engine.begin() as conn:
        result = conn.execute(
            update(audit_tokens)
            .where(
                (audit_tokens.c.name == name_or_id) | (audit_tokens.c.id == name_or_id),
                audit_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now_iso(now or _now()))
        )
    if not result.rowcount:
        raise ConfigError(
            "no active auditor token has that name or id; `privlog audit token list` shows them"
        )
    return int(result.rowcount)


def authenticate(
    conn: Connection, authorization: str | None, *, now: dt.datetime | None = None
) -> Principal | str:
    """The principal behind an ``Authorization`` header, or why there is none."""
    if not authorization:
        return "missing bearer token"
    scheme, _, token = authorization.partition(" ")
    match = _TOKEN.fullmatch(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        return "malformed bearer token"
    row = conn.execute(select(audit_tokens).where(audit_tokens.c.id == match[1])).mappings().first()
    if row is None or not hmac.compare_digest(row["secret_hash"], _digest(match[2])):
        return "unknown token"
    if row["revoked_at"] is not None:
        return "token revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now_iso(now or _now()):
        return "token expired"
    return Principal(token_id=row["id"], name=row["name"], tenant=row["tenant"])
