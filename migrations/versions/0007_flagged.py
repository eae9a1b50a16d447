"""The flagged-content register.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEXED = (
    "discovered_at",
    "tenant",
    "category",
    "record_id",
    "fingerprint",
    "related_to",
    "remediation_due",
    "status",
)


def upgrade() -> None:
    op.create_table(
        "privlog_flagged",
        sa.Column("id", sa.String(32), primary_key=True, autoincrement=False),
        sa.Column("discovered_at", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(128)),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("ruleset_version", sa.String(64)),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("record_id", sa.String(32)),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text),
        sa.Column("shingles", sa.Integer),
        sa.Column("excerpt", sa.Text),
        sa.Column("related_to", sa.String(32)),
        sa.Column("similarity", sa.Float),
        sa.Column("remediation_due", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("remediated_at", sa.String(32)),
        sa.Column("remediation_note", sa.Text),
    )
    for column in _INDEXED:
        op.create_index(f"ix_privlog_flagged_{column}", "privlog_flagged", [column])


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(f"ix_privlog_flagged_{column}", "privlog_flagged")
    op.drop_table("privlog_flagged")
