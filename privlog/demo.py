"""``privlog demo``: a chat app behind the middleware, real HTTP on loopback, end to end.

Starts a loopback "third-party model" server and a small OpenAI-shaped FastAPI app with
``PrivlogMiddleware`` under uvicorn, which forwards each chat to the model through the
guarded httpx client (the model is a processor with ``restore = true``). Sends English and
Chinese prompts carrying synthetic identifiers and prints, side by side, what the user sent,
what the third party received, what was stored, and the reply the user got; then the chain
check and the flagged-content register (the demo's content rules flag one prompt and refuse
another, unless the policy names its own rule file). The store is
``PRIVLOG_DATABASE_URL`` (default ``privlog.db`` in the working directory).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from privlog.config import Settings
from privlog.core import Privlog
from privlog.store.database import sqlite_path

__all__ = ["run"]


def _prompts() -> list[str]:
    text = resources.files("privlog").joinpath("samples/prompts.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


class _Model(BaseHTTPRequestHandler):
    """The "third-party model": records what it receives, answers by quoting the prompt."""

    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(body)
        prompt = json.loads(body)["messages"][-1]["content"]
        reply = json.dumps(
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": f"You said: {prompt}"}}
                ]
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def _app(privlog: Privlog, model_url: str) -> Any:
    import importlib

    from fastapi import FastAPI

    # adapters/ is mapped into the privlog namespace at install time, which mypy cannot
    # follow from here; the imports are resolved at run time.
    asgi = importlib.import_module("privlog.adapters.asgi")
    guarded = importlib.import_module("privlog.adapters.httpx")
    app = FastAPI(title="privlog demo")
    app.add_middleware(
        asgi.PrivlogMiddleware, privlog=privlog, identify=lambda c: c.headers.get("x-user-id")
    )

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        async with guarded.guarded_async_client(privlog=privlog, timeout=30) as client:
            upstream = await client.post(model_url, json=body)
        return dict(upstream.json())

    return app


def _with_model(settings: Settings, host: str, rules: Path) -> Settings:
    """The demo's model server as a processor (scrub, restore), beside the user's policy,
    and the demo's content rules unless the policy names its own."""
    egress = dict(settings.policy.egress)
    processors = list(egress.get("processors", []))
    processors.append({"name": "demo-model", "hosts": [host], "action": "scrub", "restore": True})
    egress["processors"] = processors
    content = settings.policy.content
    if content.rules_file is None:
        rules.write_text(
            resources.files("privlog").joinpath("samples/content-rules.txt").read_text("utf-8"),
            encoding="utf-8",
        )
        content = dataclasses.replace(content, rules_file=rules)
    policy = dataclasses.replace(settings.policy, egress=egress, content=content)
    return dataclasses.replace(settings, policy=policy)


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


def _converse(url: str, model: Any) -> list[tuple[str, str, str, str]]:
    """Send the sample prompts; return (prompt, record id, what the model got, reply)."""
    import httpx

    sent = []
    with httpx.Client(timeout=60) as client:
        for i, prompt in enumerate(_prompts()):
            body = {"model": "demo", "messages": [{"role": "user", "content": prompt}]}
            before = len(model.received)
            response = client.post(url, json=body, headers={"x-user-id": f"demo-user-{i % 3}"})
            if response.status_code == 451:  # refused under the content rules
                answer = f"451 {response.json()['error']['message']}"
            else:
                response.raise_for_status()
                answer = response.json()["choices"][0]["message"]["content"]
            received = (
                json.loads(model.received[-1])["messages"][-1]["content"]
                if len(model.received) > before
                else "(nothing: the request was refused before the app ran)"
            )
            sent.append((prompt, response.headers["x-privlog-record"], received, answer))
    return sent


