"""The arena: blind side-by-side comparisons from real use (which two models answered and the
vote; never the question or the answers).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arena_battles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("team_id", sa.String(36), nullable=False),
        sa.Column("effective_class", sa.Integer, nullable=False),
        sa.Column("model_a", sa.String(100), nullable=False),
        sa.Column("model_b", sa.String(100), nullable=False),
        sa.Column("request_id_a", sa.String(40), nullable=False),
        sa.Column("request_id_b", sa.String(40), nullable=False),
        sa.Column("winner", sa.String(10), nullable=True),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_arena_user", "arena_battles", ["user_id", "created_at"])
    op.create_index("ix_arena_voted", "arena_battles", ["voted_at"])


def downgrade() -> None:
    op.drop_index("ix_arena_voted", table_name="arena_battles")
    op.drop_index("ix_arena_user", table_name="arena_battles")
    op.drop_table("arena_battles")
