"""The content model: where things came from (Source), what was posted (Item), and its parts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from redline.model.base import Base, BigId, utcnow

SHA256_HEX = String(64)


class Source(Base):
    """A named origin of items: one platform export, channel, crawl or list."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    format: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[Item]] = relationship(back_populates="source", lazy="raise")


class TextBody(Base):
    """One distinct text, stored once and addressed by its SHA-256.

    When the same text is re-posted by many accounts, every Item points at this one row, so
    re-post counts are a GROUP BY away and later stages score each distinct text once.
    """

    __tablename__ = "texts"

    sha256: Mapped[str] = mapped_column(SHA256_HEX, primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class Media(Base):
    """One distinct media file (image, video, other), stored once under the data dir by SHA-256."""

    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(SHA256_HEX, primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))  # image | video | file
    mime: Mapped[str | None] = mapped_column(String(100))
    width: Mapped[int | None]
    height: Mapped[int | None]
    path: Mapped[str] = mapped_column(String(300))  # relative to Settings.data_dir
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Item(Base):
    """One post, message, file or URL as it appeared in a source.

    (source, external_id) names a record in its source. A record seen again with different content
    becomes a new revision (revision 2, 3, ...); the same content seen again is a duplicate and is
    not stored. ``content_sha256`` is the hash of what the record says (text, media, URL), which is
    how a re-ingested record is recognised, so re-ingesting any file stores nothing new.
    """

    __tablename__ = "items"
    __table_args__ = (
        # Also the index ingest looks records up by. Content uniqueness is not a second index:
        # a batch reads every revision of its ids before writing, and a racing writer trips this
        # constraint and retries (one index less to maintain on every insert).
        UniqueConstraint("source_id", "external_id", "revision"),
        Index("ix_items_source_posted", "source_id", "posted_at"),
        # An account's items in time order: the case page's "same account" list.
        Index("ix_items_source_account_posted", "source_id", "account", "posted_at"),
        # The sweep reads the items stored in a window of time (redline.pipeline.work.unsent).
        Index("ix_items_ingested_at", "ingested_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=1)
    content_sha256: Mapped[str] = mapped_column(SHA256_HEX)
    text_sha256: Mapped[str | None] = mapped_column(ForeignKey("texts.sha256"), index=True)
    account: Mapped[str | None] = mapped_column(Text)
    account_name: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None]
    url: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(String(40))
    file: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any] | None]
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it was sent to the workers (None: never, or processed where it was submitted): an
    # item stored and never sent is one whose message was lost before it reached the broker.
    queued_at: Mapped[datetime | None]
    # On a hosting service: whether the item is shown (visible), removed or access-disabled.
    visibility: Mapped[str] = mapped_column(String(10), default="visible", server_default="visible")

    source: Mapped[Source] = relationship(back_populates="items", lazy="raise")
    text: Mapped[TextBody | None] = relationship(lazy="raise")


class ItemMedia(Base):
    """Which media files an item carries, in order."""

    __tablename__ = "item_media"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    original_name: Mapped[str | None] = mapped_column(Text)


class Signal(Base):
    """A value computed from or found in content: a canonical URL, a PDQ hash, a text signature.

    A signal belongs to an item (a URL list entry), a media file (its hash) or a text (an outlink
    in it). One type per module in ``redline.signals``; ``signal_type`` names it, ``value`` is its
    serialised form.
    """

    __tablename__ = "signals"
    __table_args__ = (
        # NULLs never collide, so each index only constrains the rows of its own subject kind.
        UniqueConstraint("item_id", "signal_type", "value"),
        UniqueConstraint("media_sha256", "signal_type", "value"),
        UniqueConstraint("text_sha256", "signal_type", "value"),
        Index("ix_signals_type_value", "signal_type", "value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    # A text's signals (its outlinks, say) belong to the text, shared by every item posting it.
    text_sha256: Mapped[str | None] = mapped_column(ForeignKey("texts.sha256"))
    signal_type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    quality: Mapped[int | None]
    meta: Mapped[dict[str, Any] | None]
    # The ``banks`` counter value this signal was last matched at; behind it, it is matched again.
    matched_generation: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quarantine(Base):
    """A record that could not be accepted, kept with its raw bytes and why; never dropped."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("source_id", "file", "location", "raw_sha256"),
        UniqueConstraint("bank_id", "file", "location", "raw_sha256"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Records come from a source's input, or from a file imported into a bank.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id", ondelete="SET NULL"))
    format: Mapped[str] = mapped_column(String(40))
    file: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Size of the original input; raw may be cut to Settings.max_quarantine_bytes.
    raw_size: Mapped[int] = mapped_column(BigInteger)
    raw_sha256: Mapped[str] = mapped_column(SHA256_HEX)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
