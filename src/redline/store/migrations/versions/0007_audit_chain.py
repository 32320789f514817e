"""The audit trail as a hash chain: each event carries the SHA-256 of the one before it and its own,
existing events hashed in id order; ``audit_chain`` holds the newest; on PostgreSQL a trigger
refuses UPDATE and DELETE on ``audit_events``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

# The hashed form is redline's definition (redline.store.audit's docstring); this migration must
# hash the existing events exactly as `redline audit verify` will.
from redline.store.audit import GENESIS, HEAD_ROW, event_sha256

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SHA256 = sa.String(64)
BATCH = 2000

APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING HINT = 'the audit trail is evidence; events are never changed or removed';
END;
$$
"""
# Per statement, so even an UPDATE or DELETE that matches no row is refused.
TRIGGER = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
"""


def _hash_existing(connection: sa.Connection) -> tuple[int | None, str, int]:
    """Chain the events already stored, in id order; the newest id, its hash and the count."""
    events = sa.table(
        "audit_events",
        sa.column("id", ID),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String(200)),
        sa.column("action", sa.String(60)),
        sa.column("subject_type", sa.String(40)),
        sa.column("subject_id", sa.Text()),
        sa.column("before", JSON),
        sa.column("after", JSON),
        sa.column("detail", JSON),
        sa.column("prev_sha256", SHA256),
        sa.column("sha256", SHA256),
    )
    link = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("_id"))
        .values(prev_sha256=sa.bindparam("_prev"), sha256=sa.bindparam("_sha"))
    )
    previous, count, last = GENESIS, 0, None
    while True:
        query = sa.select(events).order_by(events.c.id).limit(BATCH)
        if last is not None:
            query = query.where(events.c.id > last)
        rows = connection.execute(query).all()
        if not rows:
            return last, previous, count
        links = []
        for row in rows:
            digest = event_sha256({**row._mapping, "prev_sha256": previous})
            links.append({"_id": row.id, "_prev": previous, "_sha": digest})
            previous = digest
        connection.execute(link, links)
        count += len(rows)
        last = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_sha256", SHA256))
        batch.add_column(sa.Column("sha256", SHA256))
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger()),
        sa.Column("sha256", SHA256, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_chain"),
    )
    connection = op.get_bind()
    last, head, count = _hash_existing(connection)
    chain = sa.table(
        "audit_chain",
        sa.column("id"),
        sa.column("event_id"),
        sa.column("sha256"),
        sa.column("events"),
    )
    connection.execute(
        sa.insert(chain).values(id=HEAD_ROW, event_id=last, sha256=head, events=count)
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_sha256", existing_type=SHA256, nullable=False)
        batch.alter_column("sha256", existing_type=SHA256, nullable=False)
    if connection.dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("sha256")
        batch.drop_column("prev_sha256")
