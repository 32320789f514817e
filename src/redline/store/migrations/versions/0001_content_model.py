"""Content model: sources, items, texts, media, signals, quarantine, audit events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from redline.model.base import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model's column types, so this script means the same thing forever.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SHA256 = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(40)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("name", name="uq_sources_name"),
    )
    op.create_table(
        "texts",
        sa.Column("sha256", SHA256, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_texts"),
    )
    op.create_table(
        "media",
        sa.Column("sha256", SHA256, nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("mime", sa.String(100)),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_media"),
    )
    op.create_index("ix_media_md5", "media", ["md5"])
    op.create_table(
        "items",
        sa.Column("id", ID, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_sha256", SHA256, nullable=False),
        sa.Column("text_sha256", SHA256),
        sa.Column("account", sa.Text()),
        sa.Column("account_name", sa.Text()),
        sa.Column("posted_at", UTCDateTime()),
        sa.Column("url", sa.Text()),
        sa.Column("encoding", sa.String(40)),
        sa.Column("file", sa.Text()),
        sa.Column("location", sa.String(100)),
        sa.Column("extra", JSON),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_items_source_id_sources"),
        sa.ForeignKeyConstraint(
            ["text_sha256"], ["texts.sha256"], name="fk_items_text_sha256_texts"
        ),
        sa.UniqueConstraint(
            "source_id", "external_id", "revision", name="uq_items_source_id_external_id_revision"
        ),
    )
    op.create_index("ix_items_source_account", "items", ["source_id", "account"])
    op.create_index("ix_items_source_posted", "items", ["source_id", "posted_at"])
    op.create_index("ix_items_text_sha256", "items", ["text_sha256"])
    op.create_table(
        "item_media",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("media_sha256", SHA256, nullable=False),
        sa.Column("original_name", sa.Text()),
        sa.PrimaryKeyConstraint("item_id", "position", name="pk_item_media"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_item_media_item_id_items"),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name="fk_item_media_media_sha256_media"
        ),
    )
    op.create_index("ix_item_media_media_sha256", "item_media", ["media_sha256"])
    op.create_table(
        "signals",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID),
        sa.Column("media_sha256", SHA256),
        sa.Column("signal_type", sa.String(40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("quality", sa.Integer()),
        sa.Column("meta", JSON),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signals"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_signals_item_id_items"),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name="fk_signals_media_sha256_media"
        ),
        sa.UniqueConstraint(
            "item_id", "signal_type", "value", name="uq_signals_item_id_signal_type_value"
        ),
        sa.UniqueConstraint(
            "media_sha256", "signal_type", "value", name="uq_signals_media_sha256_signal_type_value"
        ),
    )
    op.create_index("ix_signals_type_value", "signals", ["signal_type", "value"])
    op.create_table(
        "quarantine",
        sa.Column("id", ID, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("location", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("raw_size", sa.BigInteger(), nullable=False),
        sa.Column("raw_sha256", SHA256, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_quarantine_source_id_sources"
        ),
        sa.UniqueConstraint(
            "source_id",
            "file",
            "location",
            "raw_sha256",
            name="uq_quarantine_source_id_file_location_raw_sha256",
        ),
    )
    op.create_index("ix_quarantine_source_id", "quarantine", ["source_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject_type", sa.String(40)),
        sa.Column("subject_id", sa.Text()),
        sa.Column("before", JSON),
        sa.Column("after", JSON),
        sa.Column("detail", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject_type", "subject_id"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "quarantine",
        "signals",
        "item_media",
        "items",
        "media",
        "texts",
        "sources",
    ):
        op.drop_table(table)
