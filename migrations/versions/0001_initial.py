"""Usage records, the chain head and checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "privlog_records",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(128)),
        sa.Column("route", sa.String(512)),
        sa.Column("method", sa.String(16)),
        sa.Column("status", sa.Integer()),
        sa.Column("service", sa.String(128)),
        sa.Column("subject_token", sa.String(64)),
        sa.Column("session_token", sa.String(64)),
        sa.Column("client_net", sa.String(64)),
        sa.Column("input_chars", sa.Integer()),
        sa.Column("entity_counts", sa.Text()),
        sa.Column("text", sa.Text()),
        sa.Column("outcome", sa.String(16)),
        sa.Column("flags", sa.String(128)),
        sa.Column("policy_version", sa.String(64)),
        sa.Column("detector_version", sa.String(256)),
        sa.Column("legal_basis", sa.String(64)),
        sa.Column("retention_class", sa.String(64)),
        sa.Column("expires_at", sa.String(32)),
        sa.Column("rescan_hits", sa.Integer()),
        sa.Column("details", sa.Text()),
        sa.Column("erased_at", sa.String(32)),
        sa.Column("payload_salt", sa.String(32), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    for column in ("ts", "tenant", "subject_token", "expires_at"):
        op.create_index(f"ix_privlog_records_{column}", "privlog_records", [column])
    head = op.create_table(
        "privlog_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": GENESIS_HASH}])
    op.create_table(
        "privlog_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("privlog_checkpoints")
    op.drop_table("privlog_chain_head")
    for column in ("ts", "tenant", "subject_token", "expires_at"):
        op.drop_index(f"ix_privlog_records_{column}", "privlog_records")
    op.drop_table("privlog_records")
