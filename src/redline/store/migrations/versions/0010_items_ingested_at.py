"""An index on when items were stored, for the sweep that sends again what was never processed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_ingested_at", "items", ["ingested_at"])


def downgrade() -> None:
    op.drop_index("ix_items_ingested_at", table_name="items")
