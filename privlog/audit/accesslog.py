"""The auditor access log: one hash-chained row per auditor request.

Appends go through the access-log connection (insert-only); reading and verifying go
through the read-only connection, like every other auditor query.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from privlog.store.schema import GENESIS_HASH, access_log

__all__ = ["ENTRY_FIELDS", "AccessLog", "entry_hash", "verify_log"]

ENTRY_FIELDS = (
    "ts",
    "token_id",
    "token_name",
    "tenant",
    "method",
    "route",
    "filters",
    "status",
    "rows",
)
_DOMAIN = b"privlog/access/v1\x00"
_ATTEMPTS = 5


def entry_hash(seq: int, prev: str, entry: Mapping[str, Any]) -> str:
    body = json.dumps(
        {name: entry.get(name) for name in ENTRY_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return hashlib.sha256(_DOMAIN + seq.to_bytes(8, "big") + bytes.fromhex(prev) + body).hexdigest()


class AccessLog:
    """Appends entries; safe to share between threads of one process, and between
    processes (a lost race on the next sequence number is retried)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AccessLog(engine={self.engine.dialect.name})"

    def append(self, entry: Mapping[str, Any]) -> int:
        values = {name: entry.get(name) for name in ENTRY_FIELDS}
        with self._lock:
            for attempt in range(_ATTEMPTS):
                try:
                    return self._append_once(values)
                except IntegrityError:
                    if attempt == _ATTEMPTS - 1:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _append_once(self, values: Mapping[str, Any]) -> int:
        with self.engine.begin() as conn:
            last = conn.execute(
                select(access_log.c.seq, access_log.c.entry_hash)
                .order_by(access_log.c.seq.desc())
                .limit(1)
            ).first()
            seq, prev = (int(last.seq), str(last.entry_hash)) if last else (0, GENESIS_HASH)
            seq += 1
            conn.execute(
                insert(access_log).values(
                    **values, seq=seq, prev_hash=prev, entry_hash=entry_hash(seq, prev, values)
                )
            )
        return seq

    def close(self) -> None:
        self.engine.dispose()


def _rows(conn: Connection, page: int = 2_000) -> Iterator[Mapping[str, Any]]:
    after = 0
    while True:
        batch = (
            conn.execute(
                select(access_log)
                .where(access_log.c.seq > after)
                .order_by(access_log.c.seq)
                .limit(page)
            )
            .mappings()
            .all()
        )
        if not batch:
            return
        yield from (dict(row) for row in batch)
        after = int(batch[-1]["seq"])


def verify_log(conn: Connection) -> dict[str, Any]:
    """Walk the whole access log; report the first row that breaks the chain, if any."""
    prev, expected = GENESIS_HASH, 1
    for row in _rows(conn):
        seq = int(row["seq"])
        if seq != expected:
            reason = f"missing (next row found is {seq})"
        elif row["prev_hash"] != prev:
            reason = "prev_hash does not match the previous entry"
        elif entry_hash(seq, prev, row) != row["entry_hash"]:
            reason = "entry does not match its hash (edited)"
        else:
            prev, expected = row["entry_hash"], expected + 1
            continue
        return {
            "ok": False,
            "entries": expected - 1,
            "problem": {"seq": expected, "reason": reason},
        }
    return {"ok": True, "entries": expected - 1, "problem": None}
