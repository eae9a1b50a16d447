"""Erasing record payloads without breaking the chain, and purging what has expired.

An erased record keeps its sequence number, kind, time, retention class, expiry and chain
columns; every other payload column becomes NULL and ``erased_at`` is set. Its payload
hash stays, so the chain still links, and an *erasure entry* is appended in the same
transaction naming the erased sequence numbers (never their content). The verifier
accepts a missing payload only for records an erasure entry names: marking a record
erased is not a way to hide an edit.

On SQLite (``secure_delete=ON``) the write-ahead log is checkpointed and truncated after a
purge, so the erased bytes are gone from every file; on PostgreSQL the old row versions
stay in the table's pages until ``VACUUM`` (see the README).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from privlog.store import chain
from privlog.store.database import is_sqlite
from privlog.store.schema import records

__all__ = ["KEPT_COLUMNS", "PurgeReport", "erased_seqs", "erasure_payload", "expired", "ranges"]

# What an erased record keeps besides the chain columns: enough to show that a record of
# this class existed, when, and until when it had to be kept.
KEPT_COLUMNS = ("kind", "ts", "retention_class", "expires_at")
ERASED_COLUMNS = tuple(c for c in chain.PAYLOAD_COLUMNS if c not in KEPT_COLUMNS)
BATCH = 1_000


@dataclass(frozen=True, slots=True)
class PurgeReport:
    erased: int
    entries: int
    before: str

    def __str__(self) -> str:
        return (
            f"erased {self.erased} expired record{'s' if self.erased != 1 else ''} "
            f"(expiry before {self.before}) in {self.entries} chained erasure "
            f"entr{'ies' if self.entries != 1 else 'y'}"
        )


def ranges(seqs: Iterable[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` → ``[[1, 3], [7, 7]]``."""
    out: list[list[int]] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def _expand(raw: Any) -> Iterator[int]:
    for pair in raw if isinstance(raw, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair):
            yield from range(pair[0], pair[1] + 1)


def erasure_payload(seqs: Sequence[int], reason: str, when: str) -> dict[str, Any]:
    """The chained entry that records an erasure: which records, why, when; no content."""
    return {
        "kind": "erasure",
        "ts": when,
        "route": "privlog:erasure",
        "details": json.dumps(
            {"reason": reason, "count": len(seqs), "seqs": ranges(seqs)}, sort_keys=True
        ),
    }


def erased_seqs(conn: Connection) -> set[int]:
    """Every sequence number an erasure entry in the store names."""
    found: set[int] = set()
    query = select(records.c.details).where(records.c.kind == "erasure")
    for (raw,) in conn.execution_options(yield_per=1_000).execute(query):
        try:
            details = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            continue
        if isinstance(details, Mapping):
            found.update(_expand(details.get("seqs")))
    return found


def erase_in(conn: Connection, seqs: Sequence[int], when: str) -> int:
    """Blank the payloads of ``seqs`` (those not erased yet) inside the caller's
    transaction; return how many were erased."""
    blank = dict.fromkeys(ERASED_COLUMNS)
    result = conn.execute(
        update(records)
        .where(records.c.seq.in_(seqs), records.c.erased_at.is_(None))
        .values(**blank, erased_at=when)
    )
    return int(result.rowcount)


def expired(conn: Connection, before: str, limit: int = BATCH) -> list[int]:
    """Usage records whose expiry (or, if restricted, whose legal floor) is before
    ``before`` and that still hold a payload."""
    query = (
        select(records.c.seq)
        .where(
            records.c.kind == "usage",
            records.c.erased_at.is_(None),
            or_(records.c.expires_at < before, records.c.restricted_until < before),
        )
        .order_by(records.c.seq)
        .limit(limit)
    )
    return [int(seq) for (seq,) in conn.execute(query)]


def wipe_sqlite_journal(engine: Engine) -> None:
    """Checkpoint and truncate SQLite's write-ahead log, so erased bytes leave it too."""
    if not is_sqlite(engine):
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()
