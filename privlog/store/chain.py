"""The hash chain: canonical payload encoding, entry hashes, checkpoints, verification.

    payload_hash = SHA-256("privlog/payload/v1" 0x00 ‖ salt ‖ canonical(payload))
    entry_hash   = SHA-256("privlog/entry/v1" 0x00 ‖ seq (8 bytes, big-endian)
                           ‖ prev_hash ‖ payload_hash)

The per-record random salt means a payload hash reveals nothing about the payload (no
dictionary attack on short fields), and an erased payload leaves a hash that still links
the chain. Checkpoints sign ``(seq, entry_hash, ts)`` with Ed25519, so a rewritten chain or a
cut-off tail is caught by anyone holding the public key.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privlog.keys import KeyRing, checkpoint_public_key
from privlog.records import RECORD_FIELDS
from privlog.store.schema import GENESIS_HASH
from privlog.text import replace_surrogates

__all__ = [
    "PAYLOAD_COLUMNS",
    "ChainProblem",
    "Signer",
    "checkpoint_message",
    "entry_hash",
    "link",
    "new_salt",
    "payload_hash",
    "verify_rows",
    "verify_signature",
]

# What the payload hash commits to: the record's allow-listed fields, the entry kind
# (usage record or summary) and the summary details.
PAYLOAD_COLUMNS: tuple[str, ...] = ("kind", *RECORD_FIELDS, "details")
_PAYLOAD_DOMAIN = b"privlog/payload/v1\x00"
_ENTRY_DOMAIN = b"privlog/entry/v1\x00"
_CHECKPOINT_DOMAIN = b"privlog/checkpoint/v1\x00"


def new_salt() -> str:
    return secrets.token_hex(16)


def canonical(payload: Mapping[str, Any]) -> bytes:
    # Absent and NULL columns are left out, so a column added by a later migration (NULL in
    # older rows) does not change the bytes older payload hashes were computed over.
    values = {name: payload[name] for name in PAYLOAD_COLUMNS if payload.get(name) is not None}
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def payload_hash(salt: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(_PAYLOAD_DOMAIN + bytes.fromhex(salt) + canonical(payload)).hexdigest()


def entry_hash(seq: int, prev_hash: str, payload_digest: str) -> str:
    data = _ENTRY_DOMAIN + seq.to_bytes(8, "big") + bytes.fromhex(prev_hash)
    return hashlib.sha256(data + bytes.fromhex(payload_digest)).hexdigest()


def storable(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with NUL characters and lone surrogates in its strings replaced by U+FFFD.
    PostgreSQL refuses NUL in text and neither database driver can encode a lone
    surrogate; a refused insert fails the whole batch, again at every retry, so one request
    with ``%00`` in its path stopped every record behind it. The same replacement on both
    databases keeps them alike."""
    return {k: _storable(v) if isinstance(v, str) else v for k, v in row.items()}


def _storable(text: str) -> str:
    return replace_surrogates(text.replace("\x00", "\ufffd"))


def link(
    payloads: Iterable[Mapping[str, Any]], seq: int, prev: str
) -> tuple[list[dict[str, Any]], int, str]:
    """Chain ``payloads`` after entry ``seq`` (hash ``prev``): the rows to insert, and the
    new head's sequence number and hash. Strings are made storable first (see
    :func:`storable`), so the hash covers what is stored."""
    rows = []
    for payload in map(storable, payloads):
        seq += 1
        salt = new_salt()
        digest = payload_hash(salt, payload)
        entry = entry_hash(seq, prev, digest)
        rows.append(
            {
                **{name: payload.get(name) for name in PAYLOAD_COLUMNS},
                "seq": seq,
                "payload_salt": salt,
                "payload_hash": digest,
                "prev_hash": prev,
                "entry_hash": entry,
            }
        )
        prev = entry
    return rows, seq, prev


def checkpoint_message(seq: int, entry: str, ts: str) -> bytes:
    return _CHECKPOINT_DOMAIN + seq.to_bytes(8, "big") + bytes.fromhex(entry) + ts.encode()


class Signer:
    """Ed25519 checkpoint signing with a key derived from the key ring (never stored)."""

    def __init__(self, key_id: str, seed: bytes) -> None:
        self.key_id = key_id
        self._key = Ed25519PrivateKey.from_private_bytes(seed[:32])
        self.public_key = checkpoint_public_key(seed)

    @classmethod
    def for_ring(cls, ring: KeyRing) -> Signer:
        """The signer of the ring's newest key (the one that signs from now on)."""
        kid = ring.current.kid
        return cls(kid, ring.subkey(kid, "checkpoint"))

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r}, public_key={self.public_key!r})"

    def sign(self, seq: int, entry: str, ts: str) -> str:
        return self._key.sign(checkpoint_message(seq, entry, ts)).hex()


def verify_signature(public_key: str, signature: str, seq: int, entry: str, ts: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), checkpoint_message(seq, entry, ts)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first thing wrong with the chain: where, and what."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.reason}"


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    start_seq: int = 1,
    prev: str = GENESIS_HASH,
    erased: Container[int] = (),
) -> Iterator[tuple[int, str] | ChainProblem]:
    """Walk rows in ``seq`` order; yield ``(seq, entry_hash)`` per good row, or the first
    problem (then stop). A row whose payload was erased is checked through its kept payload
    hash, but only if ``erased`` (the erasures recorded in the chain) lists it: marking a
    row erased is not a way to hide an edit."""
    expected = start_seq
    for row in rows:
        seq = int(row["seq"])
        if seq != expected:
            yield ChainProblem(expected, f"missing (next row found is {seq})")
            return
        if row["prev_hash"] != prev:
            yield ChainProblem(seq, "prev_hash does not match the previous record")
            return
        if row.get("erased_at") is not None and seq not in erased:
            yield ChainProblem(seq, "marked erased, but no erasure of it is recorded")
            return
        if seq not in erased and payload_hash(row["payload_salt"], row) != row["payload_hash"]:
            yield ChainProblem(seq, "payload does not match its hash (edited)")
            return
        if entry_hash(seq, prev, row["payload_hash"]) != row["entry_hash"]:
            yield ChainProblem(seq, "entry_hash is wrong")
            return
        prev = row["entry_hash"]
        expected += 1
        yield seq, prev
