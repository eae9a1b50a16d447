"""Appending to the chain and reading it back: the only code that writes privlog_records."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from privlog.errors import StoreError
from privlog.store import chain, consent, erasure, reader, register
from privlog.store.database import is_sqlite
from privlog.store.migrate import current_revision, head_revision, migrate
from privlog.store.reader import VerifyReport
from privlog.store.schema import chain_head, checkpoints, now_iso, records

__all__ = ["ChainStore", "VerifyReport", "now_iso"]


class ChainStore:
    """One database's chain. Thread-compatible: use one instance per writer thread."""

    def __init__(
        self,
        engine: Engine,
        signer: chain.Signer | None = None,
        *,
        checkpoint_every: int = 1_000,
        checkpoint_interval: float = 60.0,
        auto_migrate: bool | None = None,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self._auto_migrate = is_sqlite(engine) if auto_migrate is None else auto_migrate
        self._ready = False

    def __repr__(self) -> str:
        return f"ChainStore(dialect={self.engine.dialect.name!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def ensure_ready(self) -> None:
        """Upgrade an embedded SQLite store; check that PostgreSQL was upgraded."""
        if self._ready:
            return
        if self._auto_migrate:
            migrate(self.engine)
        else:
            with self.engine.connect() as conn:
                found = current_revision(conn)
            if found != head_revision():
                raise StoreError(
                    f"the privlog tables are at revision {found or 'none'}, not "
                    f"{head_revision()}; run: privlog db upgrade"
                )
        self._ready = True

    # --- writing -------------------------------------------------------------------------

    def append(self, payloads: Sequence[Mapping[str, Any]]) -> int:
        """Append payloads to the chain in one transaction; return the new head's seq.

        Writers in any number of processes serialise on the head row (row lock on
        PostgreSQL, BEGIN IMMEDIATE on SQLite), so sequence numbers never have gaps.
        """
        self.ensure_ready()
        with self.engine.begin() as conn:
            return self.append_in(conn, payloads)

    def append_in(self, conn: Connection, payloads: Sequence[Mapping[str, Any]]) -> int:
        """:meth:`append` inside the caller's transaction (so that a change and the entry
        recording it commit together). Flagged-content register entries in ``payloads``
        (kind ``flagged``) go to the register in the same transaction, not the chain."""
        head = conn.execute(
            select(chain_head.c.seq, chain_head.c.entry_hash)
            .where(chain_head.c.id == 1)
            .with_for_update()
        ).one()
        register.insert_in(conn, [p for p in payloads if p.get("kind") == register.REGISTER_KIND])
        chained = consent.apply_in(
            conn, [p for p in payloads if p.get("kind") != register.REGISTER_KIND]
        )
        rows, seq, prev = chain.link(chained, int(head.seq), str(head.entry_hash))
        if rows:
            conn.execute(insert(records), rows)
            conn.execute(
                update(chain_head).where(chain_head.c.id == 1).values(seq=seq, entry_hash=prev)
            )
            self._maybe_checkpoint(conn, seq, prev)
        return seq

    # --- erasing -------------------------------------------------------------------------

    def erase(self, seqs: Sequence[int], reason: str, now: dt.datetime | None = None) -> int:
        """Erase the payloads of ``seqs`` and chain an erasure entry naming them, in one
        transaction; return how many were erased (records already erased are skipped)."""
        self.ensure_ready()
        when = now_iso(now)
        with self.engine.begin() as conn:
            # The head lock first: erasures and appends never interleave.
            conn.execute(
                select(chain_head.c.seq).where(chain_head.c.id == 1).with_for_update()
            ).one()
            count = erasure.erase_in(conn, seqs, when)
            if count:
                self.append_in(conn, [erasure.erasure_payload(seqs, reason, when)])
        return count

    def purge(self, now: dt.datetime | None = None) -> erasure.PurgeReport:
        """Erase every usage record whose expiry has passed (``now`` for tests)."""
        before = now_iso(now)
        erased = entries = 0
        while True:
            with self.engine.connect() as conn:
                seqs = erasure.expired(conn, before)
            if not seqs:
                break
            erased += self.erase(seqs, "retention", now)
            entries += 1
        if erased:
            erasure.wipe_sqlite_journal(self.engine)
        return erasure.PurgeReport(erased, entries, before)

    def _maybe_checkpoint(self, conn: Connection, seq: int, entry: str) -> None:
        if self.signer is None:
            return
        last = conn.execute(
            select(checkpoints.c.seq, checkpoints.c.ts).order_by(checkpoints.c.seq.desc()).limit(1)
        ).first()
        now = now_iso()
        if last is not None:
            age = dt.datetime.fromisoformat(now) - dt.datetime.fromisoformat(last.ts)
            if seq - last.seq < self.checkpoint_every and (
                age.total_seconds() < self.checkpoint_interval
            ):
                return
        conn.execute(
            insert(checkpoints).values(
                seq=seq,
                ts=now,
                entry_hash=entry,
                key_id=self.signer.key_id,
                public_key=self.signer.public_key,
                signature=self.signer.sign(seq, entry, now),
            )
        )

    # --- reading and verifying -----------------------------------------------------------

    def iter_rows(self, conn: Connection, page: int = 2_000) -> Iterator[Mapping[str, Any]]:
        return reader.iter_rows(conn, page=page)

    def verify(self, trusted_keys: Mapping[str, str] | None = None) -> VerifyReport:
        """Check the whole chain, the head row and every checkpoint (see
        :func:`privlog.store.reader.verify_chain`)."""
        with self.engine.connect() as conn:
            return reader.verify_chain(conn, trusted_keys)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(records)).scalar_one())


def summary_payload(stats: Mapping[str, Any]) -> dict[str, Any]:
    """A chained summary entry: the writer's counters, nothing about any request."""
    return {
        "kind": "summary",
        "ts": now_iso(),
        "route": "privlog:summary",
        "details": json.dumps(dict(stats), sort_keys=True),
    }
