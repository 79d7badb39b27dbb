"""Teams, memberships, roles and sign-in fields, quotas, sessions, the audit trail and
encrypted conversation content; usage records gain the team.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COMMON_TEAM_ID = "00000000-0000-0000-0000-000000000000"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch.add_column(sa.Column("roles", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("oidc_issuer", sa.String(300), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(300), nullable=True))
        batch.create_unique_constraint("uq_users_oidc", ["oidc_issuer", "oidc_subject"])
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("team_id", sa.String(36), nullable=True))
        batch.create_index("ix_usage_team_day", ["team_id", "created_at"])

    teams = op.create_table(
        "teams",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("default_class", sa.Integer, nullable=False, server_default="1"),
        sa.Column("retention_days", sa.Integer, nullable=False, server_default="365"),
        sa.Column("allowed_models", sa.JSON, nullable=True),
        sa.Column("policy", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(
        teams,
        [{"id": COMMON_TEAM_ID, "name": "common", "display_name": "共通", "default_class": 1, "retention_days": 365,
          "allowed_models": None, "policy": {}, "created_at": datetime.now(UTC)}],
    )
    op.create_table(
        "memberships",
        sa.Column("team_id", sa.String(36), sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "quotas",
        sa.Column("scope", sa.String(10), primary_key=True),
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("tokens_per_day", sa.BigInteger, nullable=True),
        sa.Column("tokens_per_month", sa.BigInteger, nullable=True),
        sa.Column("budget_yen_per_month", sa.Float, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("actor_user_id", sa.String(36), nullable=True),
        sa.Column("actor_key_id", sa.String(36), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=True),
        sa.Column("team_id", sa.String(36), nullable=True),
        sa.Column("target_type", sa.String(40), nullable=True),
        sa.Column("target_id", sa.String(200), nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_created", "audit_entries", ["created_at"])
    op.create_index("ix_audit_team", "audit_entries", ["team_id", "seq"])
    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("team_id", sa.String(36), nullable=False),
        sa.Column("data_key_id", sa.String(36), sa.ForeignKey("data_keys.id"), nullable=False),
        sa.Column("title_nonce", sa.LargeBinary, nullable=False),
        sa.Column("title_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("max_class", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversations_owner", "conversations", ["owner_id", "updated_at"])
    op.create_index("ix_conversations_expiry", "conversations", ["expires_at"])
    op.create_table(
        "conversation_messages",
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("model_id", sa.String(100), nullable=True),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("conversation_messages", "conversations", "data_keys", "audit_entries", "sessions", "quotas", "memberships", "teams"):
        op.drop_table(table)
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_index("ix_usage_team_day")
        batch.drop_column("team_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_oidc", type_="unique")
        for column in ("oidc_subject", "oidc_issuer", "last_sign_in_at", "locked_until", "failed_sign_ins",
                       "password_changed_at", "password_hash", "roles", "email"):
            batch.drop_column(column)
