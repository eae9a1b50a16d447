"""`privlog audit token create|list|revoke` and `privlog db grant-access-log`."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from privlog import cli
from privlog.audit.tokens import authenticate
from privlog.store.database import make_engine, sqlite_path
from privlog.store.schema import audit_tokens

TOKEN = re.compile(r"plaud_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def _run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_token_lifecycle(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", sqlite_url)
    code, out, err = _run(
        ["audit", "token", "create", "--name", "assessor", "--tenant", "acme", "--expires", "30"],
        monkeypatch,
        capsys,
    )
    assert code == 0
    token = out.strip()
    assert TOKEN.fullmatch(token)
    assert "shown once" in err
    assert "tenant acme" in err
    secret = token.rsplit("_", 1)[1]
    path = sqlite_path(sqlite_url)
    assert path is not None
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert secret.encode() not in stored  # only its digest is kept

    code, out, _ = _run(["audit", "token", "list"], monkeypatch, capsys)
    assert code == 0
    assert "assessor\tacme" in out
    assert secret not in out

    code, _, err = _run(["audit", "token", "create", "--name", "assessor"], monkeypatch, capsys)
    assert code != 0
    assert "revoke it first" in err

    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            principal = authenticate(conn, f"Bearer {token}")
            assert getattr(principal, "tenant", None) == "acme"
        code, out, _ = _run(["audit", "token", "revoke", "assessor"], monkeypatch, capsys)
        assert (code, out.strip()) == (0, "revoked 1 token")
        with engine.connect() as conn:
            assert authenticate(conn, f"Bearer {token}") == "token revoked"
            row = conn.execute(select(audit_tokens)).mappings().one()
            assert row["revoked_at"] is not None
    finally:
        engine.dispose()
    code, _, err = _run(["audit", "token", "revoke", "assessor"], monkeypatch, capsys)
    assert code != 0
    assert "token list" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "bad\nname"], "--name must be"),
        (["--name", "ok", "--tenant", ""], "--tenant must be"),
        (["--name", "ok", "--expires", "0"], "--expires must be"),
    ],
)
def test_token_create_rejects_bad_input(
    args: list[str],
    message: str,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", sqlite_url)
    code, out, err = _run(["audit", "token", "create", *args], monkeypatch, capsys)
    assert code != 0
    assert out == ""
    assert message in err


def test_serve_refuses_a_missing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    code, _, err = _run(["audit", "serve"], monkeypatch, capsys)
    assert code != 0
    assert "privlog db upgrade" in err
    assert not (tmp_path / "absent.db").exists()


def test_grant_access_log_command(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", pg_url)
    assert _run(["db", "upgrade"], monkeypatch, capsys)[0] == 0
    role = f"privlog_alog_{Path(pg_url).name[-8:]}"
    try:
        code, out, _ = _run(["db", "grant-access-log", role], monkeypatch, capsys)
        assert code == 0
        assert "privlog_access_log only" in out
    finally:
        engine = make_engine(pg_url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
        finally:
            engine.dispose()
