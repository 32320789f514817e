"""Webhooks: the platform's endpoints subscribed to redline's events, the outbox of deliveries
to them, and the log of every attempt to deliver."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redline.model.base import Base, BigId, JsonDoc
from redline.model.sealed import SealedText


class WebhookSubscription(Base):
    """An endpoint of the platform's that receives some of redline's events, signed with its
    secret. The secret is kept whole (an HMAC is made with the secret itself, unlike an API
    token that is only compared), sealed with ``REDLINE_SECRET_KEY`` when one is set
    (``model.sealed``), shown once when the subscription is made and never again."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(SealedText)
    events: Mapped[list[str]] = mapped_column(JsonDoc)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event on its way to one subscription: an outbox row written in the transaction of the
    change it tells of, so it exists exactly when the change committed. ``body`` is the JSON as
    it is sent, every time (replays included), so its signature and event id never change."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # The per-item order: what came before this row for the same subscription and item.
        Index("ix_webhook_deliveries_item", "subscription_id", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(40), index=True)  # the same for every subscriber
    event: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # pending | delivered | failed | cancelled
    attempts: Mapped[int] = mapped_column(default=0)  # since it was made or last replayed
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One try at delivering: what the endpoint answered, or why nothing came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
