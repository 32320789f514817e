"""Removal orders under EU Regulation 2021/784 (terrorist content online, "TCO").

A hosting service must remove or disable the content an order names within one hour of
receiving it. The deadline is computed once, in UTC, from the recorded receipt time; local
clocks, daylight-saving changes and midnight play no part. Every step is audited with the
order's legal basis, and a step that fails changes nothing (one transaction per step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, TypedDict

from sqlalchemy import Connection, func, or_, select, update

from redline.actions.preservation import take_down
from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import Case, Item, ItemMedia, Media, RemovalOrder, RemovalOrderUrl, Signal
from redline.signals import url as url_signal
from redline.store import outbox
from redline.store.audit import record_event

ORDER_WINDOW: Final = timedelta(hours=1)  # Article 3(3)
WARN_BEFORE: Final = timedelta(minutes=15)
ACTIONS: Final = ("removed", "disabled")
OPEN: Final = ("received", "in_progress")
MAX_SECRECY: Final = timedelta(weeks=12)
# Article 2(7): what the order says the content is.
CONTENT_TYPES: Final = {
    "incitement": "(a) incites the commission of terrorist offences",
    "solicitation": "(b) solicits a person or group to commit or contribute to them",
    "participation": "(c) solicits participation in the activities of a terrorist group",
    "instruction": "(d) provides instruction on making or using weapons for terrorist purposes",
    "threat": "(e) constitutes a threat to commit a terrorist offence",
}


def parse_time(text: str, name: str, assume: tzinfo | None = None) -> datetime:
    """An ISO 8601 time with its UTC offset (``2026-03-29T01:30:00+01:00``); Invalid for a
    time without one, unless ``assume`` gives its zone: a receipt time whose zone is guessed
    gives a wrong legal deadline, but a form that says which zone it means may leave it out
    (a browser's date-time field sends no offset)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"{name}: not an ISO 8601 time: {text!r} (e.g. 2027-12-31T00:00:00Z)"
        ) from None
    if value.tzinfo is None:
        if assume is None:
            raise Invalid(f"{name}: {text!r} has no UTC offset (write e.g. +01:00 or Z)")
        value = value.replace(tzinfo=assume)
    return value


@dataclass(frozen=True, slots=True)
class OrderIn:
    """A removal order as received (the fields of Annex I that redline keeps)."""

    authority: str
    reference: str
    issued_at: datetime
    received_at: datetime
    urls: list[str]
    reasons: str
    legal_basis: str = "Regulation (EU) 2021/784, Article 3"
    confidential: bool = False
    confidential_reason: str | None = None
    authority_contact: str | None = None
    content_type: str | None = None
    redress: str | None = None
    signed_by: str | None = None
    confidential_until: datetime | None = None  # default: six weeks from issue

    def problems(self) -> list[str]:
        """Everything wrong with the order's fields, in one list."""
        found = []
        for name, limit in (
            ("authority", 300),
            ("reference", 200),
            ("reasons", 20_000),
            ("legal_basis", 2_000),
        ):
            value = getattr(self, name).strip()
            if not value:
                found.append(f"{name} is empty")
            elif len(value) > limit:
                found.append(f"{name} is longer than {limit} characters")
        for name in ("issued_at", "received_at"):
            if getattr(self, name).tzinfo is None:
                found.append(f"{name} has no UTC offset")
        if not found and self.received_at < self.issued_at:
            found.append("received_at is before issued_at")
        if not self.urls:
            found.append("no URL")
        if len(self.urls) > 1000:
            found.append("more than 1000 URLs in one order")
        if self.content_type is not None and self.content_type not in CONTENT_TYPES:
            found.append(f"content_type must be one of {', '.join(CONTENT_TYPES)}")
        for name in ("authority_contact", "redress", "signed_by"):
            if len(getattr(self, name) or "") > 5000:
                found.append(f"{name} is longer than 5000 characters")
        for name in (
            "authority",
            "reference",
            "reasons",
            "legal_basis",
            "confidential_reason",
            "authority_contact",
            "redress",
            "signed_by",
        ):
            if "\x00" in (getattr(self, name) or ""):  # PostgreSQL's text cannot hold it
                found.append(f"{name} contains a NUL character")
        if self.confidential and not (self.confidential_reason or "").strip():
            found.append("a confidential order needs the authority's reason for confidentiality")
        if self.confidential_until is not None:
            if not self.confidential:
                found.append("confidential_until without a reason for confidentiality")
            elif self.confidential_until.tzinfo is None:
                found.append("confidential_until has no UTC offset")
            elif not self.issued_at < self.confidential_until <= self.issued_at + MAX_SECRECY:
                found.append(
                    "confidential_until must fall within twelve weeks of the issue"
                    " (Article 11(3): six weeks, extended by six at most)"
                )
        return found


