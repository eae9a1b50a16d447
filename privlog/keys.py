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

__all__ = ["Key", "KeyRing"]

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


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_key(kid: str) -> Key:
    return Key(kid=kid, created=_now(), secret=secrets.token_bytes(_KEY_BYTES))


class KeyRing:
    """Versioned keys loaded from (and saved to) one file."""

    def __init__(self, keys: list[Key], path: Path | None = None) -> None:
        if not keys:
            raise KeyFileError("a key ring needs at least one key; run: privlog keys init")
        self._keys = list(keys)
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

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def get(self, kid: str) -> Key:
        try:
            return self._by_kid[kid]
        except KeyError:
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

    def rotate(self) -> Key:
        """Add a new newest key and save the ring; old keys stay to verify old tokens."""
        if self.path is None:
            raise KeyFileError("this key ring was not loaded from a file; nothing to rotate")
        numbers = [int(k.kid[1:]) for k in self._keys if k.kid[1:].isdigit()]
        key = _new_key(f"k{max(numbers, default=0) + 1}")
        _write_atomic(self.path, _dump([*self._keys, key]))
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
        except (ValueError, KeyError, TypeError):
            raise KeyFileError(
                f"key file {path} is not a privlog key file ({_FORMAT}); restore it from "
                "backup or point PRIVLOG_KEY_FILE at the right file"
            ) from None
        if any(len(k.secret) < 16 for k in keys):
            raise KeyFileError(f"key file {path} holds a key shorter than 128 bits")
        return cls(keys, path)


def _dump(keys: list[Key]) -> bytes:
    doc = {
        "format": _FORMAT,
        "keys": [
            {"kid": k.kid, "created": k.created, "secret": base64.b64encode(k.secret).decode()}
            for k in keys
        ],
    }
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
