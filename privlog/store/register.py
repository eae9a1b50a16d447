"""The flagged-content register: entries written with the records, read by auditors and
operators, and marked remediated by operators (the only change an entry ever sees).

An entry is *overdue* while it is open after its ``remediation_due`` time. Entries are
never deleted by privlog: they are the evidence that illegal content was stopped and dealt
with, and they hold no personal data (the excerpt is scrubbed like any stored text).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, case, func, insert, select, true, update

from privlog.errors import RegisterError
from privlog.store.chain import storable
from privlog.store.schema import flagged, now_iso

__all__ = [
    "REGISTER_KIND",
    "FlaggedFilter",
    "counts",
    "entry_page",
    "entry_view",
    "get_entry",
    "insert_in",
    "remediate",
    "signatures_after",
    "totals",
]

# Payloads of this kind travel with a batch of records but go to the register, not the
# chain (so an entry commits in the same transaction as the record that produced it).
REGISTER_KIND = "flagged"
_MAX_NOTE = 1_000
_HIDDEN = ("signature",)  # long and useless to a reader; the fingerprint identifies


@dataclass(frozen=True, slots=True)
class FlaggedFilter:
    """Conditions on the register; ``None`` means no condition. ``overdue`` needs ``now``."""

    status: Literal["open", "remediated"] | None = None
    overdue: bool | None = None
    category: str | None = None
    direction: str | None = None
    tenant: str | None = None
    since: str | None = None  # discovered at or after (ISO-8601 UTC)
    until: str | None = None  # discovered before
    related_to: str | None = None

    def conditions(self, now: str) -> list[Any]:
        out: list[Any] = []
        for name in ("status", "category", "direction", "tenant", "related_to"):
            value = getattr(self, name)
            if value is not None:
                out.append(flagged.c[name] == value)
        if self.since is not None:
            out.append(flagged.c.discovered_at >= self.since)
        if self.until is not None:
            out.append(flagged.c.discovered_at < self.until)
        if self.overdue is True:
            out += [flagged.c.status == "open", flagged.c.remediation_due < now]
        elif self.overdue is False:
            out.append(~and_(flagged.c.status == "open", flagged.c.remediation_due < now))
        return out


def insert_in(conn: Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    rows = [storable({k: v for k, v in e.items() if k != "kind"}) for e in entries]
    if rows:
        conn.execute(insert(flagged), rows)


def entry_view(row: Mapping[str, Any], now: str) -> dict[str, Any]:
    """An entry as the API and the CLI show it, with ``overdue`` worked out at ``now``."""
    view = {k: v for k, v in row.items() if k not in _HIDDEN}
    view["overdue"] = row["status"] == "open" and str(row["remediation_due"]) < now
    return view


def entry_page(
    conn: Connection,
    where: FlaggedFilter,
    *,
    limit: int,
    after: str | None = None,
    now: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Entries newest first, and the cursor (an entry id) for the next page, or None."""
    moment = now or now_iso()
    conditions = where.conditions(moment)
    if after is not None:
        anchor = conn.execute(
            select(flagged.c.discovered_at).where(flagged.c.id == after)
        ).scalar_one_or_none()
        if anchor is None:
            raise RegisterError(f"no register entry {after!r} to continue after")
        conditions.append(
            (flagged.c.discovered_at < anchor)
            | and_(flagged.c.discovered_at == anchor, flagged.c.id < after)
        )
    query = (
        select(flagged)
        .where(and_(true(), *conditions))
        .order_by(flagged.c.discovered_at.desc(), flagged.c.id.desc())
        .limit(limit + 1)
    )
    rows = [entry_view(dict(r._mapping), moment) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1]["id"]) if more and rows else None)


def get_entry(conn: Connection, entry_id: str, now: str | None = None) -> dict[str, Any] | None:
    row = conn.execute(select(flagged).where(flagged.c.id == entry_id)).first()
    return None if row is None else entry_view(dict(row._mapping), now or now_iso())


def remediate(engine: Engine, entry_id: str, note: str, now: str | None = None) -> dict[str, Any]:
    """Mark an open entry remediated, with what was done (``note``, required)."""
    note = note.strip()
    if not note:
        raise RegisterError("say what was done: a remediation needs a note (--note)")
    if len(note) > _MAX_NOTE:
        raise RegisterError(f"the note is {len(note)} characters; keep it under {_MAX_NOTE}")
    moment = now or now_iso()
    with engine.begin() as conn:
        row = conn.execute(select(flagged.c.status).where(flagged.c.id == entry_id)).first()
        if row is None:
            raise RegisterError(
                f"no register entry {entry_id!r}; list them with: privlog content list"
            )
        if row.status != "open":
            raise RegisterError(f"entry {entry_id} is already {row.status}")
        changed = conn.execute(
            update(flagged)
            .where(flagged.c.id == entry_id, flagged.c.status == "open")
            .values(status="remediated", remediated_at=moment, remediation_note=note)
        ).rowcount
        if changed != 1:  # another operator remediated it between our read and write
            raise RegisterError(f"entry {entry_id} was remediated meanwhile; nothing changed")
        done = conn.execute(select(flagged).where(flagged.c.id == entry_id)).one()
    return entry_view(dict(done._mapping), moment)


def counts(conn: Connection, where: FlaggedFilter, now: str | None = None) -> dict[str, Any]:
    """Totals for the report and the dashboard: by status, category and direction, how
    many are overdue, and how many were caught as regenerated copies."""
    moment = now or now_iso()
    conditions = where.conditions(moment)
    late = and_(flagged.c.status == "open", flagged.c.remediation_due < moment)
    query = (
        select(
            flagged.c.status,
            flagged.c.category,
            flagged.c.direction,
            func.count().label("n"),
            func.sum(case((flagged.c.related_to.is_not(None), 1), else_=0)).label("copies"),
            func.sum(case((late, 1), else_=0)).label("late"),
        )
        .where(and_(true(), *conditions))
        .group_by(flagged.c.status, flagged.c.category, flagged.c.direction)
    )
    return totals(conn.execute(query))


def totals(rows: Iterable[Any] = ()) -> dict[str, Any]:
    """The counts from grouped rows (status, category, direction, n, copies, late); all
    zero without rows (a database from before the register reads as an empty one)."""
    status: Counter[str] = Counter()
    category: Counter[str] = Counter()
    direction: Counter[str] = Counter()
    overdue = copies = 0
    for row in rows:
        n = int(row.n)
        status[row.status] += n
        category[row.category] += n
        direction[row.direction] += n
        overdue += int(row.late or 0)
        copies += int(row.copies or 0)
    return {
        "total": sum(status.values()),
        "open": status["open"],
        "remediated": status["remediated"],
        "overdue": overdue,
        "regenerated": copies,
        "by_category": dict(sorted(category.items())),
        "by_direction": dict(sorted(direction.items())),
    }


def signatures_after(conn: Connection, after: str | None) -> Iterator[Mapping[str, Any]]:
    """Entries with an output signature discovered after ``after`` (oldest first), for
    the near-duplicate index."""
    query = select(
        flagged.c.id,
        flagged.c.discovered_at,
        flagged.c.category,
        flagged.c.key_id,
        flagged.c.signature,
        flagged.c.shingles,
        flagged.c.related_to,
        flagged.c.action,
        flagged.c.rule_id,
    ).where(flagged.c.signature.is_not(None))
    if after is not None:
        query = query.where(flagged.c.discovered_at > after)
    for row in conn.execute(query.order_by(flagged.c.discovered_at, flagged.c.id)):
        yield dict(row._mapping)