class OrderUrl(TypedDict):
    """One URL of an order and what was done about it (``action`` and ``acted_at`` None while
    pending, ``not_executed_reason`` when it was not)."""

    url: str
    item_id: int
    action: str | None
    acted_at: datetime | None
    not_executed_reason: str | None


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with its URLs and what was done, as the console, API and report show it."""

    id: int
    authority: str
    reference: str
    issued_at: datetime
    received_at: datetime
    deadline_at: datetime
    status: str
    reasons: str
    legal_basis: str
    confidential: bool
    confidential_reason: str | None
    closed_at: datetime | None
    urls: list[OrderUrl] = field(default_factory=list)
    # authority_contact, content_type, redress, signed_by: the rest of the Annex I fields.
    annex: dict[str, str | None] = field(default_factory=dict)
    confidential_until: datetime | None = None

    def seconds_left(self, now: datetime) -> int:
        """Seconds until the deadline (negative once it has passed)."""
        return int((self.deadline_at - now).total_seconds())

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """Plain data for JSON, with the countdown at ``now``."""
        return jsonable_dict(
            {
                "id": self.id,
                "authority": self.authority,
                "reference": self.reference,
                "issued_at": self.issued_at,
                "received_at": self.received_at,
                "deadline_at": self.deadline_at,
                "seconds_left": self.seconds_left(now),
                "status": self.status,
                "reasons": self.reasons,
                "legal_basis": self.legal_basis,
                "confidential": self.confidential,
                "confidential_reason": self.confidential_reason,
                "confidential_until": self.confidential_until,
                "closed_at": self.closed_at,
                **self.annex,
                "urls": self.urls,
            }
        )


def _items_by_url(connection: Connection, canonical: url_signal.CanonicalUrl) -> int | None:
    """The item the store has at this address: an item posted at it, or a URL-list entry."""
    posted = connection.scalar(
        select(Item.id)
        .where(or_(Item.url == canonical.original, Item.url == canonical.canonical))
        .order_by(Item.id)
        .limit(1)
    )
    if posted is not None:
        return int(posted)
    listed = connection.scalar(
        select(Signal.item_id)
        .where(Signal.signal_type == url_signal.SIGNAL_TYPE, Signal.value == canonical.canonical)
        .where(Signal.item_id.is_not(None))
        .order_by(Signal.item_id)
        .limit(1)
    )
    return int(listed) if listed is not None else None


def register_order(connection: Connection, actor: str, order: OrderIn, now: datetime) -> int:
    """Record a received order; Invalid (bad field, malformed URL, URL not in the store) or
    Conflict (the authority's reference number is already registered). Nothing is stored
    unless everything is right."""
    problems = order.problems()
    resolved: dict[str, int] = {}
    for raw in order.urls:
        try:
            canonical = url_signal.canonicalise(raw)
        except url_signal.BadUrl as error:
            problems.append(f"{raw!r}: {error}")
            continue
        item = _items_by_url(connection, canonical)
        if item is None:
            problems.append(f"{canonical.canonical}: no item with this URL in the store")
        else:
            resolved[canonical.canonical] = item
    if problems:
        raise Invalid("; ".join(problems))
    taken = connection.scalar(
        select(RemovalOrder.id).where(
            RemovalOrder.authority == order.authority.strip(),
            RemovalOrder.reference == order.reference.strip(),
        )
    )
    if taken is not None:
        raise Conflict(
            f"order {order.reference!r} of {order.authority!r} is registered already"
            f" (order {taken})"
        )
    deadline = order.received_at + ORDER_WINDOW
    order_id = connection.execute(
        RemovalOrder.__table__.insert().returning(RemovalOrder.id),
        {
            "authority": order.authority.strip(),
            "reference": order.reference.strip(),
            "issued_at": order.issued_at,
            "received_at": order.received_at,
            "deadline_at": deadline,
            "reasons": order.reasons.strip(),
            "legal_basis": order.legal_basis.strip(),
            "confidential": order.confidential,
            "confidential_reason": order.confidential_reason,
            "status": "received",
            "authority_contact": order.authority_contact,
            "content_type": order.content_type,
            "redress": order.redress,
            "signed_by": order.signed_by,
            "confidential_until": order.confidential_until if order.confidential else None,
            "created_by": actor,
            "created_at": now,
        },
    ).scalar_one()
    connection.execute(
        RemovalOrderUrl.__table__.insert(),
        [{"order_id": order_id, "url": url, "item_id": item} for url, item in resolved.items()],
    )
    told = {
        "order_id": int(order_id),
        "authority": order.authority.strip(),
        "reference": order.reference.strip(),
        "received_at": order.received_at,
        "deadline_at": deadline,
        "confidential": order.confidential,
    }
    outbox.emit_many(
        connection,
        "removal_order.received",
        [(item, {**told, "url": url}) for url, item in resolved.items()],
        now,
    )
    record_event(
        connection,
        actor,
        "order.register",
        "removal_order",
        str(order_id),
        after={
            "authority": order.authority,
            "reference": order.reference,
            "received_at": order.received_at.isoformat(),
            "deadline_at": deadline.isoformat(),
            "urls": list(resolved),
        },
        detail={"legal_basis": order.legal_basis},
    )
    return int(order_id)


def get_order(connection: Connection, order_id: int) -> OrderView:
    """An order with its URLs; NotFound when there is none."""
    row = connection.execute(
        select(RemovalOrder.__table__).where(RemovalOrder.id == order_id)
    ).first()
    if row is None:
        raise NotFound(f"no removal order {order_id}")
    urls = [
        OrderUrl(
            url=r.url,
            item_id=r.item_id,
            action=r.action,
            acted_at=r.acted_at,
            not_executed_reason=r.not_executed_reason,
        )
        for r in connection.execute(
            select(
                RemovalOrderUrl.url,
                RemovalOrderUrl.item_id,
                RemovalOrderUrl.action,
                RemovalOrderUrl.acted_at,
                RemovalOrderUrl.not_executed_reason,
            )
            .where(RemovalOrderUrl.order_id == order_id)
            .order_by(RemovalOrderUrl.id)
        )
    ]
    o = row._mapping
    return OrderView(
        o["id"],
        o["authority"],
        o["reference"],
        o["issued_at"],
        o["received_at"],
        o["deadline_at"],
        o["status"],
        o["reasons"],
        o["legal_basis"],
        o["confidential"],
        o["confidential_reason"],
        o["closed_at"],
        urls,
        {k: o[k] for k in ("authority_contact", "content_type", "redress", "signed_by")},
        o["confidential_until"],
    )


class OrderedItem(TypedDict):
    """The item an order's URL names, as the console links it: its case (None: no signal
    opened one) and the media a blurred preview can show (images and videos, in item order)."""

    item_id: int
    case_id: int | None
    case_status: str | None
    previews: list[str]  # media SHA-256s


def ordered_items(connection: Connection, views: list[OrderView]) -> dict[int, OrderedItem]:
    """The items the URLs of ``views`` name, by item id."""
    item_ids = sorted({u["item_id"] for view in views for u in view.urls})
    if not item_ids:
        return {}
    found = {
        int(r.item_id): OrderedItem(
            item_id=int(r.item_id), case_id=r.case_id, case_status=r.status, previews=[]
        )
        for r in connection.execute(
            select(Item.id.label("item_id"), Case.id.label("case_id"), Case.status)
            .outerjoin(Case, Case.item_id == Item.id)
            .where(Item.id.in_(item_ids))
        )
    }
    for item_id, sha256 in connection.execute(
        select(ItemMedia.item_id, ItemMedia.media_sha256)
        .join(Media, Media.sha256 == ItemMedia.media_sha256)
        .where(ItemMedia.item_id.in_(item_ids), Media.kind.in_(("image", "video")))
        .order_by(ItemMedia.item_id, ItemMedia.position)
    ):
        found[int(item_id)]["previews"].append(str(sha256))
    return found


def list_orders(connection: Connection, *, open_only: bool = False) -> list[OrderView]:
    """Orders, the nearest deadline first."""
    query = select(RemovalOrder.id).order_by(RemovalOrder.deadline_at, RemovalOrder.id)
    if open_only:
        query = query.where(RemovalOrder.status.in_(OPEN))
    return [get_order(connection, int(i)) for i in connection.scalars(query)]


def _settle(connection: Connection, order_id: int, now: datetime) -> str:
    """Move the order's status on from its URLs' state; the new status."""
    rows = connection.execute(
        select(RemovalOrderUrl.action, RemovalOrderUrl.not_executed_reason).where(
            RemovalOrderUrl.order_id == order_id
        )
    ).all()
    acted = sum(1 for r in rows if r.action)
    refused = sum(1 for r in rows if r.not_executed_reason)
    if acted + refused < len(rows):
        status, closed = "in_progress", None
    elif refused == 0:
        status, closed = "executed", now
    elif acted == 0:
        status, closed = "not_executed", now
    else:
        status, closed = "partially_executed", now
    connection.execute(
        update(RemovalOrder)
        .where(RemovalOrder.id == order_id)
        .values(status=status, closed_at=closed)
    )
    return status


def _order_url(connection: Connection, order_id: int, url: str) -> Any:
    order = get_order(connection, order_id)
    try:
        canonical = url_signal.canonicalise(url).canonical
    except url_signal.BadUrl as error:
        raise Invalid(f"{url!r}: {error}") from None
    row = connection.execute(
        select(RemovalOrderUrl.__table__).where(
            RemovalOrderUrl.order_id == order_id, RemovalOrderUrl.url == canonical
        )
    ).first()
    if row is None:
        raise NotFound(f"order {order_id} does not name {canonical}")
    if row.action or row.not_executed_reason:
        raise Conflict(f"{canonical} of order {order_id} is settled already")
    return order, row


def execute(
    connection: Connection, actor: str, order_id: int, url: str, action: str, now: datetime
) -> str:
    """Record that a URL of the order was removed or its access disabled; the order's status.

    Audited with the legal basis and whether the one-hour deadline was kept.
    """
    if action not in ACTIONS:
        raise Invalid(f"unknown action {action!r} (actions: {', '.join(ACTIONS)})")
    order, row = _order_url(connection, order_id, url)
    connection.execute(
        update(RemovalOrderUrl)
        .where(RemovalOrderUrl.id == row.id)
        .values(action=action, acted_at=now)
    )
    # The item goes out of view and into preservation, in the same transaction as the step.
    take_down(
        connection,
        actor,
        row.item_id,
        action,
        now,
        order_id=order_id,
        legal_basis=order.legal_basis,
    )
    status = _settle(connection, order_id, now)
    record_event(
        connection,
        actor,
        f"order.{action}",
        "removal_order",
        str(order_id),
        before={"url": row.url, "action": None, "order_status": order.status},
        after={"url": row.url, "action": action, "order_status": status},
        detail={
            "legal_basis": order.legal_basis,
            "item": row.item_id,
            "within_deadline": now <= order.deadline_at,
        },
    )
    return status


def not_executed(
    connection: Connection, actor: str, order_id: int, url: str, reason: str, now: datetime
) -> str:
    """Record that a URL could not be acted on, and why (Article 3(7), 3(8)); the status."""
    if not reason.strip() or len(reason) > 5000:
        raise Invalid("the reason is required (at most 5000 characters)")
    order, row = _order_url(connection, order_id, url)
    connection.execute(
        update(RemovalOrderUrl)
        .where(RemovalOrderUrl.id == row.id)
        .values(not_executed_reason=reason.strip(), acted_at=now)
    )
    status = _settle(connection, order_id, now)
    record_event(
        connection,
        actor,
        "order.not_executed",
        "removal_order",
        str(order_id),
        before={"url": row.url, "order_status": order.status},
        after={"url": row.url, "not_executed_reason": reason.strip(), "order_status": status},
        detail={"legal_basis": order.legal_basis},
    )
    return status


def alerts(connection: Connection, now: datetime) -> list[tuple[OrderView, str]]:
    """Open orders that need attention: ``due_soon`` (less than WARN_BEFORE left) or
    ``overdue``; the scheduler sends these, nothing depends on a browser being open."""
    found = []
    for order in list_orders(connection, open_only=True):
        if now >= order.deadline_at:
            found.append((order, "overdue"))
        elif now >= order.deadline_at - WARN_BEFORE:
            found.append((order, "due_soon"))
    return found


def urgent(connection: Connection, now: datetime) -> dict[str, int]:
    """How many open orders are overdue and how many are due within WARN_BEFORE: the console's
    banner on every page, one count rather than ``alerts``' full views (orders are few)."""
    deadline = RemovalOrder.deadline_at
    row = connection.execute(
        select(
            func.count().filter(deadline <= now),
            func.count().filter(deadline > now, deadline <= now + WARN_BEFORE),
        ).where(RemovalOrder.status.in_(OPEN))
    ).one()
    return {"overdue": int(row[0]), "due_soon": int(row[1])}


def report(order: OrderView, provider: str) -> str:
    """The report back to the issuing authority (Article 3(6)): what was done, when, and what
    could not be done and why."""
    lines = [
        f"To: {order.authority}",
        f"Re: removal order {order.reference}",
        f"From: {provider}",
        "",
        f"Order received: {order.received_at.isoformat()} (UTC {_utc(order.received_at)})",
        f"Deadline: {_utc(order.deadline_at)} UTC",
        f"Status: {order.status.replace('_', ' ')}",
        "",
    ]
    for u in order.urls:
        acted_at = u["acted_at"]
        if u["action"] and acted_at is not None:  # acting on a URL records both together
            kept = "within" if acted_at <= order.deadline_at else "AFTER"
            lines.append(
                f"- {u['url']}: {u['action']} at {_utc(acted_at)} UTC "
                f"({kept} the one-hour deadline)"
            )
        elif u["not_executed_reason"]:
            lines.append(f"- {u['url']}: not executed: {u['not_executed_reason']}")
        else:
            lines.append(f"- {u['url']}: pending")
    return "\n".join(lines) + "\n"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
