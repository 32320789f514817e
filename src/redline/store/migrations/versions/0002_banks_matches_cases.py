"""Banks, bank entries and their signals, matches, cases; quarantine for bank imports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_ratio", sa.Double(), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("dihedral", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_banks"),
        sa.UniqueConstraint("name", name="uq_banks_name"),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("bank_id", ID, nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("source_org", sa.String(200)),
        sa.Column("note", sa.Text()),
        sa.Column("tags", sa.Text()),
        sa.Column("provenance", JSON),
        sa.Column("media_sha256", sa.String(64)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bank_entries"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_bank_entries_bank_id_banks", ondelete="CASCADE"
        ),
        # Never reuse ids after a delete: HMA clients keep content ids, indexes read by id.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_bank_entries_bank_id", "bank_entries", ["bank_id"])
    op.create_table(
        "bank_signals",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("signal_type", sa.String(40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("quality", sa.Integer()),
        sa.Column("meta", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_bank_signals"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_bank_signals_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "entry_id", "signal_type", "value", name="uq_bank_signals_entry_id_signal_type_value"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_bank_signals_type_value", "bank_signals", ["signal_type", "value"])
    op.create_table(
        "cases",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_cases_item_id_items"),
        sa.UniqueConstraint("item_id", name="uq_cases_item_id"),
    )
    op.create_index("ix_cases_status_priority", "cases", ["status", "priority"])
    op.create_table(
        "matches",
        sa.Column("id", ID, nullable=False),
        sa.Column("media_sha256", sa.String(64)),
        sa.Column("bank_entry_id", ID, nullable=False),
        sa.Column("signal_type", sa.String(40), nullable=False),
        sa.Column("distance", sa.Double(), nullable=False),
        sa.Column("detail", JSON),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_matches"),
        sa.ForeignKeyConstraint(
            ["bank_entry_id"],
            ["bank_entries.id"],
            name="fk_matches_bank_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name="fk_matches_media_sha256_media"
        ),
        sa.UniqueConstraint(
            "media_sha256",
            "bank_entry_id",
            "signal_type",
            name="uq_matches_media_sha256_bank_entry_id_signal_type",
        ),
    )
    op.create_index("ix_matches_bank_entry", "matches", ["bank_entry_id"])
    op.create_index("ix_matches_media_sha256", "matches", ["media_sha256"])
    # Batch mode: SQLite rebuilds the table; PostgreSQL alters it in place.
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("bank_id", ID))
        batch.alter_column("source_id", existing_type=ID, nullable=True)
        batch.create_unique_constraint(
            "uq_quarantine_bank_id_file_location_raw_sha256",
            ["bank_id", "file", "location", "raw_sha256"],
        )
        batch.create_foreign_key(
            "fk_quarantine_bank_id_banks", "banks", ["bank_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("matched_generation", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("matched_generation")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_constraint("fk_quarantine_bank_id_banks", type_="foreignkey")
        batch.drop_constraint("uq_quarantine_bank_id_file_location_raw_sha256", type_="unique")
        batch.alter_column("source_id", existing_type=ID, nullable=False)
        batch.drop_column("bank_id")
    for table in ("matches", "cases", "bank_signals", "bank_entries", "counters", "banks"):
        op.drop_table(table)
