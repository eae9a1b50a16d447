"""Training-use consent: kept per subject token, applied as records are written.

A grant or revoke is one *event*: a row per token of the user id (one per key in the ring,
so records under any live key version match) with its time and source, and a chained
entry (kind ``request``: type, time, source, records marked; never the id or a token).

A usage record's ``training`` flag is decided in the transaction that appends it, after the
chain head is locked: true only if the subject's latest event at the record's time is a
grant and no revoke came after it. A revoke takes the same lock, so a record is either
written before the revoke (and marked by it) or after it (and written unflagged): no record
slips between the two. A revoke marks the subject's earlier flagged records with
``training_revoked_at``, which takes them out of every training export for good.

A key rotation starts new records under a new token that earlier events do not name, so
they are not flagged until the subject's consent is given again (see the README).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select, update

from privlog.errors import ConfigError
from privlog.keys import KeyRing
from privlog.store.schema import chain_head, consent, now_iso, records

if TYPE_CHECKING:
    from privlog.store.chainstore import ChainStore

__all__ = [
    "ConsentChange",
    "ConsentState",
    "apply_in",
    "change",
    "counts",
    "forget_key",
    "state",
]

Action = Literal["grant", "revoke"]
PURPOSE = "training"
# Where consent was given or withdrawn ("settings-page", "signup", "cli"): a label of the
# provider's, at most four digits in all (an id or phone number cannot pass as a source).
_SOURCE = re.compile(r"[a-z][a-z0-9_:-]{0,31}")
_MAX_DIGITS = 4


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A subject's training consent now: ``granted``, since when and from where."""

    granted: bool
    since: str | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"purpose": PURPOSE, "granted": self.granted, "since": self.since,
                "source": self.source}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """What one grant or revoke did."""

    request_id: str
    action: Action
    at: str
    source: str
    records_marked: int  # earlier records taken out of training use (revoke only)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "type": f"consent_{self.action}",
            "purpose": PURPOSE,
            "at": self.at,
            "source": self.source,
            "records_marked": self.records_marked,
        }


def _check_source(source: str) -> str:
    if (
        not isinstance(source, str)
        or not _SOURCE.fullmatch(source)
        or sum(c.isdigit() for c in source) > _MAX_DIGITS
    ):
        raise ConfigError(
            "the consent source must be a label for where consent was given, such as "
            "'settings-page' or 'cli' (a lower-case letter first, then lower-case letters, "
            "digits, '_', ':' or '-', at most 32, at most 4 digits); never user data"
        )
    return source


def change(
    store: ChainStore,
    ring: KeyRing,
    user_id: str,
    action: Action,
    *,
    source: str,
    now: dt.datetime | None = None,
) -> ConsentChange:
    """Grant or revoke ``user_id``'s training consent; a revoke also marks their earlier
    records. The event, the marks and the chained entry commit together."""
    from privlog.store.subjects import subject_tokens  # subjects imports the chain store

    tokens = subject_tokens(ring, user_id)
    source = _check_source(source)
    store.ensure_ready()
    with store.engine.begin() as conn:
        # The head lock first: writers decide the flag under it (see apply_in).
        conn.execute(select(chain_head.c.seq).where(chain_head.c.id == 1).with_for_update()).one()
        at = now_iso(now)
        ref = conn.execute(
            select(consent.c.subject_ref).where(consent.c.subject_token.in_(tokens)).limit(1)
        ).scalar()
        event = secrets.token_hex(16)
        conn.execute(
            insert(consent),
            [
                {"id": secrets.token_hex(16), "event_id": event,
                 "subject_ref": ref or secrets.token_hex(16), "subject_token": token,
                 "purpose": PURPOSE, "action": action, "at": at, "source": source}
                for token in tokens
            ],
        )  # fmt: skip
        marked = 0
        if action == "revoke":
            result = conn.execute(
                update(records)
                .where(
                    records.c.subject_token.in_(tokens),
                    records.c.training.is_(True),
                    records.c.training_revoked_at.is_(None),
                )
                .values(training_revoked_at=at)
            )
            marked = int(result.rowcount)
        done = ConsentChange(secrets.token_hex(8), action, at, source, marked)
        entry = {
            "kind": "request",
            "ts": at,
            "route": f"privlog:consent_{action}",
            "details": json.dumps(done.as_dict(), sort_keys=True),
        }
        store.append_in(conn, [entry])
    return done


