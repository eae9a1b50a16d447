"""The training export holds exactly the consenting subjects' scrubbed texts (re-scanned on
the way out), no canary and no token; restricted, erased, revoked, refused and flagged
records stay out; the manifest matches the file and the chain records the export."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from privlog import Privlog, cli
from privlog.errors import ConfigError
from privlog.safety import ContentDecision
from privlog.store.chain import Signer
from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.schema import flagged, now_iso, records
from privlog.training import FORMAT, manifest_path
from tests.adapters_support import make_privlog, stored
from tests.canaries import cn_mobile, cn_resident_id, email, find_leaks, pronounceable
from tests.storetools import migrated

USERS = ("consents", "never", "revokes", "restricted", "erased")


def _populate(pl: Privlog, rng: random.Random) -> list[str]:
    """Records of five users, each text with fresh canaries; returns the canaries."""
    planted: list[str] = []
    for user in USERS:
        if user != "never":
            pl.grant_consent(user, source="signup")
    for i in range(4):
        for user in USERS:
            phone, idn = cn_mobile(rng), cn_resident_id(rng)
            planted += [phone, idn]
            text = f"note {i}: call {phone}, id {idn}, about {pronounceable(rng)}"
            pl.log_input({"prompt": text}, route="/v1/chat", subject=user)
    # The consenting user's refused request, and one whose input a content rule flagged.
    pl.log_input({"prompt": "refused one"}, route="/v1/chat", subject="consents", outcome="blocked")
    flag = ContentDecision("flag", (), "rules-2026-11")
    pl.log_input({"prompt": "flagged one"}, route="/v1/chat", subject="consents", content=flag)
    # One whose reply a rule flagged, and one in the flagged-content register only.
    pl.log_input({"prompt": "bad reply"}, route="/v1/chat", subject="consents", output=flag)
    receipt = pl.log_input({"prompt": "registered"}, route="/v1/chat", subject="consents")
    assert pl.flush(10) == 0
    _register(pl.settings.database_url, receipt.record_id)
    pl.revoke_consent("revokes", source="settings-page")
    pl.restrict_subject("restricted")
    pl.erase_subject("erased")
    return planted


def _register(url: str, record_id: str) -> None:
    """A register entry naming ``record_id`` (as one written for another process's flag)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(flagged).values(
                id="e" * 32, discovered_at=now_iso(), direction="output", category="c",
                rule_id="r1", action="flag", record_id=record_id, key_id="k1",
                fingerprint="f" * 64, remediation_due=now_iso(), status="open",
            )
        )  # fmt: skip
    engine.dispose()


def _missed_by_an_older_detector(pl: Privlog, url: str, mail: str) -> None:
    """A consenting user's record whose stored text still holds an e-mail address (as an
    older detector might have left it): the export's own scan must catch it."""
    store = ChainStore(make_engine(url), Signer.for_ring(pl.keyring))
    payload = {
        "kind": "usage",
        "ts": now_iso(),
        "route": "/v1/chat",
        "subject_token": pl.subject_tokens("consents")[0],
        "input_chars": 30,
        "entity_counts": "{}",
        "text": json.dumps({"prompt": f"old record, write to {mail}"}),
        "outcome": "logged",
        "flags": "",
        "policy_version": "old",
        "detector_version": "older",
        "legal_basis": "legal_obligation",
        "retention_class": "usage",
        "expires_at": now_iso(),
        "record_id": "0" * 32,
    }
    store.append([payload])
    store.close()


def test_export_holds_exactly_the_consenting_users_scrubbed_texts(
    db_url: str, tmp_path: Path, rng: random.Random
) -> None:
    url = migrated(db_url)
    pl = make_privlog(tmp_path, database_url=url)
    planted = _populate(pl, rng)
    mail = email(rng)
    planted.append(mail)
    _missed_by_an_older_detector(pl, url, mail)
    out = tmp_path / "export" / "train.jsonl"
    out.parent.mkdir()
    manifest = pl.export_training(out)
    rows = stored(pl)
    tokens = [t for user in USERS for t in pl.subject_tokens(user)]
    pl.close()

    body = out.read_bytes()
    lines = [json.loads(line) for line in body.decode().splitlines()]
    expected = [
        r["text"]
        for r in rows
        if r["subject_token"] in pl.subject_tokens("consents")
        and r["outcome"] != "blocked"
        and not r["content"]
        and r["text"]["prompt"] != "registered"
        and r["record_id"] != "0" * 32
    ]
    assert len(expected) == 4
    assert [line["text"] for line in lines[:4]] == expected  # as stored, already scrubbed
    assert set(lines[0]) == {"text"}  # no token, id, time, route or network
    assert lines[4]["text"]["prompt"] == "old record, write to <EMAIL_ADDRESS_1>"
    assert len(lines) == 5
    on_disk = [*body.split(b"\n"), manifest_path(out).read_bytes()]
    assert [hit for blob in on_disk for hit in find_leaks(blob, planted)] == []
    assert [t for t in tokens if any(t.split(":")[1].encode() in blob for blob in on_disk)] == []
    assert not any(user.encode() in body for user in USERS)
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "train.jsonl",
        "train.jsonl.manifest.json",
    ]

    assert manifest == json.loads(manifest_path(out).read_text())
    assert manifest["format"] == FORMAT
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest()
    assert (manifest["records"], manifest["bytes"]) == (5, len(body))
    assert manifest["excluded"] == {
        "blocked": 1,
        "consent_revoked": 4,
        "erased": 4,
        "illegal_content": 3,
        "no_consent": 4,
        "restricted": 4,
    }
    assert manifest["rescan"]["replacements"] == 1
    assert manifest["rescan"]["records_changed"] == 1
    assert manifest["versions"]["detector"] == sorted({rows[0]["detector_version"], "older"})
    assert manifest["consent"]["subjects_consenting"] == 3  # consents, restricted, erased
    assert manifest["consent"]["subjects_revoked"] == 1
    assert manifest["consent"]["records_consent_revoked"] == 4

    engine = make_engine(url)
    with engine.connect() as conn:
        entry = conn.execute(
            select(records.c.details).where(records.c.route == "privlog:training_export")
        ).scalar_one()
    engine.dispose()
    assert json.loads(entry)["sha256"] == manifest["sha256"]
    store = ChainStore(make_engine(url))
    assert store.verify().ok
    store.close()


