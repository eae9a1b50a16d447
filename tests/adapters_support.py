"""Shared set-up for adapter tests: a Privlog on a temporary SQLite store, and its rows."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from privlog import Privlog
from privlog.config import HttpPolicy, Policy, Settings, StorePolicy
from privlog.detect import DetectionSettings
from privlog.identity import IdentityPolicy
from privlog.store.database import make_engine
from privlog.store.schema import records


def make_privlog(
    tmp_path: Path,
    *,
    model: str | None = None,
    http: HttpPolicy | None = None,
    egress: dict[str, Any] | None = None,
    database_url: str | None = None,
    identity: IdentityPolicy | None = None,
) -> Privlog:
    return Privlog(
        Settings(
            database_url=database_url or f"sqlite:///{tmp_path / 'privlog.db'}",
            key_file=tmp_path / "privlog.keys",
            policy=Policy(
                detection=DetectionSettings(model=model),
                store=StorePolicy(batch_interval=0.02),
                http=http or HttpPolicy(),
                egress=egress or {},
                identity=identity or IdentityPolicy(),
            ),
        )
    )


def stored(pl: Privlog) -> list[dict[str, Any]]:
    """Flush and return the usage records, text decoded."""
    assert pl.flush(10) == 0
    if pl.stats()["received"] == 0:
        return []  # nothing was ever submitted: the store was never created
    engine = make_engine(pl.settings.database_url)
    try:
        with engine.connect() as conn:
            rows = [
                dict(r)
                for r in conn.execute(
                    select(records).where(records.c.kind == "usage").order_by(records.c.seq)
                ).mappings()
            ]
    finally:
        engine.dispose()
    for row in rows:
        row["text"] = json.loads(row["text"]) if row["text"] else None
        row["flags"] = set(filter(None, str(row["flags"] or "").split(",")))
    return rows


async def asgi_post(app: Any, path: str, body: bytes) -> tuple[float, int]:
    """One JSON POST through raw ASGI (no socket, so only the app's and the middleware's
    own time is in it): the seconds it took and the response status."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": headers,
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    start = time.perf_counter()
    await app(scope, receive, send)
    return time.perf_counter() - start, status
