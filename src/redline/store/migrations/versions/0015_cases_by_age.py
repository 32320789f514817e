"""Cases by age: an index on when a case was opened, with its status, priority and signal, so
the health page reads each SLA band's oldest breaches without sorting every open case, and the
report counts a period's cases by signal from the index alone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_age", "cases", ["opened_at", "status", "priority", "signal"])


def downgrade() -> None:
    op.drop_index("ix_cases_age", table_name="cases")
