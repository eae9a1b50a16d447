"""Set-up for auditor tests: a populated store, its auditor settings (PostgreSQL roles
included), tokens of every kind, and a live server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from privlog.audit.tokens import create_token, revoke_token
from privlog.config import Settings
from privlog.store import register, roles
from privlog.store.chainstore import summary_payload
from privlog.store.database import make_engine
from privlog.store.schema import now_iso
from tests.storetools import payload, store

TENANTS = ("acme", "beta")
REMEDIATION_DAYS = 90
OLD_RULES, NEW_RULES = "2026-10-01", "2026-11-01"  # rule-set versions in the planted content


def fixed_id(name: str) -> str:
    """A stable 32-hex id (the shape of a UUID4 hex) for a planted row."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Planted:
    """One register entry populate() plants, tied to usage record ``record`` (0-based)."""

    name: str
    record: int
    direction: str
    category: str
    rule_id: str
    action: str
    age_days: float  # discovered this long before planting
    ruleset: str = NEW_RULES
    remediated: bool = False
    copy_of: str | None = None  # the name of the entry it is a regenerated copy of
    # For a reply: the rule-set version the request's input was checked (and allowed) under;
    # "" for the reply's own, None when the input was not checked.
    input_ruleset: str | None = ""

    @property
    def id(self) -> str:
        return fixed_id(f"entry:{self.name}")

    @property
    def tenant(self) -> str:
        return TENANTS[self.record % 2]

    @property
    def overdue(self) -> bool:
        return not self.remediated and self.age_days > REMEDIATION_DAYS


# Records alternate tenants (even: acme, odd: beta). Two entries are overdue (open past
# their due time), one is remediated although past due, one is a regenerated copy. The
# rules were reloaded between a-output's request and its reply; a-copy's input was not
# checked.
PLANTED = (
    Planted("a-overdue", 0, "input", "fraud", "fraud.receipts", "flag", 100, OLD_RULES),
    Planted("b-remediated", 1, "input", "fraud", "fraud.receipts", "flag", 120, OLD_RULES, True),
    Planted(
        "a-output", 2, "output", "violence", "violence.weapons", "block", 2, input_ruleset=OLD_RULES
    ),
    Planted("b-overdue", 3, "output", "extremism", "extremism.recruit", "block", 95, OLD_RULES),
    Planted(
        "a-copy",
        4,
        "output",
        "violence",
        "near-duplicate",
        "block",
        1,
        copy_of="a-output",
        input_ruleset=None,
    ),
    Planted("b-open", 5, "input", "extremism", "extremism.recruit", "flag", 0.05),
)
ENTRY = {p.name: p for p in PLANTED}
ALLOWED = (6, 7)  # records whose content rules were checked and matched nothing


def record_id(i: int) -> str:
    return fixed_id(f"record:{i}")


def flagged_row(entry: Planted, now: dt.datetime) -> dict[str, Any]:
    """A register row as the writer would store it (every column the writer sets)."""
    found = now - dt.timedelta(days=entry.age_days)
    output = entry.direction == "output"
    row: dict[str, Any] = {
        "id": entry.id,
        "discovered_at": now_iso(found),
        "tenant": entry.tenant,
        "direction": entry.direction,
        "category": entry.category,
        "rule_id": entry.rule_id,
        "ruleset_version": entry.ruleset,
        "action": entry.action,
        "record_id": record_id(entry.record),
        "key_id": "k1",
        "fingerprint": hashlib.sha256(f"fingerprint:{entry.name}".encode()).hexdigest(),
        "signature": hashlib.sha512(entry.name.encode()).hexdigest() * 16 if output else None,
        "shingles": 42 if output else None,
        "excerpt": f"…order <b>{entry.name}</b> for <PERSON_1> at <EMAIL_ADDRESS_1>…",
        "related_to": fixed_id(f"entry:{entry.copy_of}") if entry.copy_of else None,
        "similarity": 0.9375 if entry.copy_of else None,
        "remediation_due": now_iso(found + dt.timedelta(days=REMEDIATION_DAYS)),
        "status": "remediated" if entry.remediated else "open",
        "remediated_at": None,
        "remediation_note": None,
    }
    if entry.remediated:
        row["remediated_at"] = now_iso(found + dt.timedelta(days=30))
        row["remediation_note"] = "reviewed; rule tightened and the user warned"
    return row