def test_export_period_and_errors(tmp_path: Path) -> None:
    pl = make_privlog(tmp_path)
    pl.grant_consent("u")
    pl.log_input({"prompt": "in the period"}, route="/r", subject="u")
    assert pl.flush(10) == 0
    out = tmp_path / "t.jsonl"
    assert pl.export_training(out, since="2000-01-01")["records"] == 1
    late = pl.export_training(out, since="2999-01-01")
    assert (late["records"], out.read_bytes()) == (0, b"")
    with pytest.raises(ConfigError, match="--since must be an ISO date"):
        pl.export_training(out, since="last tuesday")
    with pytest.raises(ConfigError, match="is a directory"):
        pl.export_training(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        pl.export_training(tmp_path / "missing" / "t.jsonl")
    pl.close()


def test_export_command(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pl = make_privlog(tmp_path, database_url=migrated(db_url))
    pl.grant_consent("u")
    pl.log_input({"prompt": "hello there"}, route="/r", subject="u")
    pl.log_input({"prompt": "not mine to give"}, route="/r", subject="v")
    assert pl.flush(10) == 0
    pl.close()
    config = tmp_path / "policy.toml"
    config.write_text('[detection]\nmodel = "none"\n')
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", db_url)
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "privlog.keys"))
    monkeypatch.setenv("PRIVLOG_CONFIG", str(config))
    out = tmp_path / "train.jsonl"
    assert cli.main(["export-training", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "wrote 1 records" in said
    assert "left out: 1 no_consent" in said
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"text": {"prompt": "hello there"}}
    ]
    assert cli.main(["export-training", "--out", str(out), "--until", "soon"]) == 2
    assert "--until must be an ISO date" in capsys.readouterr().err
    assert cli.main(["verify"]) == 0


def test_a_failed_export_leaves_the_earlier_one_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pl = make_privlog(tmp_path)
    pl.grant_consent("u")
    pl.log_input({"prompt": "first"}, route="/r", subject="u")
    assert pl.flush(10) == 0
    out = tmp_path / "t.jsonl"
    pl.export_training(out)
    before = (out.read_bytes(), manifest_path(out).read_bytes())
    pl.log_input({"prompt": "second"}, route="/r", subject="u")
    assert pl.flush(10) == 0

    def fail(self: ChainStore, payloads: object) -> int:
        raise OSError("disk went away")

    monkeypatch.setattr(ChainStore, "append", fail)
    with pytest.raises(OSError, match="disk went away"):
        pl.export_training(out)
    assert (out.read_bytes(), manifest_path(out).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".t.")) == []
    pl.close()


def test_retiring_a_key_forgets_its_consent_and_its_records_stay_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Consent rows tie a user's tokens under every key together: those of a retired key
    are deleted with it (or they would link its records to the user again), and its records
    are never exported (a revoke could no longer reach them)."""
    from privlog.keys import KeyRing
    from privlog.store.schema import consent

    pl = make_privlog(tmp_path)
    pl.grant_consent("u")
    pl.log_input({"prompt": "under k1"}, route="/r", subject="u")
    assert pl.flush(10) == 0
    pl.close()
    KeyRing.load(tmp_path / "privlog.keys").rotate()
    pl = make_privlog(tmp_path)
    pl.grant_consent("u")
    pl.log_input({"prompt": "under k2"}, route="/r", subject="u")
    assert pl.flush(10) == 0
    pl.close()
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'privlog.db'}")
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "privlog.keys"))
    assert cli.main(["keys", "retire", "k1"]) == 0
    assert "deleted 2 training-consent rows keyed by k1" in capsys.readouterr().out
    engine = make_engine(f"sqlite:///{tmp_path / 'privlog.db'}")
    with engine.connect() as conn:
        tokens = conn.execute(select(consent.c.subject_token)).scalars().all()
    engine.dispose()
    assert tokens
    assert [t for t in tokens if t.startswith("k1:")] == []
    pl = make_privlog(tmp_path)
    manifest = pl.export_training(tmp_path / "t.jsonl")
    pl.close()
    assert (manifest["records"], manifest["excluded"]) == (1, {"key_retired": 1})
    assert (tmp_path / "t.jsonl").read_text() == '{"text": {"prompt": "under k2"}}\n'
