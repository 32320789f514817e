"""Results out to the platform: webhook subscriptions, signed deliveries from the outbox, the
delivery log and replays.

A subscription is an endpoint of the platform's and the events it wants (``store.outbox.EVENTS``:
match found, case opened, decision made, take-down, removal order received, complaint decided).
The change that raises an event writes one outbox row per subscription in its own transaction
(``store.outbox.emit``); ``deliver_due`` sends them afterwards:

* **Signed**: ``Redline-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``,
  as Stripe signs its webhooks; the receiver recomputes it over the raw body and refuses an old
  ``t`` (a replayed capture). ``Redline-Event-Id`` (also ``id`` in the body) is the same on every
  retry and replay: delivery is at least once, so receivers de-duplicate on it.
* **In order per item**: a subscription never gets an item's later event while an earlier one
  for the same item is not delivered (still retrying, or failed and waiting for a replay).
  Different items do not wait for each other.
* **Retried**: any answer but 2xx, a timeout or a refused connection is retried with
  exponential back-off and jitter (``backoff``); after ``MAX_ATTEMPTS`` the row is ``failed``:
  kept, visible in the log, audited, and sent again by ``replay``.
* **Logged**: every attempt, with the status code or the error and how long it took.
* **SSRF-safe**: sent through ``redline.safefetch``; an endpoint on a private, loopback or
  link-local address is refused unless the deployment allows it
  (``REDLINE_WEBHOOK_ALLOW_PRIVATE``), as a platform's internal receiver needs.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, and_, exists, func, select, update
from sqlalchemy.orm import aliased

from redline import __version__, safefetch
from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import WebhookAttempt, WebhookDelivery, WebhookSubscription
from redline.store.audit import record_event
from redline.store.outbox import EVENTS

ACTOR: Final = "scheduler"
SIGNATURE_HEADER: Final = "Redline-Signature"
EVENT_ID_HEADER: Final = "Redline-Event-Id"
EVENT_HEADER: Final = "Redline-Event"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the prefix of generated secrets, not one
TOLERANCE: Final = 300  # seconds a receiver should accept a signature's timestamp for
STATUSES: Final = ("pending", "delivered", "failed", "cancelled")

MAX_ATTEMPTS: Final = 12  # about 14.5 hours of trying, with the waits below
FIRST_RETRY: Final = timedelta(seconds=30)
LONGEST_WAIT: Final = timedelta(hours=6)
JITTER: Final = 0.2  # each wait is its base +/- 20%, so endpoints that failed together spread out
TIMEOUT: Final = 10.0  # seconds per delivery; a slow endpoint must not hold the rest
# A row being delivered is leased for this long (its next attempt moved past the send), so two
# deliverers (the scheduler and `redline webhooks deliver`) do not both send it.
LEASE: Final = timedelta(seconds=3 * TIMEOUT)
MAX_ANSWER: Final = 64_000  # bytes of a 2xx answer read; what it says is not used
MAX_NAME: Final = 100
MAX_URL: Final = 2000


class DeliveryFailed(Exception):
    """An attempt that did not end in a 2xx answer; ``str(error)`` says why, ``status`` is the
    HTTP status when one came back."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


Post = Callable[[str, bytes, Mapping[str, str]], int]
"""``(url, body, headers) -> HTTP status`` of a 2xx answer; raises DeliveryFailed otherwise."""


