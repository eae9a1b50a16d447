"""Set-up for auditor tests: a populated store, its auditor settings (PostgreSQL roles
included), tokens of every kind, and a live server."""

from __future__ import annotations

import datetime as dt
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
from privlog.store import roles
from privlog.store.chainstore import summary_payload
from privlog.store.database import make_engine
from tests.storetools import payload, store

TENANTS = ("acme", "beta")


@dataclass
class Tokens:
    valid: str
    acme: str  # scoped to tenant acme
    beta: str  # scoped to tenant beta
    expired: str
    revoked: str
    extra: dict[str, str] = field(default_factory=dict)


def populate(url: str, count: int = 12) -> None:
    """``count`` usage records (alternating tenants, mixed outcomes and entities) and two
    writer summaries, through the real chain writer (checkpoint at the end)."""
    cs = store(url, checkpoint_every=count)
    try:
        for i in range(count):
            row = payload(i, text=f"row {i} =SUM(A1) <EMAIL_ADDRESS_{i}>")
            row["tenant"] = TENANTS[i % 2]
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
            cs.append([row])
        cs.append([summary_payload({"dropped_total": 2, "writer": "w1"})])
        cs.append([summary_payload({"dropped_total": 5, "writer": "w1"})])
    finally:
        cs.close()


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
