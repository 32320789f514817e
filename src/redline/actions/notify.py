"""Alerts to the team, through the channels a deployment configures: e-mail and webhooks.

The scheduler finds what needs attention (an order's hour running out, a complaint's two
weeks); this module gets it to people who are not looking at the console. An alert goes into
an outbox (``notifications``) in the same transaction that raises it, one row per channel, and
is sent after that transaction, so a mail server that is down loses nothing: the row is tried
again with back-off, and after ``MAX_ATTEMPTS`` it is marked failed and audited. A crash
between sending and recording sends it once more (at least once, never zero times).

A channel is anything with a ``name`` and a ``send(title, body, data)`` that raises
``DeliveryFailed``; ``channels(settings)`` builds the configured ones.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Final, Protocol, TypedDict
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Engine, select, update

from redline.config import Settings
from redline.model import Notification
from redline.store.audit import record_event

ACTOR: Final = "scheduler"
MAX_ATTEMPTS: Final = 12
TIMEOUT: Final = 10.0  # seconds, per delivery; the scheduler must not hang on a dead server
FIRST_RETRY: Final = timedelta(minutes=1)
LONGEST_WAIT: Final = timedelta(hours=1)


class DeliveryFailed(Exception):
    """A channel could not deliver; the message says why, for the outbox row."""


class Channel(Protocol):
    """Somewhere alerts go."""

    @property
    def name(self) -> str:
        """The channel's name in the outbox (``email``, ``webhook``)."""

    def send(self, title: str, body: str, data: Mapping[str, Any]) -> None:
        """Deliver one message or raise DeliveryFailed."""


@dataclass(frozen=True)
class EmailChannel:
    """Alerts by e-mail through an SMTP server (``smtp://`` with STARTTLS when offered,
    ``smtps://`` for TLS from the start; user and password in the URL when it needs them)."""

    url: str
    sender: str
    recipients: tuple[str, ...]
    name: str = "email"

    def send(self, title: str, body: str, data: Mapping[str, Any]) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise DeliveryFailed(f"not an smtp:// or smtps:// URL: {parts.scheme}://...")
        message = EmailMessage()
        message["From"], message["To"] = self.sender, ", ".join(self.recipients)
        message["Subject"] = f"[redline] {title}"
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid()
        message.set_content(body)
        client = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        try:
            with client(parts.hostname, port, timeout=TIMEOUT) as smtp:
                if parts.scheme == "smtp":
                    smtp.ehlo()
                    if smtp.has_extn("starttls"):
                        smtp.starttls(context=ssl.create_default_context())
                        smtp.ehlo()
                if parts.username:
                    smtp.login(unquote(parts.username), unquote(parts.password or ""))
                refused = smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"{parts.hostname}:{port}: {error}") from None
        if refused:
            raise DeliveryFailed(f"refused recipients: {', '.join(sorted(refused))}")


@dataclass(frozen=True)
class WebhookChannel:
    """Alerts POSTed as JSON to an incoming webhook (Slack, Mattermost, a pager's relay):
    ``{"text": title and body, "redline": data}``. The URL is the operator's own
    configuration, so unlike liveness checks it may be on the internal network; redirects
    are not followed (a webhook that moved is a configuration error to see, not to chase)."""

    url: str
    name: str = "webhook"

    def send(self, title: str, body: str, data: Mapping[str, Any]) -> None:
        post(self.url, {"text": f"{title}\n{body}", "redline": dict(data)})


def post(url: str, payload: Mapping[str, Any]) -> None:
    """POST JSON to a webhook; DeliveryFailed unless it answers 2xx."""
    # Imported here: this module is loaded by every server and worker at start-up, and httpx
    # (with the command-line client it loads) costs 0.1-0.2 s of it; few ever send an alert.
    import httpx

    try:
        response = httpx.post(url, json=payload, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"{urlsplit(url).netloc}: {error!r}") from None
    if not response.is_success:
        raise DeliveryFailed(f"{urlsplit(url).netloc} answered {response.status_code}")


def channels(settings: Settings) -> dict[str, Channel]:
    """The alert channels this deployment configured, by name (none: alerts are only in the
    audit trail, the worker's output and the console)."""
    found: dict[str, Channel] = {}
    recipients = tuple(a.strip() for a in settings.alert_email_to.split(",") if a.strip())
    if settings.smtp_url and recipients:
        found["email"] = EmailChannel(settings.smtp_url, settings.alert_email_from, recipients)
    if settings.alert_webhook_url:
        found["webhook"] = WebhookChannel(settings.alert_webhook_url)
    return found


def enqueue(
    connection: Connection,
    names: list[str],
    subject_type: str,
    subject_id: str,
    kind: str,
    title: str,
    body: str,
    now: datetime,
) -> None:
    """Put an alert in the outbox for each channel, in the caller's transaction."""
    for name in names:
        connection.execute(
            Notification.__table__.insert(),
            {
                "channel": name,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "kind": kind,
                "title": title,
                "body": body,
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            },
        )


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4 ... minutes, at most an hour."""
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), LONGEST_WAIT)


class RetryColumns(TypedDict):
    """An outbox row's retry columns."""

    attempts: int
    last_error: str
    next_attempt_at: datetime


def failed_attempt(attempts: int, error: DeliveryFailed, now: datetime) -> RetryColumns:
    """An outbox row's retry columns after its ``attempts``-th failure (alerts and notices
    share them, so the back-off policy is in one place)."""
    return RetryColumns(
        attempts=attempts, last_error=str(error)[:2000], next_attempt_at=now + backoff(attempts)
    )


def deliver(engine: Engine, found: Mapping[str, Channel], now: datetime) -> dict[str, int]:
    """Send every outbox row that is due; counts of ``sent``, ``retrying`` and ``failed``.

    Each send happens outside any transaction (an SMTP server can take seconds) and its
    outcome is recorded in a transaction of its own. A row whose channel is no longer
    configured waits; it goes once the channel is back."""
    with engine.connect() as connection:
        due = connection.execute(
            select(Notification.__table__)
            .where(Notification.sent_at.is_(None), Notification.failed_at.is_(None))
            .where(Notification.next_attempt_at <= now)
            .where(Notification.channel.in_(list(found)))
            .order_by(Notification.id)
        ).all()
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    for row in due:
        data = {"subject_type": row.subject_type, "subject_id": row.subject_id, "kind": row.kind}
        try:
            found[row.channel].send(row.title, row.body, data)
        except DeliveryFailed as error:
            attempts = row.attempts + 1
            gave_up = attempts >= MAX_ATTEMPTS
            with engine.begin() as connection:
                connection.execute(
                    update(Notification)
                    .where(Notification.id == row.id)
                    .values(
                        **failed_attempt(attempts, error, now), failed_at=now if gave_up else None
                    )
                )
                if gave_up:
                    record_event(
                        connection,
                        ACTOR,
                        "notification.failed",
                        "notification",
                        str(row.id),
                        detail={
                            "channel": row.channel,
                            "title": row.title,
                            "error": str(error)[:2000],
                        },
                    )
            counts["failed" if gave_up else "retrying"] += 1
            continue
        with engine.begin() as connection:
            connection.execute(
                update(Notification)
                .where(Notification.id == row.id)
                .values(sent_at=now, attempts=row.attempts + 1, last_error=None)
            )
        counts["sent"] += 1
    return counts
