"""The training export: the scrubbed texts users consented to, and where they came from.

``privlog export-training --out FILE`` writes one JSON line per exported record, holding
only its scrubbed text fields (``{"text": {"prompt": "..."}}``): no subject or session
token, no record id, time, route or network. A record is exported only if its subject had
consented to training use when it was written (its ``training`` flag) and has not revoked
since, and it is not restricted, erased, refused (outcome ``blocked``) or flagged as illegal
content (by a content rule on its input or reply, or in the flagged-content register). Each
text is scanned once more on the way out, with the detector in use now.

Beside the file goes a manifest (``FILE.manifest.json``): the period, counts of what was
exported and what was left out and why, the detector, policy and rule-set versions, the
consent counts, and the file's SHA-256. The export is also a chained entry (kind
``request``, with the same figures and hash), so an auditor can tell the file in hand from
any other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Engine, select

from privlog._version import __version__
from privlog.errors import ConfigError
from privlog.store import consent
from privlog.store.schema import flagged, now_iso, records

if TYPE_CHECKING:
    from privlog.core import Privlog

__all__ = ["FORMAT", "export_training", "manifest_path"]

FORMAT = "privlog-training-export/1"
_PAGE = 500


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def _period(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """The bounds as stored times (``since`` included, ``until`` not)."""
    bounds: list[str | None] = []
    for name, value in (("since", since), ("until", until)):
        if value is None:
            bounds.append(None)
            continue
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"--{name} must be an ISO date or time, such as 2026-11-01 or "
                f"2026-11-01T12:00:00+00:00"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        bounds.append(now_iso(moment))
    return bounds[0], bounds[1]


def _pages(engine: Engine, since: str | None, until: str | None) -> Iterator[list[dict[str, Any]]]:
    """The period's usage records, a page per short transaction: on SQLite every
    transaction of the store's engine takes the write lock, which must not be held while the
    texts are re-scanned."""
    after = 0
    while True:
        query = select(records).where(records.c.kind == "usage", records.c.seq > after)
        if since is not None:
            query = query.where(records.c.ts >= since)
        if until is not None:
            query = query.where(records.c.ts < until)
        with engine.connect() as conn:
            page = conn.execute(query.order_by(records.c.seq).limit(_PAGE)).mappings().all()
        if not page:
            return
        yield [dict(row) for row in page]
        after = int(page[-1]["seq"])


def _excluded(row: Mapping[str, Any], registered: set[str], live: set[str]) -> str | None:
    """Why a usage record is not exported (the first reason that applies), or None.
    ``live``: the key ids in the ring (a record keyed by a retired key can no longer be tied
    to its subject, so a revocation could not reach it)."""
    token = row["subject_token"]
    flags = set(str(row["flags"] or "").split(","))
    content = json.loads(row["content"]) if row["content"] else {}
    illegal = (
        bool(flags & {"content_flagged", "content_blocked"})
        or content.get("action", "allow") != "allow"
        or row["record_id"] in registered
    )
    reasons = (
        ("erased", row["erased_at"] is not None),
        ("restricted", row["restricted_until"] is not None),
        ("illegal_content", illegal),
        ("no_consent", row["training"] is not True),
        ("key_retired", bool(token) and str(token).split(":")[0] not in live),
        ("consent_revoked", row["training_revoked_at"] is not None),
        ("blocked", row["outcome"] == "blocked"),
        ("no_text", not row["text"]),
    )
    return next((name for name, applies in reasons if applies), None)


def export_training(
    privlog: Privlog,
    engine: Engine,
    out: str | os.PathLike[str],
    *,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """Write the training export to ``out`` and its manifest beside it; return the
    manifest. The file appears whole or not at all."""
    from privlog.store.chain import Signer
    from privlog.store.chainstore import ChainStore

    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give the path of the file to write")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the directory {out.parent} does not exist")
    low, high = _period(since, until)
    tally = _Tally()
    live = {key.kid for key in privlog.keyring}
    with engine.connect() as conn:
        registered = {
            str(r)
            for r in conn.execute(
                select(flagged.c.record_id).where(flagged.c.record_id.is_not(None))
            ).scalars()
        }
    temps: list[Path] = []
    try:
        data = _temp(out, temps)
        with data.open("wb") as fh:
            for page in _pages(engine, low, high):
                batch: list[dict[str, str]] = []
                for row in page:
                    reason = _excluded(row, registered, live)
                    if reason is not None:
                        tally.excluded[reason] += 1
                        continue
                    tally.note(row)
                    batch.append(json.loads(row["text"]))
                _write(privlog, batch, fh, tally)
            fh.flush()
            os.fsync(fh.fileno())
        with engine.connect() as conn:
            counts = consent.counts(conn)
        manifest = _manifest(privlog, out.name, (low, high), tally, counts)
        store = ChainStore(engine, Signer.for_ring(privlog.keyring))
        manifest["chain_seq"] = store.append([_entry(manifest)])
        described = _temp(manifest_path(out), temps)
        with described.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # Only now, with both whole on disk and the export chained, do they replace what
        # was there: a failure before this point leaves an earlier export and its manifest
        # as they were.
        os.replace(data, out)
        os.replace(described, manifest_path(out))
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return manifest


def _temp(target: Path, temps: list[Path]) -> Path:
    """A new private file beside ``target`` (same file system, so the rename is atomic)."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    temps.append(Path(name))
    return temps[-1]


