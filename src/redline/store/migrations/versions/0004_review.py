"""Review console: users, sessions, API tokens, decisions, and case assignment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("always_blur", sa.Boolean(), nullable=False),
        sa.Column("break_after", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "user_sessions",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_user_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("signal", sa.String(20)))
        batch.add_column(sa.Column("category", sa.String(40)))
        batch.add_column(sa.Column("lang", sa.String(10)))
        batch.add_column(sa.Column("assignee_id", ID))
        batch.add_column(sa.Column("claimed_at", UTCDateTime()))
        batch.add_column(sa.Column("decided_at", UTCDateTime()))
        batch.create_foreign_key("fk_cases_assignee_id_users", "users", ["assignee_id"], ["id"])
        batch.create_index("ix_cases_assignee_id", ["assignee_id"])
        batch.drop_index("ix_cases_status_priority")
    # Outside the batch: SQLite's batch mode cannot recreate an index on an expression.
    op.create_index(
        "ix_cases_queue", "cases", ["status", sa.text("priority DESC"), "opened_at", "id"]
    )
    op.create_table(
        "decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40)),
        sa.Column("reason", sa.String(40)),
        sa.Column("note", sa.Text()),
        sa.Column("applied_from", ID),
        sa.Column("status_before", sa.String(20), nullable=False),
        sa.Column("status_after", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("undone_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_decisions_case_id_cases"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_decisions_user_id_users"),
        sa.ForeignKeyConstraint(
            ["applied_from"], ["cases.id"], name="fk_decisions_applied_from_cases"
        ),
    )
    op.create_index("ix_decisions_case", "decisions", ["case_id", "created_at"])
    op.create_index("ix_audit_events_actor_action_at", "audit_events", ["actor", "action", "at"])
    # An account's items in time order (the case page's "same account"); the old two-column
    # index is a prefix of it.
    op.drop_index("ix_items_source_account", table_name="items")
    op.create_index(
        "ix_items_source_account_posted", "items", ["source_id", "account", "posted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_items_source_account_posted", table_name="items")
    op.create_index("ix_items_source_account", "items", ["source_id", "account"])
    op.drop_index("ix_audit_events_actor_action_at", table_name="audit_events")
    op.drop_table("decisions")
    op.drop_index("ix_cases_queue", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.create_index("ix_cases_status_priority", ["status", "priority"])
        batch.drop_index("ix_cases_assignee_id")
        batch.drop_constraint("fk_cases_assignee_id_users", type_="foreignkey")
        for column in ("decided_at", "claimed_at", "assignee_id", "lang", "category", "signal"):
            batch.drop_column(column)
    op.drop_table("api_tokens")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_table("users")
