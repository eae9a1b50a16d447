"""What auditors can ask the store: filtered record pages, exports, daily statistics,
checkpoints, the access log and the flagged-content register. Every function takes a
read-only connection."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, func, inspect, select

from privlog.store import register
from privlog.store.reader import RECORD_COLUMNS, record_view
from privlog.store.schema import access_log, checkpoints, flagged, records

__all__ = [
    "RECORD_COLUMNS",
    "RecordFilter",
    "UnknownCursor",
    "access_entries",
    "checkpoint_page",
    "count_records",
    "daily_stats",
    "filter_fields",
    "flagged_counts",
    "flagged_entry",
    "flagged_page",
    "get_record",
    "iter_records",
    "last_checkpoint",
    "last_seq",
    "public_keys",
    "record_page",
    "record_view",
    "register_present",
]


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Conditions on ``privlog_records``; ``None`` means no condition."""

    since: str | None = None  # inclusive, ISO-8601 UTC
    until: str | None = None  # exclusive
    route: str | None = None
    tenant: str | None = None
    entity: str | None = None
    outcome: str | None = None
    flag: str | None = None
    kind: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        conditions = []
        if self.since is not None:
            conditions.append(records.c.ts >= self.since)
        if self.until is not None:
            conditions.append(records.c.ts < self.until)
        for name in ("route", "tenant", "outcome", "kind"):
            value = getattr(self, name)
            if value is not None:
                conditions.append(records.c[name] == value)
        if self.entity is not None:
            # entity_counts is canonical JSON and entity names are [A-Z0-9_] (checked by the
            # API), so the quoted name can match only a key.
            conditions.append(records.c.entity_counts.contains(f'"{self.entity}":'))
        if self.flag is not None:
            # flags are stored sorted and comma-joined: pad both sides to match whole names.
            padded = "," + func.coalesce(records.c.flags, "") + ","
            conditions.append(padded.contains(f",{self.flag},"))
        return query.where(and_(*conditions)) if conditions else query


