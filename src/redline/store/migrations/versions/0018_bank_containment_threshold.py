"""Containment threshold of text banks: the share of a post that must be banked text (or of the
banked text that must be in the post) for a containment match (redline.signals.excerpt), per
bank, 0.8 for every bank to begin with.

Revision ID: 0018
Revises: 0016 (0017 once that branch is merged: change down_revision then)
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(
            sa.Column("containment_threshold", sa.Double(), nullable=False, server_default="0.8")
        )


def downgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("containment_threshold")
