"""Flagged content on its way to the register, and the index of flagged outputs that
catches them when they are generated again.

When a content rule matches (or an output is found near a flagged one), the adapter keeps
an :class:`Evidence` in memory with the request. The writer thread turns it into register
entries in the same transaction as the request's record: a keyed fingerprint of the text,
an excerpt around the match scrubbed of personal data, and for outputs a keyed MinHash
signature (:mod:`privlog.similarity`). The raw text is dropped then.

:class:`FlaggedIndex` holds the signatures of flagged outputs in memory. Outputs flagged in
this process are added at once; those flagged by other processes arrive when the writer
thread refreshes the index from the register (every ``reload_seconds``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from privlog.errors import KeyFileError
from privlog.keys import KeyRing
from privlog.safety import ContentDecision, Direction
from privlog.similarity import PERMUTATIONS, MinHasher, Signature, similarities
from privlog.store import register
from privlog.store.schema import now_iso

__all__ = [
    "NEAR_DUPLICATE_RULE",
    "SNIPPET_CONTEXT",
    "Evidence",
    "FlaggedIndex",
    "NearCopy",
    "register_rows",
    "snippet",
]

log = logging.getLogger("privlog")

NEAR_DUPLICATE_RULE = "near-duplicate"
_FINGERPRINT = "content-fingerprint"
_MINHASH = "content-minhash"
SNIPPET_CONTEXT = 80
_MAX_EXCERPT = 240
_MAX_TEXT = 100_000
# Entries another process flagged can commit a little after their discovery time; the
# refresh looks back this far and skips what it already holds.
_LOOKBACK = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class NearCopy:
    """An output found near a flagged one."""

    entry_id: str
    category: str
    similarity: float
    action: str = "block"  # what was done to the original: a copy of a flagged one is flagged


@dataclass(slots=True)
class Evidence:
    """Content that matched, held in memory only until the writer makes entries of it."""

    direction: Direction
    decision: ContentDecision
    text: str = field(repr=False)
    signature: Signature | None = field(default=None, repr=False)
    key_id: str | None = None
    near: NearCopy | None = None
    discovered_at: str = field(default_factory=now_iso)
    # The text around each hit (unscrubbed until the writer scrubs it), in hit order.
    snippets: tuple[str, ...] = field(default=(), repr=False)
    entry_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.snippets:
            self.snippets = tuple(snippet(self.text, *h.span) for h in self.decision.hits)
        self.text = self.text[:_MAX_TEXT]
        if not self.entry_ids:
            self.entry_ids = tuple(uuid.uuid4().hex for _ in self.decision.hits)


def snippet(text: str, start: int, end: int) -> str:
    """The match and ``SNIPPET_CONTEXT`` characters either side (the opening of the text
    for a match without a span, such as a regenerated copy)."""
    if end <= start:
        start, end = 0, min(len(text), _MAX_EXCERPT - SNIPPET_CONTEXT)
    left, right = max(0, start - SNIPPET_CONTEXT), min(len(text), end + SNIPPET_CONTEXT)
    return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")


def register_rows(
    evidence: Evidence,
    *,
    keyring: KeyRing,
    scrub: Callable[[str], str],
    remediation_days: int,
    record_id: str | None,
    tenant: str | None,
) -> list[dict[str, Any]]:
    """The register entries for one piece of evidence (one per rule that matched)."""
    kid = evidence.key_id or keyring.current.kid
    _, digest = keyring.mac(_FINGERPRINT, evidence.text.casefold().encode(), kid)
    due = dt.datetime.fromisoformat(evidence.discovered_at) + dt.timedelta(days=remediation_days)
    rows = []
    hits = zip(evidence.entry_ids, evidence.decision.hits, evidence.snippets, strict=True)
    for entry_id, hit, piece in hits:
        near = evidence.near if hit.rule_id == NEAR_DUPLICATE_RULE else None
        rows.append(
            {
                "kind": register.REGISTER_KIND,
                "id": entry_id,
                "discovered_at": evidence.discovered_at,
                "tenant": tenant,
                "direction": evidence.direction,
                "category": hit.category,
                "rule_id": hit.rule_id,
                "ruleset_version": evidence.decision.ruleset_version,
                "action": hit.action,
                "record_id": record_id,
                "key_id": kid,
                "fingerprint": digest.hex(),
                "signature": None if evidence.signature is None else evidence.signature.hex(),
                "shingles": None if evidence.signature is None else evidence.signature.size,
                "excerpt": scrub(piece)[:_MAX_EXCERPT],
                "related_to": near.entry_id if near else None,
                "similarity": round(near.similarity, 4) if near else None,
                "remediation_due": now_iso(due),
                "status": "open",
            }
        )
    return rows


class FlaggedIndex:
    """Signatures of flagged outputs, compared in one vectorised step. Thread-safe: a
    lookup reads a snapshot; additions replace it."""

    def __init__(self, keyring: Callable[[], KeyRing]) -> None:
        self._keyring = keyring
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._categories: list[str] = []
        self._kids: list[str] = []
        self._actions: list[str] = []
        self._values = np.zeros((0, PERMUTATIONS), dtype=np.uint64)
        self._sizes = np.zeros(0, dtype=np.int64)
        self._hashers: dict[str, MinHasher] = {}
        self._loaded_to: str | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"FlaggedIndex(entries={len(self)})"

    def hasher(self, kid: str | None = None) -> MinHasher:
        ring = self._keyring()
        kid = kid or ring.current.kid
        found = self._hashers.get(kid)
        if found is None:
            found = self._hashers[kid] = MinHasher(ring.subkey(kid, _MINHASH), kid)
        return found

    def kids(self) -> list[str]:
        """Key ids to sign a candidate under: the newest and every one in the index."""
        current = self._keyring().current.kid
        return [current, *sorted(set(self._kids) - {current})]

    def add(
        self, entry_id: str, category: str, signature: Signature, kid: str, action: str
    ) -> None:
        with self._lock:
            if entry_id in self._ids:
                return
            self._ids = [*self._ids, entry_id]
            self._actions = [*self._actions, action]
            self._categories = [*self._categories, category]
            self._kids = [*self._kids, kid]
            self._values = np.vstack([self._values, signature.values[None, :]])
            self._sizes = np.append(self._sizes, signature.size)

    def nearest(self, signatures: Mapping[str, Signature]) -> NearCopy | None:
        """The most similar flagged output to a candidate signed under each key id."""
        ids, categories, kids, actions = self._ids, self._categories, self._kids, self._actions
        values, sizes = self._values, self._sizes
        if not ids:
            return None
        best: NearCopy | None = None
        kid_column = np.array(kids)
        for kid, signature in signatures.items():
            rows = np.flatnonzero(kid_column == kid)
            if not rows.size:
                continue
            scores = similarities(signature, values[rows], sizes[rows])
            top = int(np.argmax(scores))
            if best is None or scores[top] > best.similarity:
                row = int(rows[top])
                best = NearCopy(ids[row], categories[row], float(scores[top]), actions[row])
        return best

    def refresh(self, conn: Any) -> int:
        """Load entries flagged since the last refresh (by any process); return how many."""
        after = self._loaded_to
        if after is not None:
            after = now_iso(dt.datetime.fromisoformat(after) - _LOOKBACK)
        added = 0
        ring = self._keyring()
        for row in register.signatures_after(conn, after):
            self._loaded_to = max(self._loaded_to or "", str(row["discovered_at"]))
            if row["id"] in self._ids:
                continue
            try:
                ring.get(str(row["key_id"]))
            except KeyFileError:
                continue  # its key was retired: the signature can no longer be compared
            try:
                signature = Signature.from_hex(str(row["signature"]), int(row["shingles"] or 0))
            except ValueError:
                log.warning("privlog: register entry %s has a malformed signature", row["id"])
                continue
            self.add(
                str(row["id"]),
                str(row["category"]),
                signature,
                str(row["key_id"]),
                str(row["action"]),
            )
            added += 1
        return added
