"""The example apps under real servers: uvicorn for FastAPI, gunicorn for Flask."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from tests.canaries import find_leaks
from tests.thirdparty import third_party

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("server did not start")


@pytest.mark.parametrize(
    "server",
    [
        [
            str(BIN / "uvicorn"),
            "examples.fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        [str(BIN / "gunicorn"), "-w", "2", "-b", "127.0.0.1:{port}", "examples.flask_app:app"],
    ],
    ids=["fastapi-uvicorn", "flask-gunicorn"],
)
def test_example_records_every_request(server: list[str], tmp_path: Path) -> None:
    """Each example app, under its real server, forwards every chat to a loopback vendor
    through the guard (the vendor sees placeholders, the user gets the values back) and
    records each request; the chain verifies after a graceful shutdown."""
    with third_party() as vendor:
        _serve_and_check(server, tmp_path, vendor)


def _serve_and_check(server: list[str], tmp_path: Path, vendor: Any) -> None:
    port = _free_port()
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[detection]\nmodel = "none"\n[store]\nbatch_interval = 0.05\n'
        "[[egress.processors]]\n"
        f'name = "vendor"\nhosts = ["127.0.0.1:{vendor.server_port}"]\nrestore = true\n'
    )
    db = tmp_path / "privlog.db"
    env = {
        **os.environ,
        "PRIVLOG_DATABASE_URL": f"sqlite:///{db}",
        "PRIVLOG_KEY_FILE": str(tmp_path / "k.keys"),
        "PRIVLOG_CONFIG": str(policy),
        "UPSTREAM_URL": f"http://127.0.0.1:{vendor.server_port}/v1",
    }
    cmd = [part.replace("{port}", str(port)) for part in server]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait(port, proc)
        phones = [f"1380013{i:04d}" for i in range(20)]
        for phone in phones:
            body = json.dumps(
                {"model": "m", "messages": [{"role": "user", "content": f"call {phone}"}]}
            )
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                data=body.encode(),
                headers={"Content-Type": "application/json", "X-User-Id": "u-9"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback http
                assert resp.status == 200
                assert len(resp.headers["X-Privlog-Record"]) == 32
                reply = json.loads(resp.read())["choices"][0]["message"]["content"]
                assert reply == f"You said: call {phone}"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    store = ChainStore(make_engine(f"sqlite:///{db}"))
    report = store.verify()
    assert report.ok, str(report)
    assert store.count() >= 20
    store.engine.dispose()
    assert find_leaks(b"".join(p.read_bytes() for p in tmp_path.glob("privlog.db*")), phones) == []
    assert find_leaks(err, phones) == []
    assert len(vendor.bodies) == 20
    assert find_leaks(b"".join(vendor.received), phones) == []
