"""Helpers for store tests: building stores, payloads and writers without the detector."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from privlog.store.chain import Signer
from privlog.store.chainstore import ChainStore, now_iso
from privlog.store.database import make_engine


def signer() -> Signer:
    return Signer("k1", secrets.token_bytes(32))


def store(url: str, sign: Signer | None = None, **kwargs: Any) -> ChainStore:
    cs = ChainStore(make_engine(url), sign or signer(), auto_migrate=True, **kwargs)
    cs.ensure_ready()
    return cs


def payload(i: int, text: str | None = None) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "kind": "usage",
        "ts": now_iso(),
        "route": "/v1/chat",
        "input_chars": 10 + i,
        "entity_counts": json.dumps({"PERSON": i % 3}),
        "text": json.dumps({"prompt": text if text is not None else f"hello <PERSON_{i}>"}),
        "outcome": "logged",
        "flags": "",
        "policy_version": "test",
        "detector_version": "test",
        "legal_basis": "legal_obligation",
        "retention_class": "usage",
        "expires_at": (now + dt.timedelta(days=180)).isoformat(timespec="microseconds"),
        "rescan_hits": 0,
    }