# --- signatures -----------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: str | bytes) -> str:
    """The ``Redline-Signature`` header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(
    secret: str, header: str, body: str | bytes, now: datetime, tolerance: int = TOLERANCE
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now``: what a receiver checks (the README has it in ten lines of
    the standard library)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A subscription as the CLI, the API and the console show it: never its secret."""

    id: int
    name: str
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: datetime
    removed_at: datetime | None
    pending: int
    failed: int

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the API."""
        return jsonable_dict(
            {
                "id": self.id,
                "name": self.name,
                "url": self.url,
                "events": self.events,
                "active": self.active,
                "created_by": self.created_by,
                "created_at": self.created_at,
                "removed_at": self.removed_at,
                "pending": self.pending,
                "failed": self.failed,
            }
        )


def _printable(text: str) -> bool:
    return not any((c.isspace() and c != " ") or ord(c) < 32 or ord(c) == 127 for c in text)


def _checked_url(url: str) -> str:
    text = url.strip()
    if len(text) > MAX_URL or not _printable(text) or " " in text:
        raise Invalid(f"webhook URL: at most {MAX_URL} characters, no spaces or controls")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - read for its ValueError on a port out of range
    except ValueError as error:
        raise Invalid(f"webhook URL {text[:200]!r}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"webhook URL {text[:200]!r}: an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise Invalid("webhook URL: no credentials in the URL (the signature authenticates)")
    return text


def _checked_events(events: list[str]) -> list[str]:
    wanted = sorted(set(events))
    unknown = [e for e in wanted if e not in EVENTS]
    if unknown or not wanted:
        raise Invalid(
            f"unknown or no events {unknown} (events: {', '.join(EVENTS)})"
            if unknown
            else f"a subscription needs at least one event ({', '.join(EVENTS)})"
        )
    return wanted


def _checked_name(name: str) -> str:
    text = name.strip()
    if not 1 <= len(text) <= MAX_NAME or not _printable(text):
        raise Invalid(f"subscription name: 1-{MAX_NAME} characters, no line breaks or controls")
    return text


def add_subscription(
    connection: Connection, actor: str, name: str, url: str, events: list[str], now: datetime
) -> tuple[int, str]:
    """Subscribe ``url`` to ``events``; (its id, its signing secret). The secret is returned
    this once: the platform keeps it to verify signatures, redline never shows it again."""
    row = {
        "name": _checked_name(name),
        "url": _checked_url(url),
        "events": _checked_events(events),
    }
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription_id = connection.execute(
        WebhookSubscription.__table__.insert().returning(WebhookSubscription.id),
        {**row, "secret": secret, "active": True, "created_by": actor, "created_at": now},
    ).scalar_one()
    record_event(connection, actor, "webhook.subscribe", "webhook", str(subscription_id), after=row)
    return int(subscription_id), secret


def _live(connection: Connection, subscription_id: int) -> Any:
    row = connection.execute(
        select(WebhookSubscription.__table__).where(WebhookSubscription.id == subscription_id)
    ).first()
    if row is None or row.removed_at is not None:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return row


def update_subscription(
    connection: Connection,
    actor: str,
    subscription_id: int,
    *,
    name: str | None = None,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> None:
    """Change a subscription; a paused one (``active`` false) gets no new events and its
    pending deliveries wait until it is active again."""
    row = _live(connection, subscription_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _checked_name(name)
    if url is not None:
        changes["url"] = _checked_url(url)
    if events is not None:
        changes["events"] = _checked_events(events)
    if active is not None:
        changes["active"] = active
    if not changes:
        return
    connection.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(**changes)
    )
    record_event(
        connection,
        actor,
        "webhook.update",
        "webhook",
        str(subscription_id),
        before={k: getattr(row, k) for k in changes},
        after=changes,
    )


def remove_subscription(
    connection: Connection, actor: str, subscription_id: int, now: datetime
) -> int:
    """Unsubscribe: no more events, its pending deliveries cancelled (kept in the log); the
    number cancelled."""
    row = _live(connection, subscription_id)
    connection.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(active=False, removed_at=now)
    )
    cancelled = connection.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == "pending",
        )
        .values(status="cancelled")
    ).rowcount
    record_event(
        connection,
        actor,
        "webhook.remove",
        "webhook",
        str(subscription_id),
        before={"name": row.name, "url": row.url, "events": row.events},
        detail={"cancelled": cancelled},
    )
    return int(cancelled)


def list_subscriptions(
    connection: Connection, *, include_removed: bool = False
) -> list[SubscriptionView]:
    """Subscriptions, oldest first, with their pending and failed deliveries counted."""
    counts: dict[tuple[int, str], int] = {
        (int(s), str(st)): int(n)
        for s, st, n in connection.execute(
            select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
            .where(WebhookDelivery.status.in_(("pending", "failed")))
            .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
        )
    }
    query = select(WebhookSubscription.__table__).order_by(WebhookSubscription.id)
    if not include_removed:
        query = query.where(WebhookSubscription.removed_at.is_(None))
    return [
        SubscriptionView(
            r.id,
            r.name,
            r.url,
            list(r.events),
            r.active,
            r.created_by,
            r.created_at,
            r.removed_at,
            counts.get((r.id, "pending"), 0),
            counts.get((r.id, "failed"), 0),
        )
        for r in connection.execute(query)
    ]


def get_subscription(connection: Connection, subscription_id: int) -> SubscriptionView:
    """One subscription; NotFound when there is none (or it was removed)."""
    for found in list_subscriptions(connection):
        if found.id == subscription_id:
            return found
    raise NotFound(f"no webhook subscription {subscription_id}")


# --- the delivery log -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One attempt of a delivery."""

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return jsonable_dict(
            {
                "attempted_at": self.attempted_at,
                "status_code": self.status_code,
                "error": self.error,
                "duration_ms": self.duration_ms,
            }
        )


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One event on its way to one subscription, as the log shows it."""

    id: int
    subscription_id: int
    subscription: str
    event_id: str
    event: str
    item_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    waiting_on: int | None  # an earlier delivery for the same item it waits for
    tried: list[AttemptView]

    @property
    def replayable(self) -> bool:
        """Whether ``replay`` takes it (a failed delivery)."""
        return self.status == "failed"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the API."""
        return jsonable_dict(
            {
                "id": self.id,
                "subscription_id": self.subscription_id,
                "subscription": self.subscription,
                "event_id": self.event_id,
                "event": self.event,
                "item_id": self.item_id,
                "status": self.status,
                "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at if self.status == "pending" else None,
                "last_status": self.last_status,
                "last_error": self.last_error,
                "created_at": self.created_at,
                "delivered_at": self.delivered_at,
                "failed_at": self.failed_at,
                "waiting_on": self.waiting_on,
                "log": [a.as_dict() for a in self.tried],
            }
        )


