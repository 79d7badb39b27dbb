"""What the policy decided, on each usage record.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("effective_class", sa.Integer, nullable=True))
        batch.add_column(sa.Column("policy_action", sa.String(20), nullable=True))
        batch.add_column(sa.Column("policy_rule", sa.String(64), nullable=True))
        batch.add_column(sa.Column("findings", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("findings")
        batch.drop_column("policy_rule")
        batch.drop_column("policy_action")
        batch.drop_column("effective_class")
