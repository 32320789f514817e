"""Containment threshold of text banks: the share of a post that must be banked text (or of the
banked text that must be in the post) for a containment match (redline.signals.excerpt), per
bank, 0.8 for every bank to begin with.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, never batch mode: on SQLite a batch may copy ``banks`` and drop the
    # old table, and the drop cascades to every bank entry (see 0017).
    op.add_column(
        "banks",
        sa.Column("containment_threshold", sa.Double(), nullable=False, server_default="0.8"),
    )


def downgrade() -> None:
    op.drop_column("banks", "containment_threshold")