_UNSENT: Final = ("pending", "failed")  # what holds back the later events of the same item


def _earlier_unsent() -> Any:
    """SQL: the first earlier delivery of the same item to the same subscription that has not
    gone (pending or failed), for the row ``WebhookDelivery``; the per-item order hangs on it."""
    earlier = aliased(WebhookDelivery)
    return (
        select(func.min(earlier.id))
        .where(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.item_id == WebhookDelivery.item_id,
            earlier.id < WebhookDelivery.id,
            earlier.status.in_(_UNSENT),
        )
        .scalar_subquery()
    )


def list_deliveries(
    connection: Connection,
    *,
    status: str | None = None,
    subscription_id: int | None = None,
    item_id: int | None = None,
    limit: int = 200,
) -> list[DeliveryView]:
    """The delivery log, newest first, each with its attempts."""
    if status is not None and status not in STATUSES:
        raise Invalid(f"unknown delivery status {status!r} ({', '.join(STATUSES)})")
    if not 1 <= limit <= 10_000:
        raise Invalid("limit: 1 to 10000")
    query = (
        select(
            WebhookDelivery.__table__,
            WebhookSubscription.name.label("subscription"),
            _earlier_unsent().label("waiting_on"),
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if item_id is not None:
        query = query.where(WebhookDelivery.item_id == item_id)
    rows = connection.execute(query).all()
    tried: dict[int, list[AttemptView]] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for a in connection.execute(
            select(WebhookAttempt.__table__)
            .where(WebhookAttempt.delivery_id.in_(ids[start : start + 500]))
            .order_by(WebhookAttempt.id)
        ):
            tried.setdefault(a.delivery_id, []).append(
                AttemptView(a.attempted_at, a.status_code, a.error, a.duration_ms)
            )
    return [
        DeliveryView(
            r.id,
            r.subscription_id,
            r.subscription,
            r.event_id,
            r.event,
            r.item_id,
            r.status,
            r.attempts,
            r.next_attempt_at,
            r.last_status,
            r.last_error,
            r.created_at,
            r.delivered_at,
            r.failed_at,
            r.waiting_on if r.status == "pending" else None,
            tried.get(r.id, []),
        )
        for r in rows
    ]


def get_delivery(connection: Connection, delivery_id: int) -> DeliveryView:
    """One delivery with its attempts; NotFound when there is none."""
    row = connection.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.item_id).where(
            WebhookDelivery.id == delivery_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    for found in list_deliveries(
        connection, subscription_id=row.subscription_id, item_id=row.item_id, limit=10_000
    ):
        if found.id == delivery_id:
            return found
    raise NotFound(f"no webhook delivery {delivery_id}")  # pragma: no cover - read just above


def replay(connection: Connection, delivery_id: int, actor: str, now: datetime) -> None:
    """Send a failed delivery again, from its first attempt's budget: the same body, event id
    and order (the item's later events still wait for it); audited. Conflict unless it failed,
    or when its subscription was removed."""
    row = connection.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.status,
            WebhookDelivery.event_id,
            WebhookDelivery.attempts,
            WebhookSubscription.removed_at,
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    if row.removed_at is not None:
        raise Conflict(f"delivery {delivery_id}: its subscription was removed")
    if row.status != "failed":
        raise Conflict(f"delivery {delivery_id} is {row.status}: only a failed one is replayed")
    connection.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now, failed_at=None)
    )
    record_event(
        connection,
        actor,
        "webhook.replay",
        "webhook_delivery",
        str(delivery_id),
        before={"status": "failed", "attempts": row.attempts},
        after={"status": "pending"},
        detail={"event_id": row.event_id},
    )


