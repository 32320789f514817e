"""The figures of a transparency report for a period, from the store.

Every figure is a plain count or a distribution over rows the period selects; the report module
only lays them out. Times are UTC; a period is [start, end).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from redline.actions.referrals import time_to_removal
from redline.model import (
    AuditEvent,
    Case,
    Complaint,
    Decision,
    HostingService,
    Item,
    ItemMedia,
    Preservation,
    Referral,
    RemovalOrder,
    RemovalOrderUrl,
)
from redline.model.base import elapsed_hours
from redline.review.rules import FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def covers(self, column: Any) -> Any:
        """A WHERE clause: ``column`` in the period."""
        return and_(column >= self.start, column < self.end)


class Distribution(TypedDict):
    """How long something took, over the period's cases (None: nothing to measure)."""

    count: int
    median: float | None
    p90: float | None
    max: float | None
    values: list[float]  # every value, low to high, for the histograms


class PeriodBounds(TypedDict):
    """The period as ISO 8601 times."""

    start: str
    end: str


class Removals(TypedDict):
    """Items taken down in the period, by why."""

    removal_order: int
    own_initiative: int


class NotExecutedUrl(TypedDict):
    """A URL of an order received in the period that was not acted on, and why."""

    order: int
    url: str
    reason: str | None  # never None: only such URLs are listed


class OrderFigures(TypedDict):
    """Removal orders received in the period."""

    received: int
    by_status: dict[str, int]
    not_executed_urls: list[NotExecutedUrl]


class ReferralRate(TypedDict):
    """What one hosting service did with the referrals sent to it in the period."""

    service: str
    sent: int
    removed: int
    rejected: int
    no_response: int
    acceptance_rate: float  # removed / sent


class Figures(TypedDict):
    """Every figure of a transparency report, as its JSON, CSV, HTML and the dashboard give it."""

    period: PeriodBounds
    found_by_signal: dict[str, int]
    decisions: dict[str, int]  # "status:category or reason" -> count
    time_to_decision_hours: Distribution
    removals: Removals
    orders: OrderFigures
    order_minutes_to_action: Distribution
    # "received", then a count per complaint status that occurred, then "reinstatements"
    complaints: dict[str, int]
    referrals_by_service: list[ReferralRate]
    referral_hours_to_removal: Distribution
    reuploads_per_week: dict[str, int]  # ISO week -> count


