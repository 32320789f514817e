"""Protection against bad shared hashes: negative banks and each bank's flood limit, entries
held by flood quarantine, each exchange's trust and PDQ threshold, matches vetoed or held (and
an entry's matches indexed by time, for the flood count), and the confirm/deconfirm feedback
reviewers' decisions give an exchange's entries.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.model.base import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMNs, never batch mode: on SQLite a batch copies the table and drops the old
    # one, and dropping ``banks`` would cascade to every bank entry.
    op.add_column(
        "banks", sa.Column("negative", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "banks", sa.Column("flood_items", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "banks", sa.Column("flood_minutes", sa.Integer(), nullable=False, server_default="60")
    )
    op.add_column("bank_entries", sa.Column("held_at", UTCDateTime(), nullable=True))
    op.add_column("bank_entries", sa.Column("released_at", UTCDateTime(), nullable=True))
    op.add_column(
        "exchanges", sa.Column("trusted", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("exchanges", sa.Column("pdq_threshold", sa.Integer(), nullable=True))
    op.add_column("matches", sa.Column("vetoed_by", ID, nullable=True))
    op.add_column(
        "matches", sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.drop_index("ix_matches_bank_entry", "matches")
    op.create_index("ix_matches_bank_entry", "matches", ["bank_entry_id", "created_at"])
    op.create_table(
        "entry_feedback",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("exchange_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_entry_feedback"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_entry_feedback_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name="fk_entry_feedback_exchange_id_exchanges",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_entry_feedback_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_entry_feedback_decision_id_decisions"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_entry_feedback_user_id_users"),
        sa.UniqueConstraint(
            "decision_id",
            "entry_id",
            "exchange_id",
            "user_id",
            name="uq_entry_feedback_decision_id_entry_id_exchange_id_user_id",
        ),
    )
    op.create_index("ix_entry_feedback_entry_id", "entry_feedback", ["entry_id", "kind"])
    op.create_index("ix_entry_feedback_state", "entry_feedback", ["state", "exchange_id"])


def downgrade() -> None:
    op.drop_index("ix_entry_feedback_state", "entry_feedback")
    op.drop_index("ix_entry_feedback_entry_id", "entry_feedback")
    op.drop_table("entry_feedback")
    op.drop_index("ix_matches_bank_entry", "matches")
    op.create_index("ix_matches_bank_entry", "matches", ["bank_entry_id"])
    # Plain DROP COLUMNs (SQLite 3.35 and later), for the reason the upgrade adds them plainly.
    for table, columns in (
        ("matches", ("held", "vetoed_by")),
        ("exchanges", ("pdq_threshold", "trusted")),
        ("bank_entries", ("released_at", "held_at")),
        ("banks", ("flood_minutes", "flood_items", "negative")),
    ):
        for name in columns:
            op.drop_column(table, name)
