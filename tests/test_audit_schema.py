"""Schemathesis against the live auditor API (`privlog audit serve` in its own process):
with a valid token no check fails; without one every API answer is 401."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from privlog.config import Settings
from privlog.store.database import make_engine
from privlog.store.schema import access_log
from tests.audit_support import auditor_settings, free_port, make_tokens, populate
from tests.reliability_support import Report, size

pytestmark = pytest.mark.slow
EXAMPLES = str(size(30, 200))  # per operation


@pytest.fixture(name="served")
def _served(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Settings]]:
    populate(db_url, 12)
    token = make_tokens(db_url).valid
    with auditor_settings(db_url, tmp_path) as settings:
        env = {
            **os.environ,
            "PRIVLOG_DATABASE_URL": settings.database_url,
            "PRIVLOG_KEY_FILE": str(settings.key_file),
        }
        for name, value in (
            ("PRIVLOG_AUDIT_DATABASE_URL", settings.audit_database_url),
            ("PRIVLOG_AUDIT_LOG_DATABASE_URL", settings.audit_log_database_url),
        ):
            if value:
                env[name] = value
        port = free_port()
        command = [sys.executable, "-m", "privlog.cli", "audit", "serve", "--port", str(port)]
        server = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, server)
            yield base, token, settings
        finally:
            server.terminate()
            _, err = server.communicate(timeout=20)
            assert b"Traceback" not in err, err.decode(errors="replace")


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"privlog audit serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("privlog audit serve did not come up within 60 s")


def _schemathesis(base: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [
            str(st),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261128",
            *extra,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _logged(settings: Settings) -> list[tuple[str, int]]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [
                (m, int(s))
                for m, s in conn.execute(select(access_log.c.method, access_log.c.status))
            ]
    finally:
        engine.dispose()


def _database(settings: Settings) -> str:
    return "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"


def test_schemathesis_with_a_valid_token(
    served: tuple[str, str, Settings], tmp_path: Path, reliability: Report
) -> None:
    base, token, settings = served
    result = _schemathesis(base, tmp_path, "--header", f"Authorization: Bearer {token}")
    assert result.returncode == 0, result.stdout[-6000:]
    assert "No issues found" in result.stdout
    logged = _logged(settings)
    errors = sum(status >= 500 for _, status in logged)
    assert errors == 0
    reliability.area = "auditor side"
    reliability.scenario = f"Schemathesis with a valid token ({_database(settings)})"
    reliability.done = (
        f"every check, up to {EXAMPLES} generated cases per operation, against the served "
        "API (its own process)"
    )
    reliability.figure = (
        f"{len(logged):,} requests, no check failed, {errors} answers of 500 or more"
    )


def test_schemathesis_without_a_token_gets_only_401(
    served: tuple[str, str, Settings], tmp_path: Path, reliability: Report
) -> None:
    base, _, settings = served
    result = _schemathesis(base, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:]
    logged = _logged(settings)
    reads = {status for method, status in logged if method in ("GET", "HEAD")}
    others = {status for method, status in logged if method not in ("GET", "HEAD")}
    assert len(logged) > 100  # every generated request was logged
    assert reads == {401}
    assert others <= {405}  # Schemathesis also tries other methods: refused before auth
    reliability.area = "auditor side"
    reliability.scenario = f"Schemathesis without credentials ({_database(settings)})"
    reliability.done = f"up to {EXAMPLES} generated cases per operation, no token"
    reliability.figure = (
        f"{len(logged):,} requests in the access log; reads answered {sorted(reads)}, other "
        f"methods {sorted(others)}"
    )
