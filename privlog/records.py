"""The usage record: the only thing privlog stores about a request.

A record is built from an explicit allow-list of fields. There is no free-form field, no
"extra" dict and no way to attach headers, cookies, a raw body or a full IP address: a value
that is not one of the fields below cannot reach the database. The scrubbed text is present
only when the policy says ``store_text = "scrubbed"``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = [
    "FLAGS",
    "OUTCOMES",
    "RECORD_FIELDS",
    "UsageRecord",
    "truncate_ip",
]

Outcome = Literal["logged", "forwarded", "blocked"]
OUTCOMES: tuple[Outcome, ...] = ("logged", "forwarded", "blocked")
FLAGS = frozenset(
    {
        "truncated",
        "unparseable",
        "detector_error",
        "detector_timeout",
        "aborted",
        "partial",
        "content_flagged",
        "content_blocked",
        "identity_refused",
    }
)
_MAX_ROUTE = 512
_MAX_SHORT = 128


def truncate_ip(address: str | None) -> str | None:
    """The client's network, never its address: IPv4 to /24, IPv6 to /48. ``None`` if the
    value is not an IP address (it is dropped, not stored as given)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _short(value: str | None, name: str, limit: int = _MAX_SHORT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"UsageRecord.{name} must be a string")
    return value[:limit]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One request's compliant usage record. Every field is on the allow-list."""

    ts: dt.datetime
    route: str
    input_chars: int
    entity_counts: Mapping[str, int]
    outcome: Outcome
    policy_version: str
    detector_version: str
    legal_basis: str
    retention_class: str
    expires_at: dt.datetime
    text: Mapping[str, str] | None = None
    tenant: str | None = None
    method: str | None = None
    status: int | None = None
    service: str | None = None
    subject_token: str | None = None
    session_token: str | None = None
    client_net: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    rescan_hits: int = 0
    # Outbound calls made while serving the request: destination, action, counts by type.
    egress: tuple[Mapping[str, Any], ...] = ()
    # Random, so the id given to the client (X-Privlog-Record) reveals nothing about order.
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The content-rule decision on the input: action, rule ids, categories, rule-set
    # version (never the matched text).
    content: Mapping[str, Any] | None = None
    # Real-identity verification as the app's identify() hook reported it (None: the hook
    # gave no verification status): whether, and the method's name. Never the evidence.
    verified: bool | None = None
    verification_method: str | None = None
    # Whether the subject had consented to training use when the record was written (set
    # by the store, in the transaction that appends it; see privlog.store.consent).
    training: bool | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        unknown = set(self.flags) - FLAGS
        if unknown:
            raise ValueError(f"unknown record flags {sorted(unknown)}; allowed: {sorted(FLAGS)}")
        if self.ts.tzinfo is None or self.expires_at.tzinfo is None:
            raise ValueError("record times must be timezone-aware (UTC)")
        if self.client_net is not None and "/" not in self.client_net:
            raise ValueError("client_net must be a truncated network (use truncate_ip)")
        object.__setattr__(self, "route", self.route[:_MAX_ROUTE])
        for name in ("tenant", "method", "service", "legal_basis", "retention_class"):
            object.__setattr__(self, name, _short(getattr(self, name), name))

    def __repr__(self) -> str:
        # The scrubbed text is stored, but it has no business in logs or tracebacks.
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "text"
        )
        return f"UsageRecord({shown}, text=<{'set' if self.text is not None else 'none'}>)"

    def payload(self) -> dict[str, Any]:
        """The stored columns of this record, as plain JSON-compatible values."""
        return {
            "ts": _iso(self.ts),
            "tenant": self.tenant,
            "route": self.route,
            "method": self.method,
            "status": self.status,
            "service": self.service,
            "subject_token": self.subject_token,
            "session_token": self.session_token,
            "client_net": self.client_net,
            "input_chars": self.input_chars,
            "entity_counts": json.dumps(dict(sorted(self.entity_counts.items()))),
            "text": None
            if self.text is None
            else json.dumps(dict(self.text), ensure_ascii=False, sort_keys=True),
            "outcome": self.outcome,
            "flags": ",".join(sorted(self.flags)),
            "policy_version": self.policy_version,
            "detector_version": self.detector_version,
            "legal_basis": self.legal_basis,
            "retention_class": self.retention_class,
            "expires_at": _iso(self.expires_at),
            "rescan_hits": self.rescan_hits,
            "record_id": self.record_id,
            "egress": json.dumps(list(self.egress), sort_keys=True) if self.egress else None,
            "content": None
            if self.content is None
            else json.dumps(dict(self.content), ensure_ascii=False, sort_keys=True),
            "verified": self.verified,
            "verification_method": self.verification_method,
            "training": self.training,
        }


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(UsageRecord))


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
