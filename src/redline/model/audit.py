"""The audit trail: an append-only record of who did what, when, and what changed.

Each event carries the SHA-256 of the event before it, so altering, deleting or inserting an
event breaks the chain (``redline.store.audit`` defines the hashed form and checks it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redline.model.base import Base, BigId, utcnow


class AuditEvent(Base):
    """One thing that happened: an ingest, a bank change, a view, a decision. Never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        # Per-user, per-action counts over a time range: exposure counters, login rate limits.
        Index("ix_audit_events_actor_action_at", "actor", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    detail: Mapped[dict[str, Any] | None]
    # The hash of the previous event (64 zeros for the first) and of this one.
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The newest event of the audit trail, in one row. Every append locks this row first, so
    two writers never chain off the same event; ``audit verify`` checks the trail ends here, which
    also catches the newest events being deleted."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger)
