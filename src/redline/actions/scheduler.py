"""The one scheduler: deadlines and periodic work, run by ``redline worker`` (in-process, every
minute), or by Celery beat when a broker is configured. Nothing waits for a browser.

Each tick: alerts for removal orders near or past their hour, complaints near or past their
two weeks and bank entries that flood quarantine holds (``pipeline/protect.py``) (each alert
once, recorded in the audit trail and put in the outbox of every configured channel), the
release of notices whose confidentiality has ended, purges of preservations that have run out,
liveness checks of referred URLs not checked for ``check_every``, and last the delivery of what
is in the outboxes (alerts, notices, and the events of the webhook subscriptions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select

from redline.actions import (
    complaints,
    liveness,
    notices,
    notify,
    orders,
    preservation,
    referrals,
    webhooks,
)
from redline.config import DEFAULT_PUBLIC_URL, Settings
from redline.model import AuditEvent, Referral, UrlCheck
from redline.pipeline.protect import held_entries
from redline.store.audit import hold_chain, record_event
from redline.store.media import MediaStore

ACTOR: Final = "scheduler"
CHECK_EVERY: Final = timedelta(hours=6)
# Where an alert links.
_PAGES: Final = {"removal_order": "orders", "complaint": "complaints", "bank_entry": "banks"}


@dataclass
class Tick:
    """What one tick did."""

    alerts: list[str] = field(default_factory=list)
    purged: list[int] = field(default_factory=list)
    checked: dict[int, str] = field(default_factory=dict)
    released: list[int] = field(default_factory=list)  # notices no longer withheld
    delivered: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {
            "alerts": self.alerts,
            "purged": self.purged,
            "checked": {str(k): v for k, v in self.checked.items()},
            "released": self.released,
            "delivered": self.delivered,
        }


@dataclass(frozen=True)
class Delivery:
    """Where the tick sends things: alert channels by name, the platform's webhook for notices
    to providers (None: they wait in the API), the console's public address for the
    complaint links in notices, and whether the webhook subscriptions' endpoints may be on
    private addresses."""

    channels: Mapping[str, notify.Channel] = field(default_factory=dict)
    notice_webhook: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    webhook_allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Delivery:
        """What the deployment configured."""
        return cls(
            notify.channels(settings),
            settings.notice_webhook_url,
            settings.public_url,
            settings.webhook_allow_private,
        )


def _alert_once(
    connection: Connection,
    subject_type: str,
    subject_id: int,
    kind: str,
    text: str,
    delivery: Delivery,
    now: datetime,
) -> bool:
    """Record an alert unless the same one was recorded before, and put it in the outbox of
    each channel; whether it is new."""
    seen = connection.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == f"{subject_type}.alert")
        .where(AuditEvent.subject_id == str(subject_id))
        .where(AuditEvent.after["kind"].as_string() == kind)
    )
    if seen:
        return False
    record_event(
        connection,
        ACTOR,
        f"{subject_type}.alert",
        subject_type,
        str(subject_id),
        after={"kind": kind},
        detail={"text": text},
    )
    title = f"{subject_type.replace('_', ' ')} {subject_id}: {kind.replace('_', ' ')}"
    notify.enqueue(
        connection,
        list(delivery.channels),
        subject_type,
        str(subject_id),
        kind,
        title,
        f"{text}\n\n{delivery.public_url.rstrip('/')}/{_PAGES[subject_type]}\n",
        now,
    )
    return True


def due_referrals(connection: Connection, now: datetime, every: timedelta) -> list[int]:
    """Referrals out with a hosting service whose URL was not checked for ``every``."""
    last = (
        select(UrlCheck.referral_id, func.max(UrlCheck.checked_at).label("at"))
        .group_by(UrlCheck.referral_id)
        .subquery()
    )
    rows = connection.execute(
        select(Referral.id)
        .outerjoin(last, last.c.referral_id == Referral.id)
        .where(Referral.status.in_(referrals.LIVE))
        .where((last.c.at.is_(None)) | (last.c.at <= now - every))
        .order_by(Referral.id)
    )
    return [int(r.id) for r in rows]


def tick(
    engine: Engine,
    media: MediaStore,
    now: datetime,
    check: Callable[[str, datetime], liveness.UrlCheck] | None = None,
    check_every: timedelta = CHECK_EVERY,
    delivery: Delivery | None = None,
) -> Tick:
    """One round of the scheduler; each part in its own transaction, so one failure does not
    undo the others. Without ``delivery`` nothing is sent (alerts are still recorded)."""
    done = Tick()
    sending = delivery or Delivery()
    with engine.begin() as connection:
        # Alerts are "once each", checked in the audit trail: two ticks at once (a slow tick and
        # the next one on another worker) must not both find an alert unsent and both send it.
        hold_chain(connection)
        for order, kind in orders.alerts(connection, now):
            text = (
                f"removal order {order.reference} ({order.authority}): {kind.replace('_', ' ')}"
                f", deadline {order.deadline_at.isoformat()}"
            )
            if _alert_once(connection, "removal_order", order.id, kind, text, sending, now):
                done.alerts.append(text)
        for complaint, kind in complaints.due_complaints(connection, now):
            text = (
                f"complaint {complaint['id']}: {kind.replace('_', ' ')}, due {complaint['due_at']}"
            )
            if _alert_once(connection, "complaint", complaint["id"], kind, text, sending, now):
                done.alerts.append(text)
        for held in held_entries(connection):
            # Once per hold: released and held again, it is a new alert.
            kind = f"flood_hold {held.held_at.isoformat()}"
            text = (
                f"bank {held.bank} entry {held.entry_id} is held by flood quarantine since "
                f"{held.held_at.isoformat()} ({held.matches} matches kept, no cases opened): "
                "release it or disable it"
            )
            if _alert_once(connection, "bank_entry", held.entry_id, kind, text, sending, now):
                done.alerts.append(text)
    with engine.begin() as connection:
        for item_id in preservation.due_purges(connection, now):
            preservation.purge(connection, ACTOR, item_id, media, now)
            done.purged.append(item_id)
    with engine.begin() as connection:
        done.released = notices.release_due(connection, now)
    if check is not None:
        done.checked = check_referrals(engine, now, check, check_every)
    if delivery is not None:
        if delivery.channels:
            done.delivered["alerts"] = notify.deliver(engine, delivery.channels, now)
        if delivery.notice_webhook:
            done.delivered["notices"] = notices.deliver(
                engine, delivery.notice_webhook, now, delivery.public_url
            )
        sent = webhooks.deliver_due(engine, now, allow_private=delivery.webhook_allow_private)
        if any(sent.as_dict().values()):
            done.delivered["webhooks"] = sent.as_dict()
    return done


def check_referrals(
    engine: Engine,
    now: datetime,
    check: Callable[[str, datetime], liveness.UrlCheck],
    every: timedelta,
) -> dict[int, str]:
    """Liveness-check every referred URL not checked for ``every``; referral id -> status after.
    Each check is stored in its own transaction: a slow host does not hold the others."""
    with engine.connect() as connection:
        due = due_referrals(connection, now, every)
    statuses = {}
    for referral_id in due:
        with engine.connect() as connection:
            url = referrals.get_referral(connection, referral_id)["url"]
        result = check(url, now)  # outside any transaction: it can take seconds
        with engine.begin() as connection:
            statuses[referral_id] = referrals.record_check(connection, ACTOR, referral_id, result)
    return statuses
