"""Notices to content providers, the outbox of alerts, and how long an order stays confidential.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.model.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("removal_orders") as batch:
        batch.add_column(sa.Column("confidential_until", UTCDateTime()))
    op.create_table(
        "notices",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("order_id", ID),
        sa.Column("decision_id", ID),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("lang", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("withheld_reason", sa.Text()),
        sa.Column("withheld_until", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_notices_item_id_items"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["removal_orders.id"], name="fk_notices_order_id_removal_orders"
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_notices_decision_id_decisions"
        ),
    )
    op.create_index("ix_notices_status", "notices", ["status", "id"])
    op.create_table(
        "notifications",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("failed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index(
        "ix_notifications_due", "notifications", ["sent_at", "failed_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_notices_status", table_name="notices")
    op.drop_table("notices")
    with op.batch_alter_table("removal_orders") as batch:
        batch.drop_column("confidential_until")
