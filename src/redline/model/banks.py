"""Hash banks: named lists of known content's hashes, with labels and provenance.

A BankEntry is one piece of known content (HMA's "bank content"; its id is HMA's
``bank_content_id``) and carries one or more BankSignals: a PDQ hash, an MD5, crop hashes...
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from redline.model.base import Base, BigId, utcnow


class Bank(Base):
    """A named list of hashes of known content."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    # HMA's "matching_enabled_ratio": the share of look-ups this bank takes part in (0..1).
    enabled_ratio: Mapped[float] = mapped_column(default=1.0)
    pdq_threshold: Mapped[int] = mapped_column(default=31)
    text_threshold: Mapped[float] = mapped_column(default=0.8)  # Jaccard, for text banks
    # Containment, for text banks: the share of a post that is banked text, or of the banked
    # text that is in the post, for a match (redline.signals.excerpt).
    containment_threshold: Mapped[float] = mapped_column(default=0.8)
    dihedral: Mapped[bool] = mapped_column(default=False)  # also match rotations and flips
    # True for banks of content a human confirmed as violating: matches to them rank first.
    confirmed: Mapped[bool] = mapped_column(default=True)
    # True for a bank of known benign content (logos, memes, blank and near-uniform images): a
    # match to it vetoes the same content's matches to every other bank (pipeline/protect.py).
    negative: Mapped[bool] = mapped_column(default=False)
    # Flood quarantine: an entry matching more than ``flood_items`` distinct media files or texts
    # within ``flood_minutes`` is held (its matches kept, no cases) until a lead releases it.
    # Off (0) for a bank of one's own, where a storm of re-uploads is real and must open cases;
    # an exchange turns it on for the bank it feeds (``exchanges.run.add_exchange``).
    flood_items: Mapped[int] = mapped_column(default=0)
    flood_minutes: Mapped[int] = mapped_column(default=60)
    version: Mapped[int] = mapped_column(default=0)  # bumped on every change of its entries
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[BankEntry]] = relationship(back_populates="bank", lazy="raise")


class BankEntry(Base):
    """One piece of known content in a bank, with its labels and where it came from."""

    __tablename__ = "bank_entries"
    # Ids are never reused after a delete (SQLite would reuse the highest): HMA clients hold on
    # to content ids, and the indexes read new signals as "ids above the last one seen".
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    category: Mapped[str | None] = mapped_column(String(100))  # taxonomy label
    source_org: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[str | None] = mapped_column(Text)  # space-separated, as in ThreatExchange CSVs
    provenance: Mapped[dict[str, Any] | None]  # file imported from, HMA metadata, who added it
    media_sha256: Mapped[str | None] = mapped_column(String(64))  # when added from a file
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why a lead disabled it (reviewers' false-positive reports, say); cleared on enabling.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Held by flood quarantine since (None: not held); matches stay, cases wait for a lead.
    held_at: Mapped[datetime | None]
    # When a lead last released it: the flood count starts again from there.
    released_at: Mapped[datetime | None]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))

    bank: Mapped[Bank] = relationship(back_populates="entries", lazy="raise")
    signals: Mapped[list[BankSignal]] = relationship(back_populates="entry", lazy="raise")


class BankSignal(Base):
    """A hash of a bank entry."""

    __tablename__ = "bank_signals"
    __table_args__ = (
        UniqueConstraint("entry_id", "signal_type", "value"),
        Index("ix_bank_signals_type_value", "signal_type", "value"),
        {"sqlite_autoincrement": True},  # see BankEntry: ids are never reused
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    quality: Mapped[int | None]
    meta: Mapped[dict[str, Any] | None]

    entry: Mapped[BankEntry] = relationship(back_populates="signals", lazy="raise")


class BankChange(Base):
    """One change to a bank entry (added, relabelled, enabled, disabled, deleted), in the order
    the changes were committed: what a bank's feed to other instances is read from. No foreign
    key to the entry, so a deleted entry's change outlives it and the feed can say it is gone."""

    __tablename__ = "bank_changes"
    __table_args__ = (
        Index("ix_bank_changes_bank_id", "bank_id", "id"),
        {"sqlite_autoincrement": True},  # the ids are the feed's checkpoints: never reused
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(BigId)
    change: Mapped[str] = mapped_column(String(20))  # add, update, enable, disable, delete
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FalsePositiveReport(Base):
    """A reviewer's report that a bank entry matched a case's content wrongly: one per reviewer,
    case and entry, counted on the entry so a lead sees which entries misfire."""

    __tablename__ = "false_positive_reports"
    __table_args__ = (UniqueConstraint("entry_id", "case_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Counter(Base):
    """A named, ever-increasing number: ``banks`` moves on every bank change, so indexes and
    scans know whether what they computed is still current."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class EntryFeedback(Base):
    """A reviewer's verdict on a case opened from an exchange's entry, as the feedback the
    exchange gets: ``confirm`` (violating) or ``deconfirm`` (not violating), one per final
    decision, entry, exchange and reviewer who stands by it. ``state``: ``queued`` (to be
    sent once the undo window is over), ``sent``, ``kept`` (the exchange takes no feedback:
    recorded here only) or ``withdrawn`` (the decision was undone)."""

    __tablename__ = "entry_feedback"
    __table_args__ = (
        UniqueConstraint("decision_id", "entry_id", "exchange_id", "user_id"),
        Index("ix_entry_feedback_entry_id", "entry_id", "kind"),
        Index("ix_entry_feedback_state", "state", "exchange_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # confirm | deconfirm
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
