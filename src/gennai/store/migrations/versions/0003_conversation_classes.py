"""The highest class each conversation has reached (it never goes down).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_classes",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(128), primary_key=True),
        sa.Column("max_class", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conversation_classes")
