"""Users' rights: export and erasure find a user's records under every key version, are
chained without the user id, and leave the chain verifiable."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from privlog import Privlog, cli
from privlog.config import Policy, RetentionClass
from privlog.errors import ConfigError
from privlog.keys import KeyRing
from privlog.store.chain import Signer
from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine, sqlite_path
from privlog.store.schema import records
from privlog.store.subjects import erase_subject, export_subject, restrict_subject
from tests.adapters_support import make_privlog
from tests.canaries import find_leaks, pronounceable


def _write(tmp_path: Path, user: str, other: str, rng: random.Random) -> list[str]:
    """Two records of ``user`` under key k1, two under k2 (after a rotation), and two of
    ``other``; returns the user's prompts."""
    prompts = []
    for epoch in range(2):
        if epoch:
            KeyRing.load(tmp_path / "privlog.keys").rotate()
        pl = make_privlog(tmp_path)
        try:
            for _ in range(2):
                prompt = f"note {pronounceable(rng)}"
                prompts.append(prompt)
                pl.log_input({"prompt": prompt}, route="/v1/chat", subject=user)
            pl.log_input({"prompt": "someone else"}, route="/v1/chat", subject=other)
            assert pl.flush(10) == 0
        finally:
            pl.close()
    return prompts


# Usage records with a 30-day legal floor.
FLOOR_30 = Policy.from_mapping(
    {"retention": {"classes": {"usage": {"min_days": 30, "max_days": 180}}}}
)


def _store(tmp_path: Path) -> tuple[KeyRing, ChainStore]:
    ring = KeyRing.load(tmp_path / "privlog.keys", create=False)
    signer = Signer.for_ring(ring)
    url = f"sqlite:///{tmp_path / 'privlog.db'}"
    return ring, ChainStore(make_engine(url), signer, auto_migrate=False)


def _all_rows(store: ChainStore) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(records).order_by(records.c.seq)).mappings()]


def test_export_and_erase_across_two_key_epochs(tmp_path: Path, rng: random.Random) -> None:
    user, other = f"user-{pronounceable(rng)}", f"user-{pronounceable(rng)}"
    prompts = _write(tmp_path, user, other, rng)
    ring, store = _store(tmp_path)
    try:
        assert len(ring.kids) == 2
        exported = export_subject(store, ring, user)
        assert exported.records == 4
        assert sorted(r["text"]["prompt"] for r in exported.exported) == sorted(prompts)
        kids = {r["subject_token"].split(":")[0] for r in exported.exported}
        assert kids == set(ring.kids)  # found under both key versions

        erased = erase_subject(store, ring, user)
        assert erased.records == 4
        assert store.verify().ok
        assert export_subject(store, ring, user).records == 0
        assert export_subject(store, ring, other).records == 2  # nobody else's

        rows = _all_rows(store)
        requests = [json.loads(r["details"]) for r in rows if r["kind"] == "request"]
        assert [(q["type"], q["records"]) for q in requests] == [
            ("export", 4),
            ("erase", 4),
            ("export", 0),
            ("export", 2),
        ]
        assert all(len(q["request_id"]) == 16 for q in requests)
        path = sqlite_path(str(store.engine.url))
        assert path is not None
        files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        # The erased prompts and the user id itself are nowhere in the database files.
        assert find_leaks(files, [*prompts, user, other]) == []
    finally:
        store.close()


def test_subject_commands(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = f"user-{pronounceable(rng)}"
    prompts = _write(tmp_path, user, "someone", rng)
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'privlog.db'}")
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "privlog.keys"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    out_file = tmp_path / "export.json"
    assert cli.main(["subject", "export", "--user-id", user, "--out", str(out_file)]) == 0
    assert "4 records written" in capsys.readouterr().out
    document = json.loads(out_file.read_text(encoding="utf-8"))
    assert document["type"] == "export"
    assert sorted(r["text"]["prompt"] for r in document["data"]) == sorted(prompts)
    assert cli.main(["subject", "erase", "--user-id", user]) == 0
    assert "erased 4 records" in capsys.readouterr().out
    assert cli.main(["verify"]) == 0
    assert cli.main(["subject", "erase", "--user-id", ""]) == 2
    assert "user id must be" in capsys.readouterr().err


def test_privlog_class_still_finds_tokens(tmp_path: Path) -> None:
    pl: Privlog = make_privlog(tmp_path)
    try:
        assert len(pl.subject_tokens("someone")) == 1
    finally:
        pl.close()