def forget_key(engine: Engine, kid: str) -> int:
    """Delete the consent rows keyed by the retired key ``kid`` and return how many: they
    share a subject's ``subject_ref`` with its tokens under live keys, so keeping them would
    link the retired key's records to the subject again. Records under ``kid`` are never
    exported after it is retired (see privlog.training)."""
    with engine.begin() as conn:
        if not inspect(conn).has_table(consent.name):
            return 0
        result = conn.execute(delete(consent).where(consent.c.subject_token.like(f"{kid}:%")))
        return int(result.rowcount)


def _events(conn: Connection, tokens: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Each token's events, oldest first: (time, action, source)."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    if not tokens:
        return found
    rows = conn.execute(
        select(consent.c.subject_token, consent.c.at, consent.c.action, consent.c.source)
        .where(consent.c.subject_token.in_(sorted(set(tokens))), consent.c.purpose == PURPOSE)
        .order_by(consent.c.at, consent.c.id)
    )
    for token, at, action, source in rows:
        found.setdefault(str(token), []).append((str(at), str(action), str(source)))
    return found


def state(store: ChainStore, ring: KeyRing, user_id: str) -> ConsentState:
    """``user_id``'s training consent now."""
    from privlog.store.subjects import subject_tokens

    tokens = subject_tokens(ring, user_id)
    store.ensure_ready()
    with store.engine.connect() as conn:
        events = sorted(e for per in _events(conn, tokens).values() for e in per)
    if not events:
        return ConsentState(False)
    at, action, source = events[-1]
    return ConsentState(action == "grant", at, source)


def apply_in(conn: Connection, payloads: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``payloads`` with each usage record's ``training`` flag decided (called by the chain
    store with the head locked, so a concurrent revoke is either seen or sees the record)."""
    usage = [p for p in payloads if p.get("kind") == "usage"]
    if not usage:
        return list(payloads)
    events = _events(conn, [str(p["subject_token"]) for p in usage if p.get("subject_token")])
    out: list[Mapping[str, Any]] = []
    for payload in payloads:
        if payload.get("kind") != "usage":
            out.append(payload)
            continue
        history = events.get(str(payload.get("subject_token")), [])
        out.append({**payload, "training": _consented(history, str(payload["ts"]))})
    return out


def _consented(history: Sequence[tuple[str, str, str]], ts: str) -> bool:
    """Granted at ``ts`` and never revoked since (times are fixed-width ISO strings)."""
    before = [action for at, action, _ in history if at <= ts]
    if not before or before[-1] != "grant":
        return False
    return all(action != "revoke" for at, action, _ in history if at > ts)


def counts(conn: Connection) -> dict[str, int]:
    """Consent across all subjects: who consents now, who revoked, and the records each
    decision touched (for the evidence report and the export manifest)."""
    latest: dict[str, tuple[str, str]] = {}
    rows = conn.execute(
        select(consent.c.subject_ref, consent.c.at, consent.c.action, consent.c.event_id)
        .where(consent.c.purpose == PURPOSE)
        .order_by(consent.c.at, consent.c.id)
    )
    grants = revokes = 0
    seen: set[str] = set()
    for ref, at, action, event in rows:
        latest[str(ref)] = (str(at), str(action))
        if event not in seen:  # one event has a row per token
            seen.add(str(event))
            grants += action == "grant"
            revokes += action == "revoke"
    flagged = conn.execute(
        select(func.count()).select_from(records).where(records.c.training.is_(True))
    ).scalar_one()
    marked = conn.execute(
        select(func.count()).select_from(records).where(records.c.training_revoked_at.is_not(None))
    ).scalar_one()
    return {
        "subjects_consenting": sum(a == "grant" for _, a in latest.values()),
        "subjects_revoked": sum(a == "revoke" for _, a in latest.values()),
        "grants": grants,
        "revokes": revokes,
        "records_with_consent": int(flagged),
        "records_consent_revoked": int(marked),
    }
