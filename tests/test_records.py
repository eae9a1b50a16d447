"""The usage record's allow-list (privlog.records)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from privlog.records import RECORD_FIELDS, UsageRecord, truncate_ip
from privlog.store.chain import PAYLOAD_COLUMNS

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def _record(**overrides: object) -> UsageRecord:
    base: dict[str, object] = {
        "ts": NOW,
        "route": "/v1/chat",
        "input_chars": 12,
        "entity_counts": {"PERSON": 1},
        "outcome": "logged",
        "policy_version": "p",
        "detector_version": "d",
        "legal_basis": "legal_obligation",
        "retention_class": "usage",
        "expires_at": NOW + dt.timedelta(days=180),
    }
    base.update(overrides)
    return UsageRecord(**base)  # type: ignore[arg-type]


def test_only_allow_listed_fields_exist() -> None:
    """The record has exactly the allow-listed fields; anything else cannot be passed in."""
    names = {f.name for f in dataclasses.fields(UsageRecord)}
    assert names == set(RECORD_FIELDS)
    assert set(RECORD_FIELDS) <= set(PAYLOAD_COLUMNS)
    for forbidden in ("headers", "cookies", "body", "ip", "user_id", "extra"):
        with pytest.raises(TypeError):
            _record(**{forbidden: "x"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        _record().text = {"prompt": "raw"}  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("not an ip", None),
        ("", None),
        (None, None),
    ],
)
def test_ip_addresses_are_truncated(raw: str | None, stored: str | None) -> None:
    """Client addresses are kept as /24 (IPv4) or /48 (IPv6) networks, never as given."""
    assert truncate_ip(raw) == stored


def test_validation() -> None:
    """Unknown outcomes or flags, naive times and untruncated addresses are refused."""
    with pytest.raises(ValueError, match="outcome"):
        _record(outcome="stored")
    with pytest.raises(ValueError, match="flags"):
        _record(flags=frozenset({"raw_body"}))
    with pytest.raises(ValueError, match="timezone"):
        _record(ts=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="truncate_ip"):
        _record(client_net="203.0.113.77")


def test_repr_hides_the_text_and_payload_is_plain() -> None:
    """repr never shows the (scrubbed) text; payload() holds JSON-ready values only."""
    record = _record(text={"prompt": "hello <PERSON_1> canary-text"})
    assert "canary-text" not in repr(record)
    payload = record.payload()
    assert set(payload) == set(RECORD_FIELDS)
    assert payload["text"] == '{"prompt": "hello <PERSON_1> canary-text"}'
    assert payload["ts"] == "2026-11-28T00:00:00.000000+00:00"
    assert all(isinstance(v, str | int | type(None)) for v in payload.values())