# --- delivery -------------------------------------------------------------------------------


def backoff(attempts: int, jitter: float = 0.5) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 30 s, 1 min, 2 min ... at most six
    hours, each stretched or shrunk by up to ``JITTER`` (``jitter`` in [0, 1): 0.5 is the
    base)."""
    base = min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 30)), LONGEST_WAIT)
    return base * (1 + JITTER * (2 * jitter - 1))


def safe_post(*, allow_private: bool = False, timeout: float = TIMEOUT) -> Post:
    """A ``Post`` through ``redline.safefetch``: only public addresses unless
    ``allow_private``, no redirects followed, at most ``timeout`` seconds to connect and to
    read, twice that for everything."""

    def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            answer = safefetch.fetch(
                url,
                user_agent=f"redline-webhooks/{__version__}",
                allow_private=allow_private,
                timeout=timeout,
                max_redirects=0,
                max_bytes=MAX_ANSWER,
                post=body,
                headers=headers,
            )
        except safefetch.FetchFailed as error:
            if error.status in safefetch.REDIRECT_STATUSES:
                raise DeliveryFailed(
                    f"answered {error.status} (a redirect: webhooks do not follow them)",
                    error.status,
                ) from None
            raise DeliveryFailed(str(error), error.status) from None
        if not 200 <= answer.status < 300:
            raise DeliveryFailed(f"answered {answer.status}", answer.status)
        return answer.status

    return post


@dataclass
class Delivered:
    """What one ``deliver_due`` run did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain data for --json."""
        return {"delivered": self.delivered, "retrying": self.retrying, "failed": self.failed}


def _due(connection: Connection, now: datetime, limit: int) -> list[Any]:
    """Pending rows whose time has come and that wait for no earlier row of the same item,
    oldest first, with where to send them."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.subscription_id == WebhookDelivery.subscription_id,
        earlier.item_id == WebhookDelivery.item_id,
        earlier.id < WebhookDelivery.id,
        earlier.status.in_(_UNSENT),
    )
    return list(
        connection.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.event_id,
                WebhookDelivery.event,
                WebhookDelivery.body,
                WebhookDelivery.attempts,
                WebhookDelivery.next_attempt_at,
                WebhookSubscription.url,
                WebhookSubscription.secret,
            )
            .join(
                WebhookSubscription,
                and_(
                    WebhookSubscription.id == WebhookDelivery.subscription_id,
                    WebhookSubscription.active.is_(True),
                ),
            )
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .where(~blocked)
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )


