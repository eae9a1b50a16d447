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
    # plaud_<16 hex>_<secret>: the secret itself may hold "_", so cut by position.
    secret = token[len("plaud_") + 17 :]
    assert len(secret) == 43
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


def test_verify_is_an_independent_read_only_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An auditor verifies a copy of the database with only the exported public key: the
    copy is opened read-only (its bytes do not change), the record chain and the access
    log are both checked, and an edited access-log entry fails the check."""
    import hashlib
    import shutil

    from sqlalchemy import update

    from privlog.audit.accesslog import AccessLog
    from privlog.store.schema import access_log
    from tests.storetools import payload, signer, store

    source = f"sqlite:///{tmp_path / 'live.db'}"
    sign = signer()
    cs = store(source, sign, checkpoint_every=5)
    cs.append([payload(i) for i in range(10)])
    cs.close()
    log = AccessLog(make_engine(source))
    for status in (200, 401):
        log.append(
            {"ts": "t", "method": "GET", "route": "/v1/records", "filters": "{}", "status": status}
        )
    log.close()
    copy = tmp_path / "copy" / "audit.db"
    copy.parent.mkdir()
    shutil.copy(tmp_path / "live.db", copy)
    copy.chmod(0o444)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{copy}")
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "no-keys-here"))
    args = ["verify", "--public-key", f"k1:{sign.public_key}"]
    code, out, err = _run(args, monkeypatch, capsys)
    assert code == 0, err
    assert "chain intact: 10 records" in out
    assert "1 signed checkpoints verified" in out
    assert "access log intact: 2 entries" in out
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before

    wrong = signer().public_key
    code, out, _ = _run(["verify", "--public-key", f"k1:{wrong}"], monkeypatch, capsys)
    assert code == 1
    assert "signature is invalid" in out

    copy.chmod(0o644)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        with engine.begin() as conn:
            conn.execute(update(access_log).where(access_log.c.seq == 2).values(status=200))
    finally:
        engine.dispose()
    code, out, _ = _run(args, monkeypatch, capsys)
    assert code == 1
    assert "access log BROKEN at entry 2" in out
