"""The key ring (privlog.keys): file safety, rotation, and secrets kept out of reprs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from privlog.errors import KeyFileError
from privlog.keys import KeyRing


def test_created_with_mode_0600(tmp_path: Path) -> None:
    """The key file is created on first use, readable by its owner only."""
    path = tmp_path / "sub" / "privlog.keys"
    ring = KeyRing.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ring.kids == ["k1"]
    assert KeyRing.load(path).current.secret == ring.current.secret


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_refuses_group_or_world_access(tmp_path: Path, mode: int) -> None:
    """A key file others can read is refused, and the message names the chmod fix."""
    path = tmp_path / "privlog.keys"
    KeyRing.load(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=f"chmod 600 {path}"):
        KeyRing.load(path)


def test_rotation_newest_writes_all_verify(tmp_path: Path) -> None:
    """Rotation adds a newer key that signs; the older key stays to verify old tokens."""
    path = tmp_path / "privlog.keys"
    ring = KeyRing.load(path)
    old_kid, old_mac = ring.mac("pseudonym", b"v")
    ring.rotate()
    reloaded = KeyRing.load(path)
    assert reloaded.kids == ["k1", "k2"]
    assert reloaded.current.kid == "k2"
    assert reloaded.mac("pseudonym", b"v", kid=old_kid) == (old_kid, old_mac)
    assert reloaded.mac("pseudonym", b"v")[1] != old_mac
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_purposes_are_separated(tmp_path: Path) -> None:
    """The same message under two purposes gives unrelated MACs."""
    ring = KeyRing.load(tmp_path / "k")
    assert ring.mac("pseudonym", b"x")[1] != ring.mac("subject", b"x")[1]


def test_repr_and_str_never_show_key_bytes(tmp_path: Path) -> None:
    """No repr or str of the ring or its keys contains the secret in any encoding."""
    ring = KeyRing.load(tmp_path / "k")
    secret = ring.current.secret
    shown = " ".join([repr(ring), str(ring), repr(ring.current), str(ring.current)])
    for form in (
        secret.hex(),
        repr(secret),
        json.loads((tmp_path / "k").read_text())["keys"][0]["secret"],
    ):
        assert form not in shown


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    """keys init on an existing file is an error that points at rotate."""
    KeyRing.init(tmp_path / "k")
    with pytest.raises(KeyFileError, match="privlog keys rotate"):
        KeyRing.init(tmp_path / "k")


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b'{"format": "other"}', b'{"format": "privlog-keys/1", "keys": [{}]}'],
)
def test_malformed_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    """A file that is not a privlog key file is refused with a message, not a traceback."""
    path = tmp_path / "k"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(KeyFileError, match="not a privlog key file"):
        KeyRing.load(path)


def test_missing_file_without_create(tmp_path: Path) -> None:
    """Loading with create=False names the init command."""
    with pytest.raises(KeyFileError, match="privlog keys init"):
        KeyRing.load(tmp_path / "absent", create=False)


def test_checkpoint_public_keys_match_the_signer(tmp_path: Path) -> None:
    from privlog.store.chain import Signer

    ring = KeyRing.load(tmp_path / "k.keys")
    ring.rotate()
    expected = {k.kid: Signer(k.kid, ring.subkey(k.kid, "checkpoint")).public_key for k in ring}
    assert ring.checkpoint_public_keys() == expected


def test_a_running_app_follows_rotation_and_retirement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `privlog keys rotate` (another process), new records are keyed by the new
    epoch without a restart; after `keys retire`, the retired key is no longer used."""
    import privlog.core
    from tests.adapters_support import make_privlog, stored

    monkeypatch.setattr(privlog.core, "KEYRING_RECHECK", 0.0)
    pl = make_privlog(tmp_path)
    try:
        pl.log_input({"prompt": "one"}, route="/c", subject="alice")
        ring_k1 = KeyRing.load(tmp_path / "privlog.keys")
        KeyRing.load(tmp_path / "privlog.keys").rotate()
        pl.log_input({"prompt": "two"}, route="/c", subject="alice")
        KeyRing.load(tmp_path / "privlog.keys").retire("k1")
        assert pl.subject_tokens("alice") == [pl.subject_tokens("alice")[0]]
        path = tmp_path / "privlog.keys"
        path.write_text("not a key file")  # a broken change: the ring in force is kept
        path.chmod(0o600)
        pl.log_input({"prompt": "three"}, route="/c", subject="alice")
        epochs = [r["subject_token"].split(":")[0] for r in stored(pl)]
        assert epochs == ["k1", "k2", "k2"]
        # The writer's checkpoints follow too (checked between batches).
        from privlog.store.chain import Signer
        from privlog.store.chainstore import ChainStore
        from privlog.store.database import make_engine

        store = ChainStore(make_engine(pl.settings.database_url), Signer.for_ring(ring_k1))
        pl._writer_tick(store)
        assert store.signer is not None
        assert store.signer.key_id == "k2"
        store.close()
    finally:
        pl.close()


def test_rotate_if_older_suits_a_daily_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    from privlog import cli

    path = tmp_path / "privlog.keys"
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(path))
    KeyRing.load(path)
    assert cli.main(["keys", "rotate", "--if-older", "30"]) == 0
    assert "not rotated" in capsys.readouterr().out
    assert KeyRing.load(path).kids == ["k1"]
    data = json.loads(path.read_text())
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    data["keys"][0]["created"] = old.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(data))
    assert 30.9 < KeyRing.load(path).current_age_days() < 31.1
    assert cli.main(["keys", "rotate", "--if-older", "30"]) == 0
    assert "added key k2" in capsys.readouterr().out
    assert KeyRing.load(path).kids == ["k1", "k2"]
