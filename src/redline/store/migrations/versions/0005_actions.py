"""Actions: hosting services, referrals and their liveness checks, removal orders.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "hosting_services",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("domains", JSON, nullable=False),
        sa.Column("contact_channel", sa.String(20), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hosting_services"),
        sa.UniqueConstraint("name", name="uq_hosting_services_name"),
    )
    op.create_table(
        "referrals",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("service_id", ID),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40)),
        sa.Column("reason", sa.Text()),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("removed_at", UTCDateTime()),
        sa.Column("rejected_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_referrals_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hosting_services.id"],
            name="fk_referrals_service_id_hosting_services",
        ),
        sa.UniqueConstraint("case_id", "url", name="uq_referrals_case_id_url"),
    )
    op.create_index("ix_referrals_status", "referrals", ["status"])
    op.create_table(
        "url_checks",
        sa.Column("id", ID, nullable=False),
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("final_url", sa.Text()),
        sa.Column("content_sha256", sa.String(64)),
        sa.Column("error", sa.Text()),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_url_checks"),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name="fk_url_checks_referral_id_referrals",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_url_checks_referral", "url_checks", ["referral_id", "checked_at"])
    op.create_table(
        "removal_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("authority", sa.String(300), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("authority_contact", sa.Text()),
        sa.Column("content_type", sa.String(20)),
        sa.Column("redress", sa.Text()),
        sa.Column("signed_by", sa.Text()),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("confidential_reason", sa.Text()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_removal_orders"),
        sa.UniqueConstraint("authority", "reference", name="uq_removal_orders_authority_reference"),
    )
    op.create_table(
        "removal_order_urls",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("action", sa.String(20)),
        sa.Column("acted_at", UTCDateTime()),
        sa.Column("not_executed_reason", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_removal_order_urls"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["removal_orders.id"],
            name="fk_removal_order_urls_order_id_removal_orders",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_removal_order_urls_item_id_items"
        ),
        sa.UniqueConstraint("order_id", "url", name="uq_removal_order_urls_order_id_url"),
    )
    op.create_table(
        "preservations",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("order_id", ID),
        sa.Column("removed_at", UTCDateTime(), nullable=False),
        sa.Column("keep_until", UTCDateTime(), nullable=False),
        sa.Column("hold_until", UTCDateTime()),
        sa.Column("hold_reason", sa.Text()),
        sa.Column("manifest", JSON, nullable=False),
        sa.Column("purged_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_preservations"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_preservations_item_id_items"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["removal_orders.id"], name="fk_preservations_order_id_removal_orders"
        ),
        sa.UniqueConstraint("item_id", name="uq_preservations_item_id"),
    )
    op.create_table(
        "complaints",
        sa.Column("id", ID, nullable=False),
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text()),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("outcome_reason", sa.Text()),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_complaints_decision_id_decisions"
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_complaints_item_id_items"),
    )
    op.create_index("ix_complaints_status_due", "complaints", ["status", "due_at"])
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("visibility", sa.String(10), nullable=False, server_default="visible")
        )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("visibility")
    op.drop_index("ix_complaints_status_due", table_name="complaints")
    op.drop_table("complaints")
    op.drop_table("preservations")
    op.drop_table("removal_order_urls")
    op.drop_table("removal_orders")
    op.drop_index("ix_url_checks_referral", table_name="url_checks")
    op.drop_table("url_checks")
    op.drop_index("ix_referrals_status", table_name="referrals")
    op.drop_table("referrals")
    op.drop_table("hosting_services")
