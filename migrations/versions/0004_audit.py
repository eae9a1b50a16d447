"""Auditor tokens (hashed) and the hash-chained auditor access log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privlog_audit_tokens",
        sa.Column("id", sa.String(16), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(128)),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32)),
        sa.Column("revoked_at", sa.String(32)),
    )
    op.create_index("ix_privlog_audit_tokens_name", "privlog_audit_tokens", ["name"])
    op.create_table(
        "privlog_access_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("token_id", sa.String(16)),
        sa.Column("token_name", sa.String(128)),
        sa.Column("tenant", sa.String(128)),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("route", sa.String(256), nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_privlog_access_log_ts", "privlog_access_log", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_privlog_access_log_ts", "privlog_access_log")
    op.drop_table("privlog_access_log")
    op.drop_index("ix_privlog_audit_tokens_name", "privlog_audit_tokens")
    op.drop_table("privlog_audit_tokens")
