"""Reading the chain back and verifying it: what auditors and ``privlog verify`` use.

Nothing here writes, so it works through a read-only connection (the auditor API's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from privlog.store import chain
from privlog.store.erasure import erased_seqs
from privlog.store.schema import GENESIS_HASH, chain_head, checkpoints, records

__all__ = [
    "RECORD_COLUMNS",
    "VerifyReport",
    "Witnessed",
    "iter_rows",
    "record_view",
    "verify_chain",
]

# Returned as parsed JSON rather than the strings they are stored as.
_JSON_COLUMNS = ("entity_counts", "details", "egress")
RECORD_COLUMNS = tuple(c.name for c in records.columns)


@dataclass(frozen=True, slots=True)
class Witnessed:
    """A signed checkpoint that a reader kept from an earlier read (``GET /v1/checkpoints``)
    or received from another reader. Checked against the chain as it is now, it shows a
    rewrite that also replaced or deleted the stored checkpoints, and a split view: two
    readers shown different chains, each consistent on its own."""

    seq: int
    ts: str
    entry_hash: str
    key_id: str
    public_key: str
    signature: str
    source: str = "a reader"

    def signed_by(self, trusted_keys: Mapping[str, str] | None) -> bool:
        """Whether the signature holds under the trusted key of its key id (or, with no
        trusted keys, under the public key it carries)."""
        key = self.public_key if trusted_keys is None else trusted_keys.get(self.key_id)
        return key is not None and chain.verify_signature(
            key, self.signature, self.seq, self.entry_hash, self.ts
        )


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    records: int
    last_seq: int
    checkpoints: int
    problem: chain.ChainProblem | None = None
    first_seq: int = 1
    witnessed: int = 0

    def __str__(self) -> str:
        if self.ok:
            where = "" if self.first_seq == 1 else f" from seq {self.first_seq}"
            held = f", {self.witnessed} held by readers matched" if self.witnessed else ""
            return (
                f"chain intact{where}: {self.records} records (last seq {self.last_seq}), "
                f"{self.checkpoints} signed checkpoints verified{held}"
            )
        return f"chain BROKEN at {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "ok": self.ok,
            "first_seq": self.first_seq,
            "records": self.records,
            "last_seq": self.last_seq,
            "checkpoints": self.checkpoints,
            "witnessed": self.witnessed,
            "problem": None if problem is None else {"seq": problem.seq, "reason": problem.reason},
        }


def record_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored row as the API shows it (JSON columns parsed)."""
    view = {name: row.get(name) for name in RECORD_COLUMNS}
    for name in _JSON_COLUMNS:
        raw = view.get(name)
        if isinstance(raw, str):
            try:
                view[name] = json.loads(raw)
            except ValueError:
                view[name] = raw
    flags = view.get("flags")
    view["flags"] = [f for f in str(flags).split(",") if f] if flags else []
    return view


def iter_rows(
    conn: Connection, *, after: int = 0, until: int | None = None, page: int = 2_000
) -> Iterator[Mapping[str, Any]]:
    """Rows with ``after < seq <= until`` in ``seq`` order, fetched a page at a time."""
    while True:
        query = select(records).where(records.c.seq > after)
        if until is not None:
            query = query.where(records.c.seq <= until)
        batch = conn.execute(query.order_by(records.c.seq).limit(page)).mappings().all()
        if not batch:
            return
        yield from (dict(row) for row in batch)
        after = int(batch[-1]["seq"])


