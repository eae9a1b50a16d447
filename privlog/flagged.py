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
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

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
# Characters of identifiers (numbers, e-mail and web addresses, handles; not CJK, which
# has no spaces to stop at), and how far an excerpt's edge may move to keep one whole.
_TOKEN_CHAR = re.compile(r"[0-9A-Za-z@._+\-:/#%~=&?\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_TOKEN_REACH = 64
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
    """The match and about ``SNIPPET_CONTEXT`` characters either side (the opening of the
    text for a match without a span, such as a regenerated copy). The edges are moved out
    to the end of any identifier-like token they would split (a cut number or address
    could escape the scrubber), and the ellipses stand apart so they glue to nothing."""
    if end <= start:
        start, end = 0, min(len(text), _MAX_EXCERPT - SNIPPET_CONTEXT)
    left, right = max(0, start - SNIPPET_CONTEXT), min(len(text), end + SNIPPET_CONTEXT)
    stop = max(0, left - _TOKEN_REACH)
    while left > stop and _TOKEN_CHAR.match(text[left - 1]):
        left -= 1
    stop = min(len(text), right + _TOKEN_REACH)
    while right < stop and _TOKEN_CHAR.match(text[right]):
        right += 1
    return ("… " if left else "") + text[left:right] + (" …" if right < len(text) else "")


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
    signature = evidence.signature
    if kid not in keyring.kids:  # retired since the reply: its signature is unusable
        kid, signature = keyring.current.kid, None
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
                "signature": None if signature is None else signature.hex(),
                "shingles": None if signature is None else signature.size,
                "excerpt": scrub(piece)[:_MAX_EXCERPT],
                "related_to": near.entry_id if near else None,
                "similarity": round(near.similarity, 4) if near else None,
                "remediation_due": now_iso(due),
                "status": "open",
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class _Entries:
    """One immutable snapshot of the index: lookups read it whole, additions replace it."""

    ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    kids: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    values: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, PERMUTATIONS), dtype=np.uint64)
    )
    sizes: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Derived once per snapshot, not per lookup: the key id of each row, and the set of them.
    kid_column: npt.NDArray[np.str_] = field(init=False)
    kid_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kid_column", np.array(self.kids, dtype=str))
        object.__setattr__(self, "kid_set", frozenset(self.kids))


@dataclass(frozen=True, slots=True)
class _New:
    entry_id: str
    category: str
    signature: Signature
    kid: str
    action: str


class FlaggedIndex:
    """Signatures of flagged outputs, compared in one vectorised step. Thread-safe: a
    lookup reads one snapshot; additions build the next under a lock and swap it in."""

    def __init__(self, keyring: Callable[[], KeyRing]) -> None:
        self._keyring = keyring
        self._lock = threading.Lock()
        self._entries = _Entries()
        self._known: set[str] = set()
        self._hashers: dict[str, MinHasher] = {}
        self._loaded_to: str | None = None

    def __len__(self) -> int:
        return len(self._entries.ids)

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
        """Key ids to sign a candidate under: the newest and every live one in the index.
        Entries and hashers of retired keys are dropped here (crypto-shredding)."""
        ring = self._keyring()
        live = set(ring.kids)
        entries = self._entries
        if not entries.kid_set <= live or not self._hashers.keys() <= live:
            self._forget(live)
            entries = self._entries
        current = ring.current.kid
        return [current, *sorted(set(entries.kids) - {current})]

    def _forget(self, live: set[str]) -> None:
        with self._lock:
            old = self._entries
            keep = [i for i, k in enumerate(old.kids) if k in live]
            self._entries = _Entries(
                tuple(old.ids[i] for i in keep),
                tuple(old.categories[i] for i in keep),
                tuple(old.kids[i] for i in keep),
                tuple(old.actions[i] for i in keep),
                old.values[keep],
                old.sizes[keep],
            )
            self._known = set(self._entries.ids)
            self._hashers = {k: h for k, h in self._hashers.items() if k in live}

    def add(
        self, entry_id: str, category: str, signature: Signature, kid: str, action: str
    ) -> None:
        self._add([_New(entry_id, category, signature, kid, action)])

    def _add(self, new: list[_New]) -> None:
        with self._lock:
            new = [n for n in new if n.entry_id not in self._known]
            if not new:
                return
            old = self._entries
            self._entries = _Entries(
                old.ids + tuple(n.entry_id for n in new),
                old.categories + tuple(n.category for n in new),
                old.kids + tuple(n.kid for n in new),
                old.actions + tuple(n.action for n in new),
                np.vstack([old.values, *(n.signature.values[None, :] for n in new)]),
                np.append(old.sizes, [n.signature.size for n in new]),
            )
            self._known.update(n.entry_id for n in new)

    def nearest(self, signatures: Mapping[str, Signature]) -> NearCopy | None:
        """The most similar flagged output to a candidate signed under each key id."""
        entries = self._entries  # one snapshot: consistent whatever is added meanwhile
        if not entries.ids:
            return None
        best: NearCopy | None = None
        for kid, signature in signatures.items():
            rows = np.flatnonzero(entries.kid_column == kid)
            if not rows.size:
                continue
            scores = similarities(signature, entries.values[rows], entries.sizes[rows])
            top = int(np.argmax(scores))
            if best is None or scores[top] > best.similarity:
                row = int(rows[top])
                best = NearCopy(
                    entries.ids[row],
                    entries.categories[row],
                    float(scores[top]),
                    entries.actions[row],
                )
        return best

    def refresh(self, conn: Any) -> int:
        """Load outputs flagged since the last refresh (by any process); return how many.
        Regenerated copies are not loaded as originals: a false match must not spread."""
        after = self._loaded_to
        if after is not None:
            after = now_iso(dt.datetime.fromisoformat(after) - _LOOKBACK)
        live = set(self._keyring().kids)
        new: list[_New] = []
        for row in register.signatures_after(conn, after):
            self._loaded_to = max(self._loaded_to or "", str(row["discovered_at"]))
            if row["id"] in self._known or row["rule_id"] == NEAR_DUPLICATE_RULE:
                continue
            if row["key_id"] not in live:
                continue  # its key was retired: the signature can no longer be compared
            try:
                signature = Signature.from_hex(str(row["signature"]), int(row["shingles"] or 0))
            except ValueError:
                log.warning("privlog: register entry %s has a malformed signature", row["id"])
                continue
            new.append(
                _New(
                    str(row["id"]),
                    str(row["category"]),
                    signature,
                    str(row["key_id"]),
                    str(row["action"]),
                )
            )
        self._add(new)
        return len(new)