def distribution(values: list[float]) -> Distribution:
    """Count, median, 90th percentile and maximum of ``values`` (hours or minutes)."""
    if not values:
        return Distribution(count=0, median=None, p90=None, max=None, values=[])
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return Distribution(
        count=len(ordered),
        median=round(statistics.median(ordered), 2),
        p90=round(p90, 2),
        max=round(ordered[-1], 2),
        values=[round(v, 2) for v in ordered],
    )


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def figures(connection: Connection, period: Period) -> Figures:
    """Every figure of the report for ``period``."""
    found: Counter[str] = Counter()
    for signal, count in connection.execute(
        select(Case.signal, func.count()).where(period.covers(Case.opened_at)).group_by(Case.signal)
    ):
        found[signal or "other"] += count
    found["referral"] = (
        connection.scalar(
            select(func.count()).select_from(Referral).where(period.covers(Referral.created_at))
        )
        or 0
    )
    final = (
        Decision.status_after.in_(FINAL_STATUSES),
        Decision.undone_at.is_(None),
    )
    label = func.coalesce(Decision.category, Decision.reason)
    decisions: Counter[str] = Counter()
    for verdict, said, count in connection.execute(  # counted by the database: tens of thousands
        select(Decision.status_after, label, func.count())
        .where(*final, period.covers(Decision.created_at))
        .group_by(Decision.status_after, label)
    ):
        decisions[f"{verdict}:{said or 'unspecified'}"] += count
    decided_hours = (
        connection.execute(
            select(elapsed_hours(Case.opened_at, Case.decided_at)).where(
                period.covers(Case.decided_at)
            )
        )
        .scalars()
        .all()
    )
    removals = Counter(
        "removal_order" if order_id is not None else "own_initiative"
        for (order_id,) in connection.execute(
            select(Preservation.order_id).where(period.covers(Preservation.removed_at))
        )
    )
    orders = connection.execute(
        select(RemovalOrder.id, RemovalOrder.status, RemovalOrder.received_at).where(
            period.covers(RemovalOrder.received_at)
        )
    ).all()
    order_ids = [o.id for o in orders]
    not_executed = (
        [
            NotExecutedUrl(order=order_id, url=url, reason=reason)
            for order_id, url, reason in connection.execute(
                select(
                    RemovalOrderUrl.order_id,
                    RemovalOrderUrl.url,
                    RemovalOrderUrl.not_executed_reason,
                ).where(
                    RemovalOrderUrl.order_id.in_(order_ids),
                    RemovalOrderUrl.not_executed_reason.is_not(None),
                )
            )
        ]
        if order_ids
        else []
    )
    order_minutes = [
        (acted - received).total_seconds() / 60
        for received, acted in connection.execute(
            select(RemovalOrder.received_at, RemovalOrderUrl.acted_at)
            .join(RemovalOrderUrl, RemovalOrderUrl.order_id == RemovalOrder.id)
            .where(period.covers(RemovalOrder.received_at), RemovalOrderUrl.action.is_not(None))
        )
        if acted is not None
    ]
    complaint_rows = (
        connection.execute(select(Complaint.status).where(period.covers(Complaint.received_at)))
        .scalars()
        .all()
    )
    reinstated = (
        connection.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "item.reinstate", period.covers(AuditEvent.at))
        )
        or 0
    )
    referral_hours = [
        _hours(time_to_removal(sent, removed))
        for sent, removed in connection.execute(
            select(Referral.sent_at, Referral.removed_at)
            .where(Referral.removed_at.is_not(None), Referral.sent_at.is_not(None))
            .where(period.covers(Referral.sent_at))
        )
        if sent is not None and removed is not None
    ]
    return Figures(
        period=PeriodBounds(start=period.start.isoformat(), end=period.end.isoformat()),
        found_by_signal=dict(sorted(found.items())),
        decisions=dict(sorted(decisions.items())),
        time_to_decision_hours=distribution([float(h) for h in decided_hours if h is not None]),
        removals=Removals(
            removal_order=removals["removal_order"], own_initiative=removals["own_initiative"]
        ),
        orders=OrderFigures(
            received=len(orders),
            # Statuses apart from the count: one of them is also called "received".
            by_status=dict(Counter(o.status for o in orders)),
            not_executed_urls=not_executed,
        ),
        order_minutes_to_action=distribution(order_minutes),
        complaints={
            "received": len(complaint_rows),
            **Counter(complaint_rows),
            "reinstatements": reinstated,
        },
        referrals_by_service=_referral_rates(connection, period),
        referral_hours_to_removal=distribution(referral_hours),
        reuploads_per_week=reuploads(connection, period),
    )


def _referral_rates(connection: Connection, period: Period) -> list[ReferralRate]:
    rows = connection.execute(
        select(HostingService.name, Referral.status)
        .outerjoin(HostingService, HostingService.id == Referral.service_id)
        .where(Referral.sent_at.is_not(None), period.covers(Referral.sent_at))
    ).all()
    by_service: dict[str, Counter[str]] = {}
    for service, status in rows:
        by_service.setdefault(service or "(unregistered)", Counter())[status] += 1
    return [
        ReferralRate(
            service=service,
            sent=sum(counts.values()),
            removed=counts["removed"],
            rejected=counts["rejected"],
            no_response=counts["no_response"],
            acceptance_rate=round(counts["removed"] / sum(counts.values()), 3),
        )
        for service, counts in sorted(by_service.items())
    ]


def reuploads(connection: Connection, period: Period) -> dict[str, int]:
    """New items carrying the text or a media file of an item removed before them, counted by
    the ISO week they arrived: the measurable outcome of take-downs (a falling curve means
    removed content stays down)."""
    removed = connection.execute(
        select(Preservation.item_id, Preservation.removed_at, Item.text_sha256)
        .join(Item, Item.id == Preservation.item_id)
        .where(Preservation.removed_at < period.end)
    ).all()
    weeks: Counter[str] = Counter()
    seen: set[int] = set()
    for item_id, removed_at, text_sha in removed:
        media = select(ItemMedia.media_sha256).where(ItemMedia.item_id == item_id)
        same: list[ColumnElement[bool]] = [
            Item.id.in_(select(ItemMedia.item_id).where(ItemMedia.media_sha256.in_(media)))
        ]
        if text_sha is not None:
            same.append(Item.text_sha256 == text_sha)
        for other_id, arrived in connection.execute(
            select(Item.id, Item.ingested_at)
            .where(or_(*same), Item.id != item_id, Item.ingested_at > removed_at)
            .where(period.covers(Item.ingested_at))
        ):
            if other_id in seen:
                continue
            seen.add(other_id)
            year, week, _ = arrived.isocalendar()
            weeks[f"{year}-W{week:02d}"] += 1
    return dict(sorted(weeks.items()))
