"""Webhook signing secrets as text of any length: sealed with REDLINE_SECRET_KEY (a Fernet token
with a prefix, about 200 characters) they no longer fit the 100 characters of a bare secret.
Exchange settings, JSON, hold a sealed document as a JSON string and need no change.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite a batch rebuilds the table (its deliveries refer to it); `redline db upgrade`
    # turns reference checks off for that and checks every reference before committing.
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(100))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", type_=sa.String(100), existing_type=sa.Text())
