"""The key ring: versioned secret keys for keyed pseudonyms (HMAC-SHA-256).

The key file is JSON, created with mode 0600 on first use, and refused when group or others
can read it. Keys are ordered oldest to newest; the newest writes, every key verifies
(itsdangerous' rotation scheme). Each purpose derives its own sub-key, and every pseudonym
is domain-separated by entity type, so equal values of different types never collide and
a key made for one purpose is useless for another.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from privlog.errors import KeyFileError

__all__ = ["Key", "KeyRing", "RetiredKey"]

_FORMAT = "privlog-keys/1"
_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Key:
    """One secret key. Its ``repr`` never shows the secret."""

    kid: str
    created: str
    secret: bytes = field(repr=False)

    def derive(self, purpose: str) -> bytes:
        return hmac.new(self.secret, b"privlog/v1/" + purpose.encode(), hashlib.sha256).digest()

    def __str__(self) -> str:
        return f"Key(kid={self.kid!r}, created={self.created!r})"


@dataclass(frozen=True, slots=True)
class RetiredKey:
    """A key whose secret was destroyed (crypto-shredding): tokens made with it can no
    longer be linked to anyone. Only its checkpoint public key is kept, so the chain's old
    checkpoints still verify."""

    kid: str
    created: str
    retired: str
    checkpoint_public_key: str


def checkpoint_public_key(seed: bytes) -> str:
    """The Ed25519 public key (hex) of the checkpoint key derived from ``seed``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.from_private_bytes(seed[:32]).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_key(kid: str) -> Key:
    return Key(kid=kid, created=_now(), secret=secrets.token_bytes(_KEY_BYTES))


