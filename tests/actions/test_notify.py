"""Alerts reach people who are not looking at the console: e-mail through a real SMTP server
(aiosmtpd on 127.0.0.1) and webhooks (a local receiver); a channel that is down loses nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from redline.actions import notify, orders, scheduler
from redline.config import Settings
from redline.model import AuditEvent, Item, Notification
from redline.store.media import FolderStore
from tests.actions.webhook_server import Receiver, receiver
from tests.review_desk import Desk

__all__ = ["receiver"]

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night European clocks go forward
URL = "https://host.example/post/1"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def an_order(desk: Desk) -> int:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        return orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-21", NOW, NOW, [URL], "Art. 2(7)(a)"),
            NOW,
        )


def configured(desk: Desk, **changes: Any) -> scheduler.Delivery:
    settings: Settings = desk.settings.model_copy(
        update={"public_url": "https://redline.example", **changes}
    )
    return scheduler.Delivery.from_settings(settings)


def outbox(desk: Desk) -> list[Any]:
    with desk.engine.connect() as connection:
        return connection.execute(select(Notification).order_by(Notification.id)).all()


def test_an_order_running_out_is_mailed_once_to_every_recipient(
    desk: Desk, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    an_order(desk)
    delivery = configured(
        desk,
        smtp_url=f"smtp://127.0.0.1:{port}",
        alert_email_to="duty@example.org, lead@example.org",
    )
    data = desk.settings.data_dir
    scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=10), delivery=delivery)
    assert inbox.messages == []  # 50 minutes left: nothing to say yet
    done = scheduler.tick(
        desk.engine, FolderStore(data), NOW + timedelta(minutes=50), delivery=delivery
    )
    assert done.delivered["alerts"] == {"sent": 1, "retrying": 0, "failed": 0}
    [(to, mail)] = inbox.messages
    assert to == ["duty@example.org", "lead@example.org"]
    assert mail["Subject"] == "[redline] removal order 1: due soon"
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "removal order TCO-21 (Example authority): due soon" in body
    assert "deadline 2026-03-29T01:30:00+00:00" in body  # UTC, unmoved by the clock change
    assert "https://redline.example/orders" in body
    scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=55), delivery=delivery)
    assert len(inbox.messages) == 1  # once, not every minute
    scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=61), delivery=delivery)
    assert [m["Subject"] for _, m in inbox.messages][-1] == "[redline] removal order 1: overdue"


def test_a_mail_server_that_is_down_loses_nothing(desk: Desk) -> None:
    an_order(desk)
    port = free_port()  # nothing listens here yet
    delivery = configured(
        desk, smtp_url=f"smtp://127.0.0.1:{port}", alert_email_to="duty@example.org"
    )
    data = desk.settings.data_dir
    first = scheduler.tick(
        desk.engine, FolderStore(data), NOW + timedelta(minutes=50), delivery=delivery
    )
    assert first.delivered["alerts"] == {"sent": 0, "retrying": 1, "failed": 0}
    [row] = outbox(desk)
    assert row.sent_at is None and row.attempts == 1 and f"127.0.0.1:{port}" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(minutes=51)  # back off a minute
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        early = scheduler.tick(
            desk.engine,
            FolderStore(data),
            NOW + timedelta(minutes=50, seconds=30),
            delivery=delivery,
        )
        assert early.delivered["alerts"]["sent"] == 0  # not before its retry time
        later = scheduler.tick(
            desk.engine, FolderStore(data), NOW + timedelta(minutes=51), delivery=delivery
        )
    finally:
        server.stop()
    assert later.delivered["alerts"]["sent"] == 1
    assert [m["Subject"] for _, m in inbox.messages] == ["[redline] removal order 1: due soon"]
    [row] = outbox(desk)
    assert row.sent_at == NOW + timedelta(minutes=51) and row.attempts == 2


def test_the_webhook_gets_json_and_a_failing_one_gives_up_on_the_record(
    desk: Desk, receiver: Receiver
) -> None:
    an_order(desk)
    delivery = configured(desk, alert_webhook_url=receiver.url)
    data = desk.settings.data_dir
    receiver.answers = [500] * 100
    when = NOW + timedelta(minutes=50)
    for _ in range(notify.MAX_ATTEMPTS):
        done = scheduler.tick(desk.engine, FolderStore(data), when, delivery=delivery)
        when += timedelta(hours=1)  # past any back-off
    assert done.delivered["alerts"]["failed"] == 1 and receiver.received == []
    receiver.answers = []  # the receiver is back
    scheduler.tick(desk.engine, FolderStore(data), when, delivery=delivery)
    with desk.engine.connect() as connection:
        failed = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "notification.failed")
        ).one()
    assert failed.detail["channel"] == "webhook" and "answered 500" in failed.detail["error"]
    # The overdue alert raised on the way went out once the receiver answered again.
    sent = [r for r in outbox(desk) if r.sent_at is not None]
    assert [r.kind for r in sent] == ["overdue"]
    assert receiver.received[0]["redline"] == {
        "subject_type": "removal_order",
        "subject_id": "1",
        "kind": "overdue",
    }
    assert receiver.received[0]["text"].startswith("removal order 1: overdue\n")


def test_a_webhook_that_redirects_is_not_followed(desk: Desk, receiver: Receiver) -> None:
    an_order(desk)
    receiver.answers = [302]
    delivery = configured(desk, alert_webhook_url=receiver.url)
    done = scheduler.tick(
        desk.engine,
        FolderStore(desk.settings.data_dir),
        NOW + timedelta(minutes=50),
        delivery=delivery,
    )
    assert done.delivered["alerts"]["retrying"] == 1
    assert "answered 302" in outbox(desk)[0].last_error


def test_without_channels_alerts_stay_in_the_audit_trail_only(desk: Desk) -> None:
    an_order(desk)
    done = scheduler.tick(
        desk.engine,
        FolderStore(desk.settings.data_dir),
        NOW + timedelta(minutes=50),
        delivery=configured(desk),
    )
    assert len(done.alerts) == 1 and done.delivered == {} and outbox(desk) == []


def test_channels_come_from_the_settings(desk: Desk) -> None:
    assert notify.channels(desk.settings) == {}
    both = notify.channels(
        desk.settings.model_copy(
            update={
                "smtp_url": "smtps://u:p@mail.example",
                "alert_email_to": "a@example.org,",
                "alert_webhook_url": "https://chat.example/hook",
            }
        )
    )
    assert both["email"] == notify.EmailChannel(
        "smtps://u:p@mail.example", "redline@localhost", ("a@example.org",)
    )
    assert both["webhook"] == notify.WebhookChannel("https://chat.example/hook")
    no_recipient = notify.channels(desk.settings.model_copy(update={"smtp_url": "smtp://m"}))
    assert no_recipient == {}


def test_back_off_doubles_up_to_an_hour() -> None:
    waits = [notify.backoff(n) for n in (1, 2, 3, 7, 12)]
    assert waits == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
