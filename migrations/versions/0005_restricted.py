"""Restriction requests: records kept only until their legal floor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privlog_records") as batch:
        batch.add_column(sa.Column("restricted_until", sa.String(32)))
        batch.create_index("ix_privlog_records_restricted_until", ["restricted_until"])


def downgrade() -> None:
    with op.batch_alter_table("privlog_records") as batch:
        batch.drop_index("ix_privlog_records_restricted_until")
        batch.drop_column("restricted_until")