def _claim(engine: Engine, row: Any, now: datetime) -> bool:
    """Lease ``row`` for this deliverer; False when another took it first."""
    with engine.begin() as connection:
        taken = connection.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == row.id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at == row.next_attempt_at,
            )
            .values(next_attempt_at=now + LEASE)
        ).rowcount
    return bool(taken)


def deliver_due(
    engine: Engine,
    now: datetime,
    *,
    post: Post | None = None,
    allow_private: bool = False,
    timeout: float = TIMEOUT,
    jitter: Callable[[], float] = random.random,
    limit: int = 1000,
) -> Delivered:
    """Send what is due, oldest first and in order per item; the counts.

    Each send happens outside any transaction (an endpoint can take seconds) and its outcome,
    the attempt's log row included, is recorded in a transaction of its own. When an item's
    event goes, the item's next one is sent in the same run. At most ``limit`` attempts."""
    send = post or safe_post(allow_private=allow_private, timeout=timeout)
    done = Delivered()
    tried: set[int] = set()
    while len(tried) < limit:
        with engine.connect() as connection:
            due = [r for r in _due(connection, now, limit - len(tried)) if r.id not in tried]
        if not due:
            break
        for row in due:
            tried.add(row.id)
            if not _claim(engine, row, now):
                continue
            outcome = _attempt(send, row, now)
            _record(engine, row, outcome, now, jitter())
            if outcome.error is None:
                done.delivered += 1
            elif row.attempts + 1 >= MAX_ATTEMPTS:
                done.failed += 1
            else:
                done.retrying += 1
    return done


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: int | None
    error: str | None
    duration_ms: int


def _attempt(send: Post, row: Any, now: datetime) -> _Outcome:
    timestamp = int(now.timestamp())
    body = row.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(row.secret, timestamp, body),
        EVENT_ID_HEADER: row.event_id,
        EVENT_HEADER: row.event,
    }
    started = time.monotonic()
    try:
        status: int | None = send(row.url, body, headers)
        error = None
    except DeliveryFailed as failure:
        status, error = failure.status, str(failure)[:2000]
    return _Outcome(status, error, round((time.monotonic() - started) * 1000))


def _record(engine: Engine, row: Any, outcome: _Outcome, now: datetime, jitter: float) -> None:
    attempts = row.attempts + 1
    with engine.begin() as connection:
        connection.execute(
            WebhookAttempt.__table__.insert(),
            {
                "delivery_id": row.id,
                "attempted_at": now,
                "status_code": outcome.status,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
            },
        )
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status": outcome.status,
            "last_error": outcome.error,
        }
        if outcome.error is None:
            values.update(status="delivered", delivered_at=now)
        elif attempts >= MAX_ATTEMPTS:
            values.update(status="failed", failed_at=now)
        else:
            values.update(next_attempt_at=now + backoff(attempts, jitter))
        connection.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == row.id).values(**values)
        )
        if values.get("status") == "failed":
            record_event(
                connection,
                ACTOR,
                "webhook.failed",
                "webhook_delivery",
                str(row.id),
                detail={
                    "event_id": row.event_id,
                    "event": row.event,
                    "url": row.url,
                    "attempts": attempts,
                    "error": outcome.error,
                },
            )
