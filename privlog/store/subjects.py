"""Users' rights over what is kept about them: access (export) and erasure.

Records hold only keyed tokens of the user id, one per key version that was live when the
record was written, so a request finds the user's records by computing the id's token
under every key in the ring. Each request gets a random id and is itself a chained entry
(kind ``request``: type, id, times, how many records; never the user id or a token). An
erasure blanks the payloads in the same transaction as its chained erasure entry, so the
chain still verifies and no one can tell from the store whose records they were.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from privlog.config import Policy
from privlog.errors import ConfigError
from privlog.keys import KeyRing
from privlog.store import erasure
from privlog.store.chainstore import ChainStore
from privlog.store.reader import record_view
from privlog.store.schema import now_iso, records

__all__ = [
    "SubjectRequest",
    "erase_subject",
    "export_subject",
    "restrict_subject",
    "subject_tokens",
]

_MAX_USER_ID = 512


@dataclass(frozen=True, slots=True)
class SubjectRequest:
    """The outcome of one request: what was asked, when, and what was done."""

    request_id: str
    kind: str  # "export" or "erase"
    received_at: str
    completed_at: str
    records: int
    exported: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "type": self.kind,
            "received_at": self.received_at,
            "completed_at": self.completed_at,
            "records": self.records,
        }
        if self.kind == "export":
            out["data"] = self.exported
        if self.refused:
            out["refused"] = self.refused
        return out


def subject_tokens(ring: KeyRing, user_id: str) -> list[str]:
    """The tokens ``user_id``'s records may be stored under (one per key in the ring)."""
    if not isinstance(user_id, str) or not user_id or len(user_id) > _MAX_USER_ID:
        raise ConfigError(f"the user id must be 1 to {_MAX_USER_ID} characters")
    return ring.tokens("subject", user_id.encode("utf-8", "surrogatepass"))


def _matching(store: ChainStore, tokens: Sequence[str]) -> list[dict[str, Any]]:
    query = (
        select(records)
        .where(records.c.subject_token.in_(tokens), records.c.erased_at.is_(None))
        .order_by(records.c.seq)
    )
    with store.engine.connect() as conn:
        return [record_view(row) for row in conn.execute(query).mappings()]


def _floor(policy: Policy, row: dict[str, Any]) -> tuple[str, dt.datetime]:
    """A record's retention class and the end of its legal minimum."""
    cls = policy.retention_class(str(row["retention_class"]))
    return cls.name, dt.datetime.fromisoformat(str(row["ts"])) + dt.timedelta(days=cls.min_days)


def request_entry(request: SubjectRequest) -> dict[str, Any]:
    details = {k: v for k, v in request.as_dict().items() if k != "data"}
    return {
        "kind": "request",
        "ts": request.completed_at,
        "route": f"privlog:subject_{request.kind}",
        "details": json.dumps(details, sort_keys=True),
    }


def export_subject(
    store: ChainStore, ring: KeyRing, user_id: str, *, now: dt.datetime | None = None
) -> SubjectRequest:
    """Everything kept about ``user_id``, found under every live key version. The request
    itself is chained (without the id)."""
    received = now_iso(now)
    rows = _matching(store, subject_tokens(ring, user_id))
    for row in rows:
        # Chain internals say nothing about the user; the token is theirs but opaque.
        for column in ("payload_salt", "payload_hash", "prev_hash", "entry_hash"):
            row.pop(column, None)
        if isinstance(row.get("text"), str):
            row["text"] = json.loads(row["text"])  # the scrubbed fields, as the app sent them
    request = SubjectRequest(
        secrets.token_hex(8), "export", received, now_iso(now), len(rows), rows
    )
    store.append([request_entry(request)])
    return request


def erase_subject(
    store: ChainStore,
    ring: KeyRing,
    user_id: str,
    *,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> SubjectRequest:
    """Erase the payloads of every record of ``user_id`` (all key versions); the erasure
    and the request are chained without the id. Records still inside their class's legal
    minimum (``[retention.classes] min_days``) are kept, and the request says until when
    and why."""
    policy = policy or Policy()
    moment = now or dt.datetime.now(dt.UTC)
    received = now_iso(moment)
    seqs: list[int] = []
    kept: dict[tuple[str, str], int] = {}
    for row in _matching(store, subject_tokens(ring, user_id)):
        name, floor = _floor(policy, row)
        if floor > moment:
            key = (name, floor.date().isoformat())
            kept[key] = kept.get(key, 0) + 1
        else:
            seqs.append(int(row["seq"]))
    erased = store.erase(seqs, "subject_request", moment) if seqs else 0
    refused = [
        {
            "records": count,
            "until": until,
            "reason": f"retention class {name} must be kept {policy.retention_class(name).min_days}"
            " days by law; erased after that date",
        }
        for (name, until), count in sorted(kept.items())
    ]
    request = SubjectRequest(
        secrets.token_hex(8), "erase", received, now_iso(moment), erased, refused=refused
    )
    store.append([request_entry(request)])
    if erased:
        erasure.wipe_sqlite_journal(store.engine)
    return request


def restrict_subject(
    store: ChainStore,
    ring: KeyRing,
    user_id: str,
    *,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> SubjectRequest:
    """Restrict every record of ``user_id``: each is kept only until its class's legal
    floor (then purged, even if its normal expiry is later) and is left out of every use
    but the auditor's. The request is chained without the id."""
    policy = policy or Policy()
    moment = now or dt.datetime.now(dt.UTC)
    received = now_iso(moment)
    floors: dict[str, list[int]] = {}
    for row in _matching(store, subject_tokens(ring, user_id)):
        _, floor = _floor(policy, row)
        floors.setdefault(now_iso(max(floor, moment)), []).append(int(row["seq"]))
    store.ensure_ready()
    with store.engine.begin() as conn:  # the change and the entry recording it, together
        count = 0
        for until, seqs in floors.items():
            result = conn.execute(
                update(records)
                .where(records.c.seq.in_(seqs), records.c.erased_at.is_(None))
                .values(restricted_until=until)
            )
            count += int(result.rowcount)
        request = SubjectRequest(secrets.token_hex(8), "restrict", received, now_iso(moment), count)
        store.append_in(conn, [request_entry(request)])
    return request
