"""The evidence report: what privlog is configured to do, what it did over a period, and
whether the record of it is intact, mapped to the clauses each control serves.

Built from the read-only connection (like the auditor API) and the policy in force;
rendered as JSON for machines and as one self-contained HTML page (inline SVG charts, no
scripts, no external assets) for people.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, inspect, select

from privlog._version import __version__
from privlog.audit import queries
from privlog.audit.accesslog import verify_log
from privlog.config import Settings
from privlog.egress import EgressPolicy
from privlog.keys import KeyRing
from privlog.store import consent, reader, register, schema
from privlog.store.schema import now_iso, records

__all__ = ["CONTROLS", "build_report", "render_html"]

# Each control, the evidence in this report that shows it working, and the clause it serves.
CONTROLS: tuple[tuple[str, str, str], ...] = (
    (
        "Raw input is never stored: identifiers are replaced before the write and the text "
        "is re-scanned on the way in",
        "counts.entities, counts.rescan_hits, configuration.store_text",
        "Interim Measures Art. 11 (protect input and usage records; do not retain input "
        "that identifies users)",
    ),
    (
        "User input reaches third parties only through the egress guard, scrubbed or refused",
        "configuration.egress, counts.egress",
        "Interim Measures Art. 11 (do not provide users' input to others)",
    ),
    (
        "Illegal content rules on inputs and outputs, with a register of flagged content "
        "and remediation deadlines",
        "configuration.content_rules, counts.ruleset_versions, counts.flagged_content",
        "Interim Measures Art. 14 (stop, remedy and report illegal content)",
    ),
    (
        "Real-identity verification required where the policy says, before the app runs; "
        "records keep only whether and how a user was verified, never the evidence",
        "configuration.identity, counts.identity",
        "Cybersecurity Law Art. 24 and the draft Interim Measures (April 2023) Art. 9 "
        "(require users to provide real identity information)",
    ),
    (
        "Training use of user input only with the user's consent, revocable; exports of "
        "scrubbed, re-scanned text with a manifest",
        "counts.training_consent, counts.subject_requests",
        "Interim Measures Art. 7 (lawful sources of training data; consent for personal "
        "information); PIPL Art. 13-15 (consent and its withdrawal)",
    ),
    (
        "Retention limits, purge, users' erasure requests and key retirement",
        "configuration.retention_classes, counts.erased, counts.subject_requests, keys.retired",
        "PIPL Art. 47 (deletion when the purpose is met, the period expires or the user asks)",
    ),
    (
        "Keyed pseudonyms, a key file readable by its owner only, a read-only auditor "
        "connection and an access log",
        "keys, access_log",
        "PIPL Art. 51 (technical security measures: de-identification, access control)",
    ),
    (
        "Pseudonymised records cannot be linked to a person without the key; retired keys "
        "make that permanent",
        "keys.retired",
        "PIPL Art. 73 (de-identification and anonymisation)",
    ),
    (
        "Tamper-evident usage and security logs, kept for at least their legal minimum",
        "chain, configuration.retention_classes",
        "Cybersecurity Law Art. 21 (keep network logs for no less than six months)",
    ),
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _configuration(settings: Settings) -> dict[str, Any]:
    policy = settings.policy
    detection = policy.detection
    egress = EgressPolicy.from_mapping(policy.egress)
    classes = {c.name: c for c in policy.retention}
    store_class = policy.retention_class()
    classes.setdefault(store_class.name, store_class)
    return {
        "policy_version": policy.version,
        "store_text": policy.store_text,
        "detection": {
            "model": detection.model,
            "score_threshold": detection.score_threshold,
            "entities": list(detection.entities),
            "allow_terms": len(detection.allow),
            "allow_patterns": len(detection.allow_patterns),
        },
        "operators": {"default": policy.default_operator, **dict(policy.operators)},
        "egress": {
            "first_party": list(egress.first_party),
            "processors": [
                {
                    "name": p.name,
                    "hosts": list(p.hosts),
                    "action": p.action,
                    "restore": p.restore,
                    "region": p.region,
                    "agreement": p.agreement,
                }
                for p in egress.processors
            ],
        },
        "retention_classes": [
            {"name": c.name, "min_days": c.min_days, "max_days": c.max_days}
            for c in classes.values()
        ],
        "store": {
            "retention_class": policy.store.retention_class,
            "purge_interval": policy.store.purge_interval,
        },
        "content_rules": _content_status(policy.content),
        "identity": {
            "require_verified_identity": list(policy.identity.require_verified_identity),
            "accepted_methods": list(policy.identity.accepted_methods),
        },
    }


def _content_status(content: Any) -> dict[str, Any] | None:
    if content.rules_file is None:
        return None
    from privlog.errors import ConfigError
    from privlog.safety import ContentRules

    try:
        rules = ContentRules(content.rules_file, max_age_days=content.max_age_days)
    except ConfigError as exc:
        return {"error": str(exc)}
    return {"file": str(content.rules_file), **rules.status()}


def _ledger(conn: Connection, where: queries.RecordFilter) -> dict[str, Any]:
    """Requests and erasures chained in the period."""
    requests: Counter[str] = Counter()
    erased = 0
    query = where.apply(select(records.c.kind, records.c.details)).where(
        records.c.kind.in_(("request", "erasure"))
    )
    for kind, raw in conn.execute(query):
        details = json.loads(raw) if isinstance(raw, str) else {}
        if kind == "request":
            requests[str(details.get("type"))] += 1
        else:
            erased += int(details.get("count", 0))
    return {"subject_requests": dict(sorted(requests.items())), "erased": erased}


_SEVERITY = {"allow": 0, "flag": 1, "block": 2}


def _decided(raw: Any) -> dict[str, str]:
    """The rule-set versions one record's ``content`` column names, each with the
    strictest action taken under it (input at the top level, the reply under ``output``)."""
    try:
        content = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    if not isinstance(content, dict):
        return {}
    found: dict[str, str] = {}

    def add(version: Any, action: Any) -> None:
        if version is None or action not in _SEVERITY:
            return
        key = str(version)
        if _SEVERITY[str(action)] >= _SEVERITY.get(found.get(key, "allow"), 0):
            found[key] = str(action)

    output = content.get("output")
    if isinstance(output, dict):
        add(output.get("ruleset_version"), output.get("action"))
    if "rules" in content:  # the input was checked
        # The top-level action is the stricter of input and reply: the input's own when it
        # matched a rule (at most: exact unless a reload split input and reply), "allow"
        # when it matched none.
        add(content.get("ruleset_version"), content.get("action") if content["rules"] else "allow")
    return found


def _ruleset_versions(
    conn: Connection, where: queries.RecordFilter, in_force: str | None
) -> list[dict[str, Any]]:
    """The content rule-set versions the period's usage records were checked under: how
    many records each decided, and how many of those it flagged or blocked."""
    tally: dict[str, Counter[str]] = {}
    query = where.apply(select(records.c.content)).where(
        records.c.kind == "usage", records.c.content.is_not(None)
    )
    for (raw,) in conn.execution_options(yield_per=2_000).execute(query):
        for version, action in _decided(raw).items():
            tally.setdefault(version, Counter())[action] += 1
    return [
        {
            "version": version,
            "records": sum(counts.values()),
            "flagged": counts["flag"],
            "blocked": counts["block"],
            "in_force": version == in_force,
        }
        for version, counts in sorted(tally.items())
    ]


def _flagged(conn: Connection, since: str | None, until: str | None) -> dict[str, Any] | None:
    """The register's counts for entries discovered in the period (overdue as of now);
    None for a database from before the register existed."""
    if not queries.register_present(conn):
        return None
    return register.counts(conn, register.FlaggedFilter(since=since, until=until), now_iso())


def _identity(conn: Connection, where: queries.RecordFilter) -> dict[str, Any]:
    """The period's usage records by verification status and method, and how many the
    verified-identity gate refused."""
    usage = queries.RecordFilter(**{**queries.filter_fields(where), "kind": "usage"})
    found: Counter[str] = Counter()
    refused = 0
    query = usage.apply(select(records.c.verified, records.c.verification_method, records.c.flags))
    for verified, method, flags in conn.execution_options(yield_per=2_000).execute(query):
        if verified is None:
            found["not reported"] += 1
        elif verified:
            found[f"verified ({method or 'method not given'})"] += 1
        else:
            found["unverified"] += 1
        refused += "identity_refused" in str(flags or "").split(",")
    return {"records": dict(sorted(found.items())), "refused": refused}


def _consent(conn: Connection, where: queries.RecordFilter) -> dict[str, Any] | None:
    """Training consent now (subjects, grants, revokes, records flagged and marked) and the
    period's records flagged for training; None before migration 0008."""
    if not inspect(conn).has_table(schema.consent.name):
        return None
    usage = queries.RecordFilter(**{**queries.filter_fields(where), "kind": "usage"})
    in_period = conn.execute(
        usage.apply(select(func.count()).select_from(records)).where(records.c.training.is_(True))
    ).scalar_one()
    return {**consent.counts(conn), "period_records_with_consent": int(in_period)}


