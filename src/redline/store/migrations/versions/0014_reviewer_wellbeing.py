"""Reviewer wellbeing: the organisation's daily exposure cap and blur default (one row), each
user's blur preferences and when a lead last lifted their enforced break.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.model.base import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation_settings",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("blur_radius", sa.Integer(), nullable=False),
        sa.Column("greyscale", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisation_settings"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("blur_radius", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("greyscale", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("break_lifted_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("break_lifted_at")
        batch.drop_column("greyscale")
        batch.drop_column("blur_radius")
    op.drop_table("organisation_settings")
