"""Real-identity verification and training consent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privlog_records") as batch:
        batch.add_column(sa.Column("verified", sa.Boolean))
        batch.add_column(sa.Column("verification_method", sa.String(32)))
        batch.add_column(sa.Column("training", sa.Boolean))
        batch.add_column(sa.Column("training_revoked_at", sa.String(32)))
        batch.create_index("ix_privlog_records_training_revoked_at", ["training_revoked_at"])
    op.create_table(
        "privlog_consent",
        sa.Column("id", sa.String(32), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("subject_ref", sa.String(32), nullable=False),
        sa.Column("subject_token", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
    )
    for column in ("subject_ref", "subject_token", "at"):
        op.create_index(f"ix_privlog_consent_{column}", "privlog_consent", [column])


def downgrade() -> None:
    for column in ("subject_ref", "subject_token", "at"):
        op.drop_index(f"ix_privlog_consent_{column}", "privlog_consent")
    op.drop_table("privlog_consent")
    with op.batch_alter_table("privlog_records") as batch:
        batch.drop_index("ix_privlog_records_training_revoked_at")
        batch.drop_column("training_revoked_at")
        batch.drop_column("training")
        batch.drop_column("verification_method")
        batch.drop_column("verified")