def _keys(settings: Settings) -> dict[str, Any]:
    if not settings.key_file.exists():
        return {"key_file": "not available to this report", "live": [], "retired": []}
    ring = KeyRing.load(settings.key_file, create=False)
    return {
        "live": [{"kid": k.kid, "created": k.created} for k in ring],
        "retired": [
            {"kid": r.kid, "created": r.created, "retired": r.retired} for r in ring.retired
        ],
        "checkpoint_public_keys": ring.checkpoint_public_keys(),
    }


def build_report(
    conn: Connection, settings: Settings, *, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """The evidence report over ``[since, until)`` (ISO-8601 UTC; default: everything)."""
    where = queries.RecordFilter(since=since, until=until)
    keys = _keys(settings)
    trusted = keys.get("checkpoint_public_keys") or None
    chain = reader.verify_chain(conn, trusted)
    stats = queries.daily_stats(conn, where)
    configuration = _configuration(settings)
    in_force = (configuration["content_rules"] or {}).get("version")
    return {
        "generated_at": _now(),
        "privlog_version": __version__,
        "period": {"since": since, "until": until},
        "configuration": configuration,
        "counts": {
            **stats["totals"],
            **_ledger(conn, where),
            "ruleset_versions": _ruleset_versions(conn, where, in_force),
            "flagged_content": _flagged(conn, since, until),
            "identity": _identity(conn, where),
            "training_consent": _consent(conn, where),
        },
        "days": stats["days"],
        "chain": {
            **chain.as_dict(),
            "checked_against": "key file" if trusted else "keys stored with checkpoints",
            "last_checkpoint": queries.last_checkpoint(conn),
        },
        "access_log": verify_log(conn),
        "keys": keys,
        "controls": [{"control": c, "evidence": e, "clause": clause} for c, e, clause in CONTROLS],
    }


# --- HTML ------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#eef1f5}.ok{color:#176b2c}.bad{color:#a11}
svg text{font:11px system-ui,sans-serif;fill:#1d2733}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _bars(title: str, items: list[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG (no script)."""
    if not items:
        return f"<p><em>{_e(title)}: no data</em></p>"
    top = max(v for _, v in items) or 1
    row = 18
    height = row * len(items) + 10
    bars = []
    for i, (label, value) in enumerate(items):
        width = int(380 * value / top)
        y = 5 + i * row
        bars.append(
            f'<text x="0" y="{y + 12}">{_e(label)}</text>'
            f'<rect x="170" y="{y + 2}" width="{width}" height="12" fill="#3b6ea5"/>'
            f'<text x="{175 + width}" y="{y + 12}">{value}</text>'
        )
    return (
        f"<figure><figcaption>{_e(title)}</figcaption>"
        f'<svg role="img" aria-label="{_e(title)}" width="600" height="{height}">'
        f"{''.join(bars)}</svg></figure>"
    )


@dataclass(frozen=True, slots=True)
class _Mark:
    """A table cell with a class (``ok``, ``bad``): the words say it too, not colour alone."""

    value: object
    css: str


def _td(cell: object) -> str:
    if isinstance(cell, _Mark):
        return f'<td class="{cell.css}">{_e(cell.value)}</td>'
    return f"<td>{_e(cell)}</td>"


def _table(rows: list[tuple[object, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_td(c) for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _flagged_rows(flagged: dict[str, Any] | None, configured: bool) -> list[tuple[object, ...]]:
    if flagged is None:
        return [("flagged content", "no register in this database (before migration 0007)")]
    total = flagged["total"]
    note = "" if configured or total else " (content rules not configured)"
    overdue = flagged["overdue"]
    return [
        ("flagged content: register entries", f"{total}{note}"),
        ("flagged content: open", flagged["open"]),
        (
            "flagged content: overdue (open past the remediation deadline)",
            _Mark(f"{overdue} OVERDUE", "bad") if overdue else _Mark(0, "ok"),
        ),
        ("flagged content: remediated", flagged["remediated"]),
        ("flagged content: regenerated copies caught", flagged["regenerated"]),
        (
            "flagged content: inputs / outputs",
            f"{flagged['by_direction'].get('input', 0)} / "
            f"{flagged['by_direction'].get('output', 0)}",
        ),
    ]


def _versions_line(versions: list[dict[str, Any]]) -> str:
    if not versions:
        return "none (no record in the period was checked against content rules)"
    return "; ".join(
        f"{v['version']}{' (in force)' if v['in_force'] else ''}: {v['records']} records, "
        f"{v['flagged']} flagged, {v['blocked']} blocked"
        for v in versions
    )


def _content_line(status: dict[str, Any] | None) -> str:
    if status is None:
        return "not configured"
    if "error" in status:
        return f"unreadable: {status['error']}"
    stale = " (STALE)" if status["stale"] else ""
    rules = f"{status['rules']} rules, file {status['file_modified']}"
    return f"version {status['version']}, {rules}{stale}"


def _identity_rows(identity: dict[str, Any]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        (f"records, identity {status}", n) for status, n in identity["records"].items()
    ]
    rows.append(("requests refused for want of a verified identity", identity["refused"]))
    return rows


def _consent_rows(consent: dict[str, Any] | None) -> list[tuple[object, ...]]:
    if consent is None:
        return [("training consent", "no consent table in this database (before 0008)")]
    return [
        ("users consenting to training use now", consent["subjects_consenting"]),
        ("users who revoked training consent", consent["subjects_revoked"]),
        ("training consent grants / revocations", f"{consent['grants']} / {consent['revokes']}"),
        ("records in the period flagged for training", consent["period_records_with_consent"]),
        ("records taken out of training by a revocation", consent["records_consent_revoked"]),
    ]


def _identity_line(identity: dict[str, Any]) -> str:
    routes = identity["require_verified_identity"]
    if not routes:
        return "no route (off)"
    methods = identity["accepted_methods"]
    return f"{', '.join(routes)}; methods accepted: {', '.join(methods) if methods else 'any'}"


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page: no script, no external asset, prints and works offline."""
    counts, chain, config = report["counts"], report["chain"], report["configuration"]
    status = (
        f'<p class="ok">Chain intact: {chain["records"]} entries, {chain["checkpoints"]} signed '
        f"checkpoints verified against {_e(chain['checked_against'])}.</p>"
        if chain["ok"]
        else f'<p class="bad">Chain BROKEN at entry {_e(chain["problem"]["seq"])}: '
        f"{_e(chain['problem']['reason'])}</p>"
    )
    log = report["access_log"]
    flagged = counts["flagged_content"]
    late = (
        f'<p class="bad">{flagged["overdue"]} flagged-content entries are open past their '
        "remediation deadline.</p>"
        if flagged and flagged["overdue"]
        else ""
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>privlog evidence report</title><style>{_STYLE}</style></head><body>",
        "<h1>privlog evidence report</h1>",
        f"<p>Generated {_e(report['generated_at'])} by privlog {_e(report['privlog_version'])};"
        f" period {_e(report['period']['since'] or 'start')} to "
        f"{_e(report['period']['until'] or 'now')}.</p>",
        "<h2>Integrity</h2>",
        status,
        f"<p>Auditor access log: {'intact' if log['ok'] else 'BROKEN'}, "
        f"{log['entries']} entries.</p>",
        "<h2>Counts</h2>",
        _table(
            [
                ("usage records", counts["records"]),
                ("re-scan hits", counts["rescan_hits"]),
                ("records dropped", counts["drops"]),
                ("records erased", counts["erased"]),
                (
                    "users' requests",
                    ", ".join(f"{k} {v}" for k, v in counts["subject_requests"].items()) or "0",
                ),
                *_flagged_rows(flagged, config["content_rules"] is not None),
                *_identity_rows(counts["identity"]),
                *_consent_rows(counts["training_consent"]),
            ],
            ("what", "count"),
        ),
        late,
        _bars("Records per day", [(d["day"], d["records"]) for d in report["days"]]),
        _bars("Entity types replaced", sorted(counts["entities"].items(), key=lambda kv: -kv[1])),
        _bars("Outcomes", sorted(counts["outcomes"].items())),
        _bars("Egress decisions", sorted(counts["egress"].items())),
        _bars(
            "Flagged content by category",
            sorted((flagged or {}).get("by_category", {}).items(), key=lambda kv: (-kv[1], kv[0])),
        ),
        "<h2>Configuration in force</h2>",
        _table(
            [
                ("policy version", config["policy_version"]),
                ("stored text", config["store_text"]),
                ("detection model", config["detection"]["model"] or "rules only"),
                ("entity types", ", ".join(config["detection"]["entities"])),
                ("first-party hosts", ", ".join(config["egress"]["first_party"]) or "none"),
                (
                    "processors",
                    "; ".join(
                        f"{p['name']} ({', '.join(p['hosts'])}: {p['action']})"
                        for p in config["egress"]["processors"]
                    )
                    or "none",
                ),
                (
                    "retention classes",
                    "; ".join(
                        f"{c['name']} {c['min_days']}-{c['max_days']} days"
                        for c in config["retention_classes"]
                    ),
                ),
                ("content rules", _content_line(config["content_rules"])),
                ("verified identity required on", _identity_line(config["identity"])),
                (
                    "rule-set versions in the period's records",
                    _versions_line(counts["ruleset_versions"]),
                ),
            ],
            ("setting", "value"),
        ),
        "<h2>Key epochs</h2>",
        _table(
            [(k["kid"], k["created"], "live") for k in report["keys"]["live"]]
            + [
                (k["kid"], k["created"], f"retired {k['retired']}")
                for k in report["keys"]["retired"]
            ],
            ("key", "created", "status"),
        ),
        "<h2>Controls and the clauses they serve</h2>",
        _table(
            [(c["control"], c["clause"], c["evidence"]) for c in report["controls"]],
            ("control", "clause", "evidence in this report"),
        ),
        "</body></html>",
    ]
    return "\n".join(parts)