class KeyRing:
    """Versioned keys loaded from (and saved to) one file."""

    def __init__(
        self, keys: list[Key], path: Path | None = None, retired: list[RetiredKey] | None = None
    ) -> None:
        if not keys:
            raise KeyFileError("a key ring needs at least one key; run: privlog keys init")
        self._keys = list(keys)
        self.retired: list[RetiredKey] = list(retired or [])
        self._by_kid = {k.kid: k for k in keys}
        self._derived: dict[tuple[str, str], bytes] = {}
        self.path = path

    def __repr__(self) -> str:
        return f"KeyRing(path={str(self.path)!r}, kids={self.kids})"

    __str__ = __repr__

    @property
    def kids(self) -> list[str]:
        return [k.kid for k in self._keys]

    @property
    def current(self) -> Key:
        return self._keys[-1]

    def current_age_days(self, now: dt.datetime | None = None) -> float:
        """How long the newest key has been in use (its epoch's age), in days."""
        created = dt.datetime.strptime(self.current.created, "%Y-%m-%dT%H:%M:%SZ")
        moment = now or dt.datetime.now(dt.UTC)
        return (moment - created.replace(tzinfo=dt.UTC)).total_seconds() / 86_400

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def get(self, kid: str) -> Key:
        try:
            return self._by_kid[kid]
        except KeyError:
            if any(r.kid == kid for r in self.retired):
                raise KeyFileError(
                    f"key {kid!r} was retired: its secret is destroyed and what it keyed can "
                    "no longer be linked (that is the point of retiring it)"
                ) from None
            raise KeyFileError(
                f"key {kid!r} is not in the key ring {self.path}; it was removed or the wrong "
                f"PRIVLOG_KEY_FILE is set (known: {self.kids})"
            ) from None

    def subkey(self, kid: str, purpose: str) -> bytes:
        cached = self._derived.get((kid, purpose))
        if cached is None:
            cached = self._derived[(kid, purpose)] = self.get(kid).derive(purpose)
        return cached

    def mac(self, purpose: str, message: bytes, kid: str | None = None) -> tuple[str, bytes]:
        """HMAC-SHA-256 of ``message`` under the ``purpose`` sub-key of ``kid`` (newest)."""
        kid = kid or self.current.kid
        return kid, hmac.new(self.subkey(kid, purpose), message, hashlib.sha256).digest()

    def token(self, purpose: str, message: bytes, kid: str | None = None) -> tuple[str, str]:
        """A keyed token: ``(kid, 26 base32 characters)``, i.e. 130 bits of the HMAC."""
        kid, digest = self.mac(purpose, message, kid)
        return kid, base64.b32encode(digest[:17]).decode().lower()[:26]

    def tokens(self, purpose: str, message: bytes) -> list[str]:
        """``kid:token`` under every key, newest first: for finding records of one value."""
        return [":".join(self.token(purpose, message, k.kid)) for k in reversed(self._keys)]

    # --- file handling -------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, create: bool = True) -> KeyRing:
        """Load the ring at ``path``; create it (mode 0600, one key) if absent and allowed."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise KeyFileError(f"key file {path} does not exist; run: privlog keys init")
            try:
                return cls._create(path)
            except FileExistsError:
                pass  # another process created it first; read theirs
        return cls._read(path)

    @classmethod
    def init(cls, path: str | os.PathLike[str]) -> KeyRing:
        path = Path(path)
        try:
            return cls._create(path)
        except FileExistsError:
            raise KeyFileError(
                f"key file {path} already exists; use `privlog keys rotate` to add a key"
            ) from None

    def checkpoint_public_keys(self) -> dict[str, str]:
        """Every checkpoint public key (hex) by key id, retired keys' included."""
        keys = {r.kid: r.checkpoint_public_key for r in self.retired}
        keys.update({k.kid: checkpoint_public_key(self.subkey(k.kid, "checkpoint")) for k in self})
        return keys

    @classmethod
    def trusted_keys(cls, path: str | os.PathLike[str]) -> dict[str, str] | None:
        """The checkpoint public keys of the ring at ``path``, or ``None`` without one
        (verification then falls back to the keys stored with the checkpoints)."""
        path = Path(path)
        return cls.load(path, create=False).checkpoint_public_keys() if path.exists() else None

    def retire(self, kid: str) -> RetiredKey:
        """Destroy ``kid``'s secret (keeping its checkpoint public key) and save the ring.
        The newest key cannot be retired: rotate first."""
        if self.path is None:
            raise KeyFileError("this key ring was not loaded from a file; nothing to retire")
        key = self.get(kid)
        if key.kid == self.current.kid:
            raise KeyFileError(
                f"{kid} is the key in use; run `privlog keys rotate` first, then retire it"
            )
        retired = RetiredKey(
            kid, key.created, _now(), checkpoint_public_key(self.subkey(kid, "checkpoint"))
        )
        live = [k for k in self._keys if k.kid != kid]
        _write_atomic(self.path, _dump(live, [*self.retired, retired]))
        self._keys = live
        del self._by_kid[kid]
        self._derived = {k: v for k, v in self._derived.items() if k[0] != kid}
        self.retired.append(retired)
        return retired

    def rotate(self) -> Key:
        """Add a new newest key and save the ring; old keys stay to verify old tokens."""
        if self.path is None:
            raise KeyFileError("this key ring was not loaded from a file; nothing to rotate")
        kids = [k.kid for k in self._keys] + [r.kid for r in self.retired]
        numbers = [int(kid[1:]) for kid in kids if kid[1:].isdigit()]
        key = _new_key(f"k{max(numbers, default=0) + 1}")
        _write_atomic(self.path, _dump([*self._keys, key], self.retired))
        self._keys.append(key)
        self._by_kid[key.kid] = key
        return key

    @classmethod
    def _create(cls, path: Path) -> KeyRing:
        key = _new_key("k1")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_dump([key]))
            fh.flush()
            os.fsync(fh.fileno())
        return cls([key], path)

    @classmethod
    def _read(cls, path: Path) -> KeyRing:
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileError(
                    f"key file {path} is accessible to group or others (mode "
                    f"{stat.S_IMODE(mode):04o}); privlog refuses to use it. Fix with: "
                    f"chmod 600 {path}"
                )
            raw = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
            if data.get("format") != _FORMAT:
                raise ValueError("format")
            keys = [
                Key(
                    kid=str(k["kid"]),
                    created=str(k["created"]),
                    secret=base64.b64decode(k["secret"]),
                )
                for k in data["keys"]
            ]
            retired = [
                RetiredKey(
                    kid=str(r["kid"]),
                    created=str(r["created"]),
                    retired=str(r["retired"]),
                    checkpoint_public_key=str(r["checkpoint_public_key"]),
                )
                for r in data.get("retired", [])
            ]
        except (ValueError, KeyError, TypeError):
            raise KeyFileError(
                f"key file {path} is not a privlog key file ({_FORMAT}); restore it from "
                "backup or point PRIVLOG_KEY_FILE at the right file"
            ) from None
        if any(len(k.secret) < 16 for k in keys):
            raise KeyFileError(f"key file {path} holds a key shorter than 128 bits")
        return cls(keys, path, retired)


def _dump(keys: list[Key], retired: list[RetiredKey] | None = None) -> bytes:
    doc: dict[str, object] = {
        "format": _FORMAT,
        "keys": [
            {"kid": k.kid, "created": k.created, "secret": base64.b64encode(k.secret).decode()}
            for k in keys
        ],
    }
    if retired:
        doc["retired"] = [
            {
                "kid": r.kid,
                "created": r.created,
                "retired": r.retired,
                "checkpoint_public_key": r.checkpoint_public_key,
            }
            for r in retired
        ]
    return json.dumps(doc, indent=2).encode() + b"\n"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".privlog-keys-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
