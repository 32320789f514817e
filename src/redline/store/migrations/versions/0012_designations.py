"""Designated organisations and movements, named by violating decisions; a decision keeps the
case's category before it, so an undo puts it back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.model.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "designations",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("listed_by", sa.String(200)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_designations"),
        sa.UniqueConstraint("name", name="uq_designations_name"),
    )
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("designation_id", ID, nullable=True))
        batch.add_column(sa.Column("category_before", sa.String(40), nullable=True))
        batch.create_foreign_key(
            "fk_decisions_designation_id_designations", "designations", ["designation_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("fk_decisions_designation_id_designations", type_="foreignkey")
        batch.drop_column("category_before")
        batch.drop_column("designation_id")
    op.drop_table("designations")
