"""The tables privlog owns. Every name starts with ``privlog_``; nothing else is touched."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "GENESIS_HASH",
    "access_log",
    "audit_tokens",
    "chain_head",
    "checkpoints",
    "consent",
    "flagged",
    "metadata",
    "now_iso",
    "records",
]

GENESIS_HASH = "0" * 64


def now_iso(moment: dt.datetime | None = None) -> str:
    """``moment`` (default: now) in the stored time format (see ``records`` below)."""
    return (moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds")


metadata = MetaData()

# Times are ISO-8601 UTC strings of one fixed width: they sort as text, compare across
# databases, and hash to the same bytes after a round trip (a DateTime column would not).
records = Table(
    "privlog_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("ts", String(32), nullable=False, index=True),
    Column("tenant", String(128), index=True),
    Column("route", String(512)),
    Column("method", String(16)),
    Column("status", Integer),
    Column("service", String(128)),
    Column("subject_token", String(64), index=True),
    Column("session_token", String(64)),
    Column("client_net", String(64)),
    Column("input_chars", Integer),
    Column("entity_counts", Text),
    Column("text", Text),
    Column("outcome", String(16)),
    Column("flags", String(128)),
    Column("policy_version", String(64)),
    Column("detector_version", String(256)),
    Column("legal_basis", String(64)),
    Column("retention_class", String(64)),
    Column("expires_at", String(32), index=True),
    Column("rescan_hits", Integer),
    Column("details", Text),
    Column("record_id", String(32), index=True),
    Column("egress", Text),
    Column("content", Text),
    Column("erased_at", String(32)),
    # Set by a user's restriction request: the record is kept only until its legal floor
    # (then purged) and used for nothing else. Not part of the payload hash: the request
    # that set it is a chained entry of its own.
    Column("restricted_until", String(32), index=True),
    Column("verified", Boolean),
    Column("verification_method", String(32)),
    Column("training", Boolean),
    # Set when the subject revokes training consent: the record is never exported for
    # training again. Not part of the payload hash, like restricted_until: the revocation
    # is a chained entry of its own.
    Column("training_revoked_at", String(32), index=True),
    Column("payload_salt", String(32), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

# One row (id = 1): the chain's newest sequence number and hash. Writers lock it to append.
chain_head = Table(
    "privlog_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

checkpoints = Table(
    "privlog_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

# Auditor bearer tokens: only a SHA-256 of the random secret is kept (the secret is 256 bits
# of entropy, so no key or slow hash is needed to make the digest useless to a reader).
audit_tokens = Table(
    "privlog_audit_tokens",
    metadata,
    Column("id", String(16), primary_key=True, autoincrement=False),
    Column("name", String(128), nullable=False, index=True),
    Column("tenant", String(128)),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32)),
    Column("revoked_at", String(32)),
)

# Every auditor request, hash-chained on its own (written through a connection that may
# insert here and nowhere else).
access_log = Table(
    "privlog_access_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False, index=True),
    Column("token_id", String(16)),
    Column("token_name", String(128)),
    Column("tenant", String(128)),
    Column("method", String(16), nullable=False),
    Column("route", String(256), nullable=False),
    Column("filters", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("rows", Integer),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

# The flagged-content register: one entry per content rule that matched (or per flagged
# output regenerated), kept for review and remediation. Never the matched text: a keyed
# fingerprint, a keyed MinHash signature (outputs) and an excerpt scrubbed of personal data.
flagged = Table(
    "privlog_flagged",
    metadata,
    Column("id", String(32), primary_key=True, autoincrement=False),
    Column("discovered_at", String(32), nullable=False, index=True),
    Column("tenant", String(128), index=True),
    Column("direction", String(8), nullable=False),
    Column("category", String(128), nullable=False, index=True),
    Column("rule_id", String(64), nullable=False),
    Column("ruleset_version", String(64)),
    Column("action", String(8), nullable=False),
    Column("record_id", String(32), index=True),
    Column("key_id", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("signature", Text),
    Column("shingles", Integer),
    Column("excerpt", Text),
    Column("related_to", String(32), index=True),
    Column("similarity", Float),
    Column("remediation_due", String(32), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("remediated_at", String(32)),
    Column("remediation_note", Text),
)

# Training-use consent, per subject token: one row per token (one per live key) for each
# grant or revoke, sharing the event's id; ``subject_ref`` (random) ties one subject's
# tokens together across key versions. Never the user id.
consent = Table(
    "privlog_consent",
    metadata,
    Column("id", String(32), primary_key=True, autoincrement=False),
    Column("event_id", String(32), nullable=False),
    Column("subject_ref", String(32), nullable=False, index=True),
    Column("subject_token", String(64), nullable=False, index=True),
    Column("purpose", String(32), nullable=False),
    Column("action", String(8), nullable=False),
    Column("at", String(32), nullable=False, index=True),
    Column("source", String(128), nullable=False),
)