@dataclass
class _Tally:
    excluded: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    changed: int = 0  # records the re-scan changed
    replacements: int = 0
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    times: list[str] = field(default_factory=list)
    versions: dict[str, set[str]] = field(
        default_factory=lambda: {"detector": set(), "policy": set(), "content_rules": set()}
    )

    def note(self, row: Mapping[str, Any]) -> None:
        """An exported record's time and versions."""
        self.times.append(str(row["ts"]))
        self.versions["detector"].add(str(row["detector_version"]))
        self.versions["policy"].add(str(row["policy_version"]))
        content = json.loads(row["content"]) if row["content"] else {}
        if content.get("ruleset_version"):
            self.versions["content_rules"].add(str(content["ruleset_version"]))


def _manifest(
    privlog: Privlog,
    name: str,
    period: tuple[str | None, str | None],
    tally: _Tally,
    counts: Mapping[str, int],
) -> dict[str, Any]:
    rules = privlog.content_rules
    return {
        "format": FORMAT,
        "created_at": now_iso(),
        "privlog_version": __version__,
        "file": name,
        "sha256": tally.digest.hexdigest(),
        "bytes": tally.size,
        "period": {
            "since": period[0],
            "until": period[1],
            "first_record": min(tally.times, default=None),
            "last_record": max(tally.times, default=None),
        },
        "records": tally.lines,
        "excluded": dict(sorted(tally.excluded.items())),
        "rescan": {
            "detector_version": privlog.pipeline.detector.version,
            "records_changed": tally.changed,
            "replacements": tally.replacements,
        },
        "versions": {
            **{kind: sorted(found) for kind, found in tally.versions.items()},
            "content_rules_now": None if rules is None else rules.ruleset.version,
        },
        "consent": dict(counts),
    }


def _write(privlog: Privlog, batch: list[dict[str, str]], fh: BinaryIO, tally: _Tally) -> None:
    """Re-scan one batch of texts and write their lines."""
    if not batch:
        return
    rescanned = privlog.pipeline.rescan_fields(batch)
    for fields, _ in rescanned:
        line = (json.dumps({"text": fields}, ensure_ascii=False, sort_keys=True) + "\n").encode()
        fh.write(line)
        tally.digest.update(line)
        tally.size += len(line)
    tally.lines += len(batch)
    tally.changed += sum(1 for _, n in rescanned if n)
    tally.replacements += sum(n for _, n in rescanned)


def _entry(manifest: Mapping[str, Any]) -> dict[str, Any]:
    details = {
        "type": "training_export",
        "sha256": manifest["sha256"],
        "records": manifest["records"],
        "excluded": manifest["excluded"],
        "period": manifest["period"],
        "consent": manifest["consent"],
    }
    return {
        "kind": "request",
        "ts": manifest["created_at"],
        "route": "privlog:training_export",
        "details": json.dumps(details, sort_keys=True),
    }