def test_erasure_keeps_what_the_law_requires_and_says_why(
    tmp_path: Path, rng: random.Random
) -> None:
    user = f"user-{pronounceable(rng)}"
    _write(tmp_path, user, "someone", rng)
    ring, store = _store(tmp_path)
    try:
        now = dt.datetime.now(dt.UTC)
        early = erase_subject(store, ring, user, policy=FLOOR_30, now=now)
        assert early.records == 0
        [refusal] = early.refused
        assert refusal["records"] == 4
        assert refusal["until"] == (now + dt.timedelta(days=30)).date().isoformat()
        assert "must be kept 30 days by law" in refusal["reason"]
        assert export_subject(store, ring, user).records == 4  # still there, still theirs
        later = erase_subject(store, ring, user, policy=FLOOR_30, now=now + dt.timedelta(days=31))
        assert (later.records, later.refused) == (4, [])
        assert store.verify().ok
    finally:
        store.close()


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({"usage": {"min_days": 200, "max_days": 100}}, "min_days <= max_days"),
        ({"usage": {"min_days": 1.5, "max_days": 100}}, "whole numbers"),
        ({"usage": {"max_days": 100, "keep": 1}}, "unknown key"),
        ({"security": {"min_days": 180, "max_days": 365}}, "is not one of"),
    ],
)
def test_retention_classes_are_checked(classes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Policy.from_mapping({"retention": {"classes": classes}})


def test_records_expire_after_their_class_maximum() -> None:
    policy = Policy.from_mapping(
        {
            "store": {"retention_class": "security"},
            "retention": {"classes": {"security": {"min_days": 180, "max_days": 365}}},
        }
    )
    assert policy.retention_class() == RetentionClass("security", 180, 365)
    assert Policy().retention_class() == RetentionClass("usage", 0, 180)


def test_retiring_a_key_shreds_the_link_to_its_records(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After `privlog keys retire k1` the records written under k1 can no longer be found
    for anyone, the key file no longer holds k1's secret, and the chain (with checkpoints
    signed by k1) still verifies against the key file."""
    user = f"user-{pronounceable(rng)}"
    _write(tmp_path, user, "someone", rng)
    keyfile = tmp_path / "privlog.keys"
    k1_secret = json.loads(keyfile.read_text())["keys"][0]["secret"]
    k1_public = KeyRing.load(keyfile).checkpoint_public_keys()["k1"]
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'privlog.db'}")
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(keyfile))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    assert cli.main(["keys", "retire", "k2"]) == 2  # the key in use
    assert "rotate" in capsys.readouterr().err
    assert cli.main(["keys", "retire", "k1"]) == 0
    assert "retired k1" in capsys.readouterr().out
    assert k1_secret not in keyfile.read_text()
    assert cli.main(["keys", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("k2\t")
    assert listing[1].startswith("k1\t")
    assert "\tretired " in listing[1]
    ring, store = _store(tmp_path)
    try:
        assert ring.kids == ["k2"]
        assert ring.checkpoint_public_keys()["k1"] == k1_public
        exported = export_subject(store, ring, user)
        assert exported.records == 2  # only what k2 keyed
        assert {r["subject_token"].split(":")[0] for r in exported.exported} == {"k2"}
    finally:
        store.close()
    assert cli.main(["verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    assert KeyRing.load(keyfile).rotate().kid == "k3"  # a retired id is never reused


def test_restriction_keeps_records_only_until_the_legal_floor(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = f"user-{pronounceable(rng)}"
    _write(tmp_path, user, "someone", rng)
    ring, store = _store(tmp_path)
    try:
        now = dt.datetime.now(dt.UTC)
        request = restrict_subject(store, ring, user, policy=FLOOR_30, now=now)
        assert request.records == 4
        rows = [r for r in _all_rows(store) if r["kind"] == "usage"]
        restricted = [r for r in rows if r["restricted_until"] is not None]
        assert len(restricted) == 4
        assert all(r["restricted_until"] < r["expires_at"] for r in restricted)
        assert store.verify().ok  # restriction is chained, not a payload edit
        assert store.purge(now=now + dt.timedelta(days=29)).erased == 0
        assert store.purge(now=now + dt.timedelta(days=31)).erased == 4  # at the floor
        assert export_subject(store, ring, "someone").records == 2  # others untouched
        assert store.verify().ok
        kinds = [
            json.loads(r["details"])["type"] for r in _all_rows(store) if r["kind"] == "request"
        ]
        assert kinds[0] == "restrict"
    finally:
        store.close()
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'privlog.db'}")
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "privlog.keys"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    assert cli.main(["subject", "restrict", "--user-id", "someone"]) == 0
    assert "restricted 2 records" in capsys.readouterr().out


def test_the_python_api_answers_requests_on_both_databases(
    db_url: str, tmp_path: Path, rng: random.Random
) -> None:
    """``Privlog.export_subject`` / ``erase_subject`` / ``restrict_subject``: records under
    two key epochs, including ones still queued when the request arrives, are all found;
    the chain still verifies; the user id is stored nowhere."""
    from privlog.config import Settings
    from privlog.detect import DetectionSettings
    from privlog.store.migrate import migrate

    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    user, other = f"user-{pronounceable(rng)}", f"user-{pronounceable(rng)}"
    policy = Policy(detection=DetectionSettings(model=None))
    pl = Privlog(Settings(database_url=db_url, key_file=tmp_path / "k.keys", policy=policy))
    try:
        for epoch in range(2):
            if epoch:
                pl.keyring.rotate()
            for n in range(2):
                pl.log_input({"prompt": f"epoch {epoch} note {n}"}, route="/c", subject=user)
            pl.log_input({"prompt": "not theirs"}, route="/c", subject=other)
        exported = pl.export_subject(user)  # no flush first: the request waits for the queue
        assert exported.records == 4
        assert {r["subject_token"].split(":")[0] for r in exported.exported} == {"k1", "k2"}
        assert pl.restrict_subject(other).records == 2
        erased = pl.erase_subject(user)
        assert (erased.records, erased.refused) == (4, [])
        assert pl.export_subject(user).records == 0
        assert pl.export_subject(other).records == 2
        with pytest.raises(ValueError, match="non-empty"):
            pl.erase_subject("")
        engine = make_engine(db_url)
        try:
            store = ChainStore(engine, auto_migrate=False)
            assert store.verify().ok
            with engine.connect() as conn:
                dump = json.dumps(
                    [dict(r) for r in conn.execute(select(records)).mappings()], default=str
                )
        finally:
            engine.dispose()
        assert find_leaks(dump, [user, other]) == []
    finally:
        pl.close()
