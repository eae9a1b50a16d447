"""A random per-record id, returned to clients in the X-Privlog-Record header.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privlog_records") as batch:
        batch.add_column(sa.Column("record_id", sa.String(32)))
        batch.create_index("ix_privlog_records_record_id", ["record_id"])


def downgrade() -> None:
    with op.batch_alter_table("privlog_records") as batch:
        batch.drop_index("ix_privlog_records_record_id")
        batch.drop_column("record_id")
