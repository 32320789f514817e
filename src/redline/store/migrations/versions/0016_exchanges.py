"""Exchanges: each bank entry's changes in commit order (what a bank's feed to other instances
is read from), the exchanges banks subscribe to with their checkpoints, and which bank entry
each exchange's entry became. Every entry already banked gets its "add", so a subscriber's first
fetch reads the whole bank.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bank_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("bank_id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bank_changes"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_bank_changes_bank_id_banks", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_bank_changes_bank_id", "bank_changes", ["bank_id", "id"])
    op.execute(
        "INSERT INTO bank_changes (bank_id, entry_id, change, at)"
        " SELECT bank_id, id, 'add', added_at FROM bank_entries ORDER BY id"
    )
    op.create_table(
        "exchanges",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("bank_id", ID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("checkpoint", sa.Text()),
        sa.Column("fetched_at", UTCDateTime()),
        sa.Column("tried_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("relabelled", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchanges"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_exchanges_bank_id_banks", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("name", name="uq_exchanges_name"),
    )
    op.create_index("ix_exchanges_bank_id", "exchanges", ["bank_id"])
    op.create_table(
        "exchange_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("exchange_id", ID, nullable=False),
        sa.Column("remote_id", sa.String(200), nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_entries"),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name="fk_exchange_entries_exchange_id_exchanges",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_exchange_entries_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "exchange_id", "remote_id", name="uq_exchange_entries_exchange_id_remote_id"
        ),
    )
    op.create_index("ix_exchange_entries_entry_id", "exchange_entries", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_entries_entry_id", "exchange_entries")
    op.drop_table("exchange_entries")
    op.drop_index("ix_exchanges_bank_id", "exchanges")
    op.drop_table("exchanges")
    op.drop_index("ix_bank_changes_bank_id", "bank_changes")
    op.drop_table("bank_changes")