def _report(privlog: Privlog, sent: list[tuple[str, str, str, str]], out: TextIO) -> bool:
    from privlog.store.chainstore import ChainStore
    from privlog.store.database import make_engine

    privlog.flush(30)
    stored = _stored(privlog, [s[1] for s in sent])
    for prompt, rid, received, answer in sent:
        row = stored.get(rid)
        kept = json.loads(row["text"]).get("messages[0].content") if row and row["text"] else None
        found = ", ".join(sorted(json.loads(row["entity_counts"]))) if row else ""
        out.write(f"user sent:          {prompt}\n")
        out.write(f"third party got:    {received}\n")
        out.write(f"stored:             {kept if row else '(not written yet)'}\n")
        out.write(f"user got back:      {answer}\n")
        if row is not None:
            out.write(f"record:             #{row['seq']} id {rid}; found: {found or 'nothing'}\n")
        out.write("\n")
    store = ChainStore(make_engine(privlog.settings.database_url), auto_migrate=False)
    report = store.verify()
    store.close()
    out.write(f"chain check: {report}\n")
    flagged = privlog.flagged(limit=1000)
    out.write(f"flagged content: {len(flagged)} register entries (`privlog content list`)\n")
    for entry in flagged:
        out.write(
            f"  {entry['direction']:6} {entry['category']}/{entry['rule_id']} {entry['action']}"
            f", due {entry['remediation_due'][:10]}: {entry['excerpt']}\n"
        )
    return report.ok


def _serve(app: Any, name: str) -> tuple[Any, threading.Thread, int]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, thread, port


def _auditor(settings: Settings, out: TextIO) -> tuple[Any, threading.Thread]:
    """The read-only auditor API and dashboard on the demo's store, with a fresh token."""
    import httpx

    from privlog.audit.app import create_app
    from privlog.audit.tokens import create_token
    from privlog.store.database import make_engine

    engine = make_engine(settings.database_url)
    try:
        token = create_token(engine, f"demo-{secrets.token_hex(3)}", expires_days=7)
    finally:
        engine.dispose()
    server, thread, port = _serve(create_app(settings), "privlog-demo-auditor")
    base = f"http://127.0.0.1:{port}"
    check = httpx.get(
        f"{base}/v1/chain/verify", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    out.write(f"\nauditor dashboard: {base}/  (read-only; chain ok: {check['ok']})\n")
    out.write(f"auditor token:     {token}  (valid 7 days; also for `privlog audit serve`)\n")
    return server, thread


def _report_file(settings: Settings, out: TextIO) -> None:
    """The evidence report over the demo's store, next to the database file."""
    from privlog.audit.connections import read_engine
    from privlog.audit.report import build_report, render_html

    where = sqlite_path(settings.database_url)
    path = (where.parent if where else Path.cwd()) / "privlog-report.html"
    engine = read_engine(settings)
    try:
        with engine.connect() as conn:
            path.write_text(render_html(build_report(conn, settings)), encoding="utf-8")
    finally:
        engine.dispose()
    out.write(f"evidence report:   {path}\n")


def run(*, once: bool, out: TextIO) -> int:
    model = ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    model.received = []  # type: ignore[attr-defined]
    threading.Thread(target=model.serve_forever, name="privlog-demo-model", daemon=True).start()
    model_host = f"127.0.0.1:{model.server_port}"
    settings = Settings.from_env()
    where = sqlite_path(settings.database_url)
    rules = (where.parent if where else Path.cwd()) / "privlog-demo-rules.toml"
    privlog = Privlog(_with_model(settings, model_host, rules))
    app = _app(privlog, f"http://{model_host}/v1/chat/completions")
    server, thread, port = _serve(app, "privlog-demo-server")
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    out.write(f"privlog demo: chat app with PrivlogMiddleware at {url}\n")
    out.write(f"third-party model (a processor, scrub + restore) at http://{model_host}\n")
    out.write(f"store: {privlog.settings.database_url}\n\n")
    ok = _report(privlog, _converse(url, model), out)
    auditor, audit_thread = _auditor(privlog.settings, out)
    _report_file(privlog.settings, out)
    if not once:
        out.write(f"\nserving {url} (POST OpenAI-shaped chat requests); Ctrl+C to stop\n")
        out.flush()
        try:
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
    server.should_exit = auditor.should_exit = True
    thread.join(10)
    audit_thread.join(10)
    model.shutdown()
    model.server_close()
    privlog.close()
    return 0 if ok else 1
