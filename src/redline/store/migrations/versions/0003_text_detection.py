"""Text detection: classifier scores, per-text scan state, text signals and text-bank matches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("id", ID, nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("model", sa.String(60), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("lang", sa.String(10), nullable=False),
        sa.Column("explanation", JSON),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scores"),
        sa.ForeignKeyConstraint(
            ["text_sha256"], ["texts.sha256"], name="fk_scores_text_sha256_texts"
        ),
        sa.UniqueConstraint("text_sha256", "model", name="uq_scores_text_sha256_model"),
    )
    op.create_table(
        "text_scans",
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("version", sa.String(60), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("text_sha256", "stage", name="pk_text_scans"),
        sa.ForeignKeyConstraint(
            ["text_sha256"], ["texts.sha256"], name="fk_text_scans_text_sha256_texts"
        ),
    )
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("text_sha256", sa.String(64)))
        batch.create_foreign_key(
            "fk_signals_text_sha256_texts", "texts", ["text_sha256"], ["sha256"]
        )
        batch.create_unique_constraint(
            "uq_signals_text_sha256_signal_type_value", ["text_sha256", "signal_type", "value"]
        )
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("text_sha256", sa.String(64)))
        batch.create_foreign_key(
            "fk_matches_text_sha256_texts", "texts", ["text_sha256"], ["sha256"]
        )
        batch.create_unique_constraint(
            "uq_matches_text_sha256_bank_entry_id_signal_type",
            ["text_sha256", "bank_entry_id", "signal_type"],
        )
        batch.create_index("ix_matches_text_sha256", ["text_sha256"])
    with op.batch_alter_table("banks") as batch:
        batch.add_column(
            sa.Column("text_threshold", sa.Double(), nullable=False, server_default="0.8")
        )


def downgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("text_threshold")
    with op.batch_alter_table("matches") as batch:
        batch.drop_index("ix_matches_text_sha256")
        batch.drop_constraint("uq_matches_text_sha256_bank_entry_id_signal_type", type_="unique")
        batch.drop_constraint("fk_matches_text_sha256_texts", type_="foreignkey")
        batch.drop_column("text_sha256")
    with op.batch_alter_table("signals") as batch:
        batch.drop_constraint("uq_signals_text_sha256_signal_type_value", type_="unique")
        batch.drop_constraint("fk_signals_text_sha256_texts", type_="foreignkey")
        batch.drop_column("text_sha256")
    op.drop_table("text_scans")
    op.drop_table("scores")
