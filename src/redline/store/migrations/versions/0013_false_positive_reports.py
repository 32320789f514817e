"""Reviewers' false-positive reports on bank entries (one per reviewer, case and entry), and the
reason a lead gave for disabling an entry.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.model.base import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "false_positive_reports",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_false_positive_reports"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_false_positive_reports_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_false_positive_reports_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_false_positive_reports_user_id_users"
        ),
        sa.UniqueConstraint(
            "entry_id",
            "case_id",
            "user_id",
            name="uq_false_positive_reports_entry_id_case_id_user_id",
        ),
    )
    op.create_index("ix_false_positive_reports_case_id", "false_positive_reports", ["case_id"])
    with op.batch_alter_table("bank_entries") as batch:
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bank_entries") as batch:
        batch.drop_column("disabled_reason")
    op.drop_index("ix_false_positive_reports_case_id", "false_positive_reports")
    op.drop_table("false_positive_reports")
