"""``privlog demo``: a chat app behind the middleware, real HTTP on loopback, end to end.

Starts a small OpenAI-shaped FastAPI app with ``PrivlogMiddleware`` under uvicorn on a free
loopback port, sends it English and Chinese prompts carrying synthetic identifiers, and
prints what was sent, what was stored for each request, and the chain check. The store is
``PRIVLOG_DATABASE_URL`` (default ``privlog.db`` in the working directory).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from importlib import resources
from typing import Any, TextIO

from privlog.core import Privlog

__all__ = ["run"]


def _prompts() -> list[str]:
    text = resources.files("privlog").joinpath("samples/prompts.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _app(privlog: Privlog) -> Any:
    import importlib

    from fastapi import FastAPI

    # adapters/ is mapped into the privlog namespace at install time, which mypy cannot
    # follow from here; the import is resolved at run time.
    asgi = importlib.import_module("privlog.adapters.asgi")
    app = FastAPI(title="privlog demo")
    app.add_middleware(
        asgi.PrivlogMiddleware, privlog=privlog, identify=lambda c: c.headers.get("x-user-id")
    )

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        size = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        reply = f"(canned reply) I received {size} characters."
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stored(privlog: Privlog, record_ids: list[str]) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from privlog.store.database import make_engine
    from privlog.store.schema import records

    engine = make_engine(privlog.settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    records.c.record_id, records.c.seq, records.c.text, records.c.entity_counts
                ).where(records.c.record_id.in_(record_ids))
            ).mappings()
            return {str(r["record_id"]): dict(r) for r in rows}
    finally:
        engine.dispose()


def run(*, once: bool, out: TextIO) -> int:
    import httpx
    import uvicorn

    from privlog.store.chainstore import ChainStore
    from privlog.store.database import make_engine

    privlog = Privlog.from_env()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(_app(privlog), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="privlog-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    out.write(f"privlog demo: chat app with PrivlogMiddleware at {url}\n")
    out.write(f"store: {privlog.settings.database_url}\n\n")
    sent: list[tuple[str, str]] = []
    with httpx.Client(timeout=30) as client:
        for i, prompt in enumerate(_prompts()):
            body = {"model": "demo", "messages": [{"role": "user", "content": prompt}]}
            response = client.post(url, json=body, headers={"x-user-id": f"demo-user-{i % 3}"})
            response.raise_for_status()
            sent.append((prompt, response.headers["x-privlog-record"]))
    privlog.flush(30)
    stored = _stored(privlog, [rid for _, rid in sent])
    for prompt, rid in sent:
        row = stored.get(rid)
        kept = json.loads(row["text"]).get("messages[0].content") if row and row["text"] else None
        found = ", ".join(sorted(json.loads(row["entity_counts"]))) if row else ""
        out.write(f"user sent:  {prompt}\n")
        if row is None:
            out.write("stored:     (not written yet)\n\n")
            continue
        out.write(f"stored:     {kept}\n")
        out.write(f"record:     #{row['seq']} id {rid}; found: {found or 'nothing'}\n\n")
    store = ChainStore(make_engine(privlog.settings.database_url), auto_migrate=False)
    report = store.verify()
    store.close()
    out.write(f"chain check: {report}\n")
    if not once:
        out.write(f"\nserving {url} (POST OpenAI-shaped chat requests); Ctrl+C to stop\n")
        out.flush()
        try:
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
    server.should_exit = True
    thread.join(10)
    privlog.close()
    return 0 if report.ok else 1