def content_decision(i: int) -> dict[str, Any] | None:
    """The ``content`` column of usage record ``i``, as the adapters write it (the input's
    decision at the top level, the reply's under ``output``, the stricter action on top)."""
    if i in ALLOWED:
        return {"action": "allow", "rules": [], "categories": [], "ruleset_version": NEW_RULES}
    hits = [p for p in PLANTED if p.record == i]
    if not hits:
        return None
    entry = hits[0]
    decision = {
        "action": entry.action,
        "rules": [entry.rule_id],
        "categories": [entry.category],
        "ruleset_version": entry.ruleset,
    }
    if entry.direction == "input":
        return decision
    if entry.input_ruleset is None:
        return {"output": decision, "ruleset_version": entry.ruleset, "action": entry.action}
    version = entry.input_ruleset or entry.ruleset
    allowed = {"action": "allow", "rules": [], "categories": [], "ruleset_version": version}
    return {**allowed, "action": entry.action, "output": decision}


def plant_flagged(url: str, rows: list[dict[str, Any]]) -> None:
    """Insert register rows directly (the store must be migrated)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            register.insert_in(conn, rows)
    finally:
        engine.dispose()


@dataclass
class Tokens:
    valid: str
    acme: str  # scoped to tenant acme
    beta: str  # scoped to tenant beta
    expired: str
    revoked: str
    extra: dict[str, str] = field(default_factory=dict)


def populate(url: str, count: int = 12, *, flagged: bool = True) -> dt.datetime:
    """``count`` usage records (alternating tenants, mixed outcomes and entities, content
    decisions on some) and two writer summaries, through the real chain writer
    (checkpoint at the end). With ``flagged``, the register entries in ``PLANTED`` go with
    their records, in the same transaction, as the writer thread sends them. Returns the
    time the entries' ages count back from."""
    now = dt.datetime.now(dt.UTC)
    cs = store(url, checkpoint_every=count)
    try:
        for i in range(count):
            row = payload(i, text=f"row {i} =SUM(A1) <EMAIL_ADDRESS_{i}>")
            row["tenant"] = TENANTS[i % 2]
            row["record_id"] = record_id(i)
            decision = content_decision(i)
            if decision is not None:
                row["content"] = json.dumps(decision, sort_keys=True)
            row["outcome"] = ("logged", "forwarded", "blocked")[i % 3]
            row["entity_counts"] = json.dumps({"EMAIL_ADDRESS": 1, "PERSON": i % 2})
            row["flags"] = "truncated" if i % 4 == 0 else ""
            row["rescan_hits"] = i % 2
            if i % 3 == 1:
                row["egress"] = json.dumps([{"destination": "model", "action": "scrub"}])
            if i < 3:  # the records span two days
                row["ts"] = "2026-01-02T10:00:00.000000+00:00"
            if i == 5:  # a spreadsheet formula, which the CSV export must defuse
                row["route"] = "=HYPERLINK(1)"
            entries = [p for p in PLANTED if p.record == i] if flagged else []
            kind = {"kind": register.REGISTER_KIND}
            cs.append([row, *({**flagged_row(p, now), **kind} for p in entries)])
        cs.append([summary_payload({"dropped_total": 2, "writer": "w1"})])
        cs.append([summary_payload({"dropped_total": 5, "writer": "w1"})])
    finally:
        cs.close()
    return now


def make_tokens(url: str) -> Tokens:
    engine = make_engine(url)
    try:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        tokens = Tokens(
            valid=create_token(engine, "auditor"),
            acme=create_token(engine, "acme-auditor", tenant="acme"),
            beta=create_token(engine, "beta-auditor", tenant="beta"),
            expired=create_token(engine, "expired", expires_days=1, now=past),
            revoked=create_token(engine, "revoked"),
        )
        revoke_token(engine, "revoked")
        return tokens
    finally:
        engine.dispose()


@contextmanager
def auditor_settings(url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the auditor API on ``url``: SQLite as is; PostgreSQL through fresh
    least-privilege roles (dropped afterwards)."""
    key_file = tmp_path / "privlog.keys"
    if make_url(url).get_backend_name() == "sqlite":
        yield Settings(database_url=url, key_file=key_file)
        return
    suffix = uuid.uuid4().hex[:10]
    reader, logger = f"privlog_aud_{suffix}", f"privlog_alog_{suffix}"
    admin = make_engine(url)
    try:
        roles.grant_auditor(admin, reader)
        roles.grant_access_log(admin, logger)
        yield Settings(
            database_url=url,
            key_file=key_file,
            audit_database_url=make_url(url).set(username=reader).render_as_string(False),
            audit_log_database_url=make_url(url).set(username=logger).render_as_string(False),
        )
    finally:
        with admin.begin() as conn:
            for role in (reader, logger):
                conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the auditor server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