def verify_chain(
    conn: Connection,
    trusted_keys: Mapping[str, str] | None = None,
    *,
    first: int = 1,
    last: int | None = None,
    witnessed: Sequence[Witnessed] = (),
) -> VerifyReport:
    """Check records ``first..last`` (default: all), the head row when the range reaches
    the end, and every checkpoint inside the range.

    A range that starts after 1 is linked to the stored hash of record ``first - 1``: it
    proves the range consistent with that record, not the records before it.
    ``trusted_keys`` maps checkpoint key ids to Ed25519 public keys (hex) obtained out of
    band. Without it the keys recorded with the checkpoints are used, which proves
    integrity only against someone who cannot also rewrite the checkpoint table. With
    trusted keys, a chain read from its start that holds records but no checkpoint at all
    fails: the writer signs one at its first append, so they were deleted (checked when the
    whole chain is read; a range may end before the first checkpoint).

    ``witnessed`` are checkpoints readers kept (see :class:`Witnessed`); each must be
    validly signed (the caller checks that first) and match the chain at its ``seq``.
    """
    if last is not None and last < first:
        return VerifyReport(True, 0, first - 1, 0, None, first)  # an empty range
    prev = GENESIS_HASH
    if first > 1:
        before = conn.execute(
            select(records.c.entry_hash).where(records.c.seq == first - 1)
        ).scalar_one_or_none()
        if before is None:
            gap = chain.ChainProblem(first - 1, "missing (the range's predecessor)")
            return VerifyReport(False, 0, first - 1, 0, gap, first)
        prev = str(before)
    last_seq, last_hash, count = first - 1, prev, 0
    hashes: dict[int, str] = {}
    mark_query = select(checkpoints).where(checkpoints.c.seq >= first)
    if last is not None:
        mark_query = mark_query.where(checkpoints.c.seq <= last)
    marks = {int(row.seq): row for row in conn.execute(mark_query.order_by(checkpoints.c.seq))}
    witnessed = [w for w in witnessed if w.seq >= first and (last is None or w.seq <= last)]
    wanted = set(marks) | {w.seq for w in witnessed}
    rows = iter_rows(conn, after=first - 1, until=last)
    erased = erased_seqs(conn)
    for item in chain.verify_rows(rows, start_seq=first, prev=prev, erased=erased):
        if isinstance(item, chain.ChainProblem):
            return VerifyReport(False, count, last_seq, 0, item, first)
        last_seq, last_hash = item
        count += 1
        if last_seq in wanted:
            hashes[last_seq] = last_hash
    problem = (
        _check_head(conn, last, last_seq, last_hash)
        or _check_marks(marks, hashes, last_seq, trusted_keys)
        or _check_witnessed(witnessed, hashes, last_seq)
    )
    whole = first == 1 and last is None  # a range may end before the first checkpoint
    if problem is None and trusted_keys is not None and whole and count and not marks:
        problem = chain.ChainProblem(
            1, "no signed checkpoint covers the chain (the checkpoints were deleted)"
        )
    if problem is not None:
        return VerifyReport(False, count, last_seq, 0, problem, first)
    return VerifyReport(True, count, last_seq, len(marks), None, first, len(witnessed))


def _check_head(
    conn: Connection, last: int | None, last_seq: int, last_hash: str
) -> chain.ChainProblem | None:
    head = conn.execute(select(chain_head).where(chain_head.c.id == 1)).first()
    if head is None:
        return chain.ChainProblem(last_seq + 1, "head row missing")
    head_seq = int(head.seq)
    if last is not None and last_seq < last and head_seq >= last:
        return chain.ChainProblem(last_seq + 1, "missing (the chain head is beyond it)")
    reaches_end = last is None or last >= head_seq
    if reaches_end and (head_seq != last_seq or head.entry_hash != last_hash):
        return chain.ChainProblem(
            min(head_seq, last_seq) + 1,
            f"head says seq {head_seq} but the chain ends at {last_seq} (truncated or "
            "rows appended without the head)",
        )
    return None


def _check_marks(
    marks: Mapping[int, Any],
    hashes: Mapping[int, str],
    last_seq: int,
    trusted_keys: Mapping[str, str] | None,
) -> chain.ChainProblem | None:
    for seq, mark in marks.items():
        key = (trusted_keys or {}).get(mark.key_id, mark.public_key)
        if trusted_keys is not None and mark.key_id not in trusted_keys:
            reason = f"checkpoint signed by unknown key {mark.key_id}"
        elif seq > last_seq:
            reason = f"checkpoint at {seq} is beyond the end of the chain (tail cut off)"
        elif hashes.get(seq) != mark.entry_hash:
            reason = "record differs from the signed checkpoint"
        elif not chain.verify_signature(key, mark.signature, seq, mark.entry_hash, mark.ts):
            reason = "checkpoint signature is invalid"
        else:
            continue
        return chain.ChainProblem(min(seq, last_seq + 1), reason)
    return None


def _check_witnessed(
    witnessed: Sequence[Witnessed], hashes: Mapping[int, str], last_seq: int
) -> chain.ChainProblem | None:
    for mark in sorted(witnessed, key=lambda w: w.seq):
        if mark.seq > last_seq:
            return chain.ChainProblem(
                last_seq + 1,
                f"{mark.source} holds a checkpoint signed for seq {mark.seq} at {mark.ts}, "
                f"but the chain ends at {last_seq} (tail cut off, or readers are shown "
                "different chains)",
            )
        if hashes.get(mark.seq) != mark.entry_hash:
            return chain.ChainProblem(
                mark.seq,
                f"differs from the checkpoint signed at {mark.ts} that {mark.source} holds "
                "(rewritten, or readers are shown different chains)",
            )
    return None
