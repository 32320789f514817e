"""Matches between stored content and bank entries, and the Cases they open for review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redline.model.base import Base, BigId, JsonDoc, utcnow


class Match(Base):
    """A media file or a text found close enough to a bank entry."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("media_sha256", "bank_entry_id", "signal_type"),
        UniqueConstraint("text_sha256", "bank_entry_id", "signal_type"),
        # An entry's matches in time order: flood quarantine counts an entry's recent matches
        # (pipeline/protect.py) without reading the years of matches a genuine entry gathers.
        Index("ix_matches_bank_entry", "bank_entry_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"), index=True)
    text_sha256: Mapped[str | None] = mapped_column(ForeignKey("texts.sha256"), index=True)
    bank_entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(40))
    distance: Mapped[float]
    detail: Mapped[dict[str, Any] | None]  # query hash, transform, vPDQ percentages
    # The negative bank's entry that vetoed this match (the same content is known benign); no
    # foreign key, so deleting that entry leaves the record of the veto.
    vetoed_by: Mapped[int | None] = mapped_column(BigId)
    held: Mapped[bool] = mapped_column(default=False)  # made while its entry was held (flood)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """An item someone has to look at, because a signal fired on it. One per item."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[int] = mapped_column(default=0)  # higher first
    reason: Mapped[str] = mapped_column(String(300))  # why it was opened, in one line
    # What fired, copied from the strongest reason so the queue filters without joins.
    signal: Mapped[str | None] = mapped_column(String(20))  # bank | classifier
    category: Mapped[str | None] = mapped_column(String(40))
    lang: Mapped[str | None] = mapped_column(String(10))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# The queue's own order (priority high to low, then oldest), so a page of 50 is read straight
# off the index instead of sorting every open case of the top priority.
Index("ix_cases_queue", Case.status, Case.priority.desc(), Case.opened_at, Case.id)
# Cases oldest first with what the health page and the report filter and count them by: a
# band's oldest SLA breaches are the first rows of this index, not a sort of every open case of
# the band, and a period's cases are counted by signal without reading the table.
Index("ix_cases_age", Case.opened_at, Case.status, Case.priority, Case.signal)
# A period's decided cases with when they were opened: the report's time to decision reads the
# index, not every case.
Index("ix_cases_decided", Case.decided_at, Case.opened_at)


class Score(Base):
    """A text classifier's verdict on one distinct text (shared by every item posting it)."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("text_sha256", "model"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    text_sha256: Mapped[str] = mapped_column(ForeignKey("texts.sha256"))
    model: Mapped[str] = mapped_column(String(60))
    score: Mapped[float]
    flagged: Mapped[bool]
    category: Mapped[str] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(10))
    explanation: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextScan(Base):
    """That a text went through a scan stage (outlinks, classifier, text banks), and at which
    version, so a scan never redoes it and a new model or bank change redoes exactly it."""

    __tablename__ = "text_scans"

    text_sha256: Mapped[str] = mapped_column(ForeignKey("texts.sha256"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[str] = mapped_column(String(60))
    done_at: Mapped[datetime] = mapped_column(default=utcnow)
