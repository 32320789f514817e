"""Actions: referrals to hosting services (and the liveness checks of what was referred), and
removal orders received under EU Regulation 2021/784 with what was done about each URL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redline.model.base import Base, BigId, JsonDoc, utcnow


class HostingService(Base):
    """A service that hosts content, and how to reach it with a referral."""

    __tablename__ = "hosting_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domains: Mapped[list[str]] = mapped_column(JsonDoc)  # example.com also covers www.example.com
    contact_channel: Mapped[str] = mapped_column(String(20))  # email | web_form | api
    contact: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """A request to a hosting service to remove one URL of a confirmed case."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("case_id", "url"), Index("ix_referrals_status", "status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    url: Mapped[str] = mapped_column(Text)  # canonical
    service_id: Mapped[int | None] = mapped_column(ForeignKey("hosting_services.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    category: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    # What was sent: frozen when the referral is created, so a later change does not rewrite it.
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UrlCheck(Base):
    """One liveness check of a referred URL."""

    __tablename__ = "url_checks"
    __table_args__ = (Index("ix_url_checks_referral", "referral_id", "checked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10))  # up | down | changed | error
    http_status: Mapped[int | None]
    final_url: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime]


class RemovalOrder(Base):
    """A removal order (Regulation 2021/784, Annex I), with its one-hour deadline."""

    __tablename__ = "removal_orders"
    __table_args__ = (UniqueConstraint("authority", "reference"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    authority: Mapped[str] = mapped_column(String(300))  # the issuing competent authority
    reference: Mapped[str] = mapped_column(String(200))  # its reference number
    issued_at: Mapped[datetime]
    received_at: Mapped[datetime]
    deadline_at: Mapped[datetime]  # received_at + 1 hour, in UTC
    reasons: Mapped[str] = mapped_column(Text)  # the statement of reasons of the order
    legal_basis: Mapped[str] = mapped_column(Text)
    # Further fields of the Annex I template: whom to contact at the authority, which kind of
    # terrorist content (Article 2(7)(a)-(e)), how to seek redress, who signed it.
    authority_contact: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(20))
    redress: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str | None] = mapped_column(Text)
    confidential: Mapped[bool] = mapped_column(default=False)  # do not inform the provider
    confidential_reason: Mapped[str | None] = mapped_column(Text)
    # Article 11(3): at most six weeks from the decision, unless the authority extends it.
    confidential_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="received")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class RemovalOrderUrl(Base):
    """One URL of a removal order, the item it names, and what was done about it."""

    __tablename__ = "removal_order_urls"
    __table_args__ = (UniqueConstraint("order_id", "url"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("removal_orders.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)  # canonical
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    action: Mapped[str | None] = mapped_column(String(20))  # removed | disabled
    acted_at: Mapped[datetime | None]
    not_executed_reason: Mapped[str | None] = mapped_column(Text)


class Preservation(Base):
    """Removed content kept as evidence (Regulation 2021/784, Article 6): six months from its
    removal, longer under a hold, then purged; the hashes of what was kept outlive the purge."""

    __tablename__ = "preservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("removal_orders.id"))
    removed_at: Mapped[datetime]
    keep_until: Mapped[datetime]
    hold_until: Mapped[datetime | None]
    hold_reason: Mapped[str | None] = mapped_column(Text)
    # What was kept: the item's record, its text's and media files' SHA-256, for proof later.
    manifest: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    purged_at: Mapped[datetime | None]


class Complaint(Base):
    """A complaint against a decision (Regulation 2021/784, Article 10): decided within two
    weeks; upheld, it reinstates the content."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)  # where to send the answer, if given
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | upheld | rejected
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]


class Notice(Base):
    """The notice to the content provider about a take-down (Regulation 2021/784, Article 11):
    queued with the take-down, withheld while an authority's confidentiality lasts, and marked
    sent by whoever delivers it (the platform's messaging, through the API or a webhook).

    It keeps the parts, not the text: the text is rendered in the provider's language when it
    is read or sent, and the audit record of the sending keeps exactly what was said."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("removal_orders.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    action: Mapped[str] = mapped_column(String(20))  # removed | disabled
    lang: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # pending | withheld | sent
    withheld_reason: Mapped[str | None] = mapped_column(Text)
    withheld_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)  # webhook deliveries tried
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """An alert on its way to the team (e-mail, webhook): an outbox row, written in the same
    transaction as the alert, sent after it, retried with back-off until it goes or gives up;
    so an alert is never lost to a mail server that is down for a minute."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "sent_at", "failed_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # email | webhook
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # due_soon | overdue | ...
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # gave up after MAX_ATTEMPTS