def record_page(
    conn: Connection,
    where: RecordFilter,
    *,
    limit: int,
    after: int | None = None,
    descending: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of records in ``seq`` order, and the cursor for the next page (or None)."""
    query = where.apply(select(records))
    if after is not None:
        query = query.where(records.c.seq < after if descending else records.c.seq > after)
    order = records.c.seq.desc() if descending else records.c.seq
    rows = conn.execute(query.order_by(order).limit(limit + 1)).mappings().all()
    page = [record_view(row) for row in rows[:limit]]
    cursor = int(page[-1]["seq"]) if len(rows) > limit else None
    return page, cursor


def count_records(conn: Connection, where: RecordFilter, *, up_to: int | None = None) -> int:
    query = where.apply(select(func.count()).select_from(records))
    if up_to is not None:
        query = query.where(records.c.seq <= up_to)
    return int(conn.execute(query).scalar_one())


def last_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(records.c.seq), 0))).scalar_one())


def iter_records(
    conn: Connection, where: RecordFilter, *, up_to: int, page: int = 1_000
) -> Iterator[dict[str, Any]]:
    """Every matching record with ``seq <= up_to``, a page at a time."""
    after = 0
    while True:
        query = where.apply(select(records)).where(records.c.seq > after, records.c.seq <= up_to)
        rows = conn.execute(query.order_by(records.c.seq).limit(page)).mappings().all()
        if not rows:
            return
        yield from (record_view(row) for row in rows)
        after = int(rows[-1]["seq"])


def get_record(conn: Connection, seq: int, tenant: str | None) -> dict[str, Any] | None:
    query = select(records).where(records.c.seq == seq)
    if tenant is not None:
        query = query.where(records.c.tenant == tenant)
    row = conn.execute(query).mappings().first()
    return None if row is None else record_view(row)


def _load(raw: Any) -> Any:
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class _Day:
    __slots__ = ("drops", "egress", "entities", "outcomes", "records", "rescan_hits")

    def __init__(self) -> None:
        self.records = 0
        self.entities: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.egress: Counter[str] = Counter()
        self.drops = 0
        self.rescan_hits = 0

    def as_dict(self, day: str) -> dict[str, Any]:
        return {
            "day": day,
            "records": self.records,
            "entities": dict(sorted(self.entities.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
            "egress": dict(sorted(self.egress.items())),
            "drops": self.drops,
            "rescan_hits": self.rescan_hits,
        }


def _add_usage(day: _Day, row: Mapping[Any, Any]) -> None:
    day.records += 1
    counts = _load(row["entity_counts"])
    if isinstance(counts, dict):
        day.entities.update({str(k): int(v) for k, v in counts.items() if isinstance(v, int)})
    if row["outcome"]:
        day.outcomes[str(row["outcome"])] += 1
    day.rescan_hits += int(row["rescan_hits"] or 0)
    decisions = _load(row["egress"])
    if isinstance(decisions, list):
        day.egress.update(str(d.get("action")) for d in decisions if isinstance(d, dict))


def daily_stats(conn: Connection, where: RecordFilter) -> dict[str, Any]:
    """Per-day counts of records, entity types, outcomes, egress decisions, drops and
    re-scan hits, plus totals over the whole range.

    Drops come from the writers' chained summaries, which carry each writer's running
    totals: a day is credited with the growth of each writer's total during that day.
    """
    days: defaultdict[str, _Day] = defaultdict(_Day)
    usage = RecordFilter(**{**filter_fields(where), "kind": "usage"})
    columns = (
        records.c.ts,
        records.c.entity_counts,
        records.c.outcome,
        records.c.rescan_hits,
        records.c.egress,
    )
    result = conn.execution_options(yield_per=2_000).execute(
        usage.apply(select(*columns)).order_by(records.c.seq)
    )
    for row in result.mappings():
        _add_usage(days[str(row["ts"])[:10]], row)
    if where.kind in (None, "summary"):
        _add_drops(conn, where, days)
    total = _Day()
    for day in days.values():
        total.records += day.records
        total.entities.update(day.entities)
        total.outcomes.update(day.outcomes)
        total.egress.update(day.egress)
        total.drops += day.drops
        total.rescan_hits += day.rescan_hits
    totals = total.as_dict("")
    del totals["day"]
    return {"days": [days[d].as_dict(d) for d in sorted(days)], "totals": totals}


def filter_fields(where: RecordFilter) -> dict[str, Any]:
    return {name: getattr(where, name) for name in RecordFilter.__slots__}


def _add_drops(conn: Connection, where: RecordFilter, days: defaultdict[str, _Day]) -> None:
    # Running totals are per writer; each summary carries its writer's id (older summaries
    # without one count as one writer). Summaries before the range set the baseline.
    baseline: dict[str, int] = {}
    if where.since is not None:
        earlier = select(records.c.details).where(
            records.c.kind == "summary", records.c.ts < where.since
        )
        for (raw,) in conn.execution_options(yield_per=2_000).execute(
            earlier.order_by(records.c.seq)
        ):
            writer, dropped = _summary(raw)
            baseline[writer] = dropped
    summaries = RecordFilter(since=where.since, until=where.until, kind="summary")
    query = summaries.apply(select(records.c.ts, records.c.details)).order_by(records.c.seq)
    for ts, raw in conn.execution_options(yield_per=2_000).execute(query):
        writer, dropped = _summary(raw)
        grew = dropped - baseline.get(writer, 0)
        baseline[writer] = dropped
        if grew > 0:
            days[str(ts)[:10]].drops += grew


def _summary(raw: Any) -> tuple[str, int]:
    details = _load(raw)
    if not isinstance(details, dict):
        return "", 0
    return str(details.get("writer", "")), int(details.get("dropped_total", 0) or 0)


def checkpoint_page(
    conn: Connection, *, limit: int, after: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    query = select(checkpoints)
    if after is not None:
        query = query.where(checkpoints.c.seq > after)
    rows = conn.execute(query.order_by(checkpoints.c.seq).limit(limit + 1)).mappings().all()
    page = [dict(row) for row in rows[:limit]]
    return page, (int(page[-1]["seq"]) if len(rows) > limit else None)


def last_checkpoint(conn: Connection) -> dict[str, Any] | None:
    row = (
        conn.execute(select(checkpoints).order_by(checkpoints.c.seq.desc()).limit(1))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def public_keys(conn: Connection) -> list[dict[str, str]]:
    """The distinct (key id, public key) pairs the checkpoints were signed with."""
    rows = conn.execute(
        select(checkpoints.c.key_id, checkpoints.c.public_key)
        .distinct()
        .order_by(checkpoints.c.key_id)
    )
    return [{"key_id": str(kid), "public_key": str(key)} for kid, key in rows]


def access_entries(
    conn: Connection, *, limit: int, after: int | None, tenant: str | None
) -> tuple[list[dict[str, Any]], int | None]:
    query = select(access_log)
    if tenant is not None:
        query = query.where(access_log.c.tenant == tenant)
    if after is not None:
        query = query.where(access_log.c.seq < after)
    rows = conn.execute(query.order_by(access_log.c.seq.desc()).limit(limit + 1)).mappings().all()
    page = []
    for row in rows[:limit]:
        entry = dict(row)
        entry["filters"] = _load(entry["filters"])
        page.append(entry)
    return page, (int(page[-1]["seq"]) if len(rows) > limit else None)


# --- the flagged-content register --------------------------------------------------------


class UnknownCursor(LookupError):
    """The entry a page should continue after does not exist (for this token)."""


def register_present(conn: Connection) -> bool:
    """Whether the register's table exists: a database from before migration 0007 has
    none, and then the register reads as empty."""
    return bool(inspect(conn).has_table(flagged.name))


def flagged_page(
    conn: Connection,
    where: register.FlaggedFilter,
    *,
    limit: int,
    after: str | None,
    scope: str | None,
    now: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """Register entries newest first, and the cursor for the next page (or None).

    ``after`` is an entry id from a previous page; it must be an entry the caller may see
    (``scope``: the token's tenant, if any), else :class:`UnknownCursor`.
    """
    if not register_present(conn):
        if after is not None:
            raise UnknownCursor(after)
        return [], None
    if after is not None:
        anchor = conn.execute(select(flagged.c.tenant).where(flagged.c.id == after)).first()
        if anchor is None or (scope is not None and anchor.tenant != scope):
            raise UnknownCursor(after)
    return register.entry_page(conn, where, limit=limit, after=after, now=now)


def flagged_entry(
    conn: Connection, entry_id: str, *, scope: str | None, now: str
) -> dict[str, Any] | None:
    """One register entry, or None when there is none (or it is another tenant's)."""
    if not register_present(conn):
        return None
    entry = register.get_entry(conn, entry_id, now)
    if entry is None or (scope is not None and entry["tenant"] != scope):
        return None
    return entry


def flagged_counts(conn: Connection, where: register.FlaggedFilter, now: str) -> dict[str, Any]:
    """:func:`privlog.store.register.counts`, all zero when the register does not exist."""
    if not register_present(conn):
        return register.totals()
    return register.counts(conn, where, now)
