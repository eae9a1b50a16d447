"""Training-use consent: opt-in per subject, decided as records are written, revocable
(later records unflagged, earlier ones marked), chained without the user id, from the
Python API and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from privlog import Privlog, cli
from privlog.errors import ConfigError
from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.schema import consent, records
from tests.adapters_support import make_privlog, stored
from tests.storetools import migrated


def _log(pl: Privlog, user: str, text: str) -> None:
    pl.log_input({"prompt": text}, route="/v1/chat", subject=user)
    assert pl.flush(10) == 0


def _entries(url: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(records.c.route, records.c.details).where(records.c.kind == "request")
        ).all()
        tokens = conn.execute(select(consent.c.subject_token, consent.c.source)).all()
    engine.dispose()
    return [{"route": r, **json.loads(d), "tokens": [t for t, _ in tokens]} for r, d in rows]


def test_consent_round_trip(db_url: str, tmp_path: Path) -> None:
    url = migrated(db_url)
    pl = make_privlog(tmp_path, database_url=url)
    assert pl.consent("u-1").granted is False  # opt-in: off until granted
    _log(pl, "u-1", "before")
    done = pl.grant_consent("u-1", source="settings-page")
    assert (done.action, done.records_marked) == ("grant", 0)
    state = pl.consent("u-1")
    assert (state.granted, state.since, state.source) == (True, done.at, "settings-page")
    _log(pl, "u-1", "consented")
    _log(pl, "u-2", "never asked")
    revoked = pl.revoke_consent("u-1", source="settings-page")
    assert revoked.records_marked == 1
    assert pl.consent("u-1").granted is False
    _log(pl, "u-1", "after revoking")
    pl.grant_consent("u-1")
    _log(pl, "u-1", "granted again")
    rows = {r["text"]["prompt"]: r for r in stored(pl)}
    pl.close()
    assert {k: r["training"] for k, r in rows.items()} == {
        "before": False,
        "consented": True,
        "never asked": False,
        "after revoking": False,
        "granted again": True,
    }
    marked = {k for k, r in rows.items() if r["training_revoked_at"] is not None}
    assert marked == {"consented"}  # a revocation is for good: granting again is for later
    assert rows["consented"]["training_revoked_at"] == revoked.at
    entries = _entries(url)
    assert [e["type"] for e in entries] == ["consent_grant", "consent_revoke", "consent_grant"]
    assert [e["source"] for e in entries] == ["settings-page", "settings-page", "api"]
    # The chained entries name neither the user nor a token; the consent table keeps tokens.
    for entry in entries:
        text = json.dumps({k: v for k, v in entry.items() if k != "tokens"})
        assert "u-1" not in text
        assert all(token.split(":")[1] not in text for token in entry["tokens"])
    store = ChainStore(make_engine(url))
    assert store.verify().ok  # the marks are outside the hashed payload
    store.close()


def test_consent_follows_the_subject_across_key_versions(tmp_path: Path) -> None:
    """A grant names the user's token under every key in the ring, so records written
    under any of them match."""
    from privlog.keys import KeyRing

    pl = make_privlog(tmp_path)
    _log(pl, "u-1", "first key")
    pl.close()
    KeyRing.load(tmp_path / "privlog.keys").rotate()
    pl = make_privlog(tmp_path)
    pl.grant_consent("u-1")
    _log(pl, "u-1", "second key")
    rows = stored(pl)
    pl.close()
    assert [r["training"] for r in rows] == [False, True]
    assert rows[0]["subject_token"].split(":")[0] != rows[1]["subject_token"].split(":")[0]


def test_a_revoke_while_records_are_written_leaves_none_unmarked(
    db_url: str, tmp_path: Path
) -> None:
    """Records keep arriving while another process revokes: every record written with
    the flag on before the revoke is marked by it, and none written after has it on."""
    url = migrated(db_url)
    pl = make_privlog(tmp_path, database_url=url)
    pl.grant_consent("u-1")
    other = make_privlog(tmp_path, database_url=url)  # the operator's CLI, say
    stop = threading.Event()

    def traffic() -> None:
        i = 0
        while not stop.is_set() or i < 300:
            pl.log_input({"prompt": f"n{i}"}, route="/v1/chat", subject="u-1")
            i += 1

    writer = threading.Thread(target=traffic)
    writer.start()
    while pl.stats()["written"] < 100:
        threading.Event().wait(0.01)
    other.revoke_consent("u-1", source="cli")
    stop.set()
    writer.join()
    rows = stored(pl)
    pl.close()
    other.close()
    flagged = [r for r in rows if r["training"]]
    assert flagged  # some were written while consent held
    assert [r for r in flagged if r["training_revoked_at"] is None] == []
    assert len(rows) > len(flagged)  # and some after the revoke, unflagged


def test_consent_commands(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pl = make_privlog(tmp_path, database_url=migrated(db_url))
    _log(pl, "u-1", "hello")
    pl.close()
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", db_url)
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "privlog.keys"))
    assert cli.main(["consent", "grant", "--user-id", "u-1", "--source", "signup"]) == 0
    assert "training consent granted" in capsys.readouterr().out
    assert cli.main(["consent", "show", "--user-id", "u-1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["granted"], shown["source"], shown["purpose"]) == (True, "signup", "training")
    assert cli.main(["consent", "revoke", "--user-id", "u-1"]) == 0
    assert "0 earlier records marked" in capsys.readouterr().out
    assert cli.main(["consent", "show", "--user-id", "u-1"]) == 0
    assert json.loads(capsys.readouterr().out)["granted"] is False
    # A source is a name: a phone number cannot be kept as one.
    for phone in ("13812345678", "tel:138-0013-8000"):
        assert cli.main(["consent", "grant", "--user-id", "u-1", "--source", phone]) == 2
        assert "consent source must be a label" in capsys.readouterr().err
    assert cli.main(["consent", "grant", "--user-id", ""]) == 2
    assert cli.main(["verify"]) == 0


def test_bad_arguments(tmp_path: Path) -> None:
    pl = make_privlog(tmp_path)
    with pytest.raises(ConfigError, match="consent source"):
        pl.grant_consent("u-1", source="has space")
    with pytest.raises(ValueError, match="user_id"):
        pl.revoke_consent("")
    pl.close()
