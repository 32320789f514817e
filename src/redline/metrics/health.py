"""Queue health and reviewer wellbeing, for leads: how old the backlog is, which cases broke their
SLA, how fast each reviewer decides, how often second reviews agree with the first, and how much
each reviewer has been exposed to today against the organisation's daily cap."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, Connection, and_, func, select, true
from sqlalchemy.orm import aliased

from redline.model import Case, Decision, User
from redline.model.base import clock_hour
from redline.review import protection
from redline.review.accounts import Reviewer
from redline.review.rules import OPEN_STATUSES, SLA_BANDS, CaseStatus, sla

# Upper bounds of the backlog's age buckets (None: everything older).
AGE_BUCKETS: Final = (
    (timedelta(hours=1), "under 1 hour"),
    (timedelta(hours=4), "1 to 4 hours"),
    (timedelta(hours=24), "4 to 24 hours"),
    (timedelta(days=3), "1 to 3 days"),
    (None, "over 3 days"),
)
# The oldest breaches listed by case, so a lead can go straight to them.
OLDEST_BREACHES: Final = 10


@dataclass(frozen=True, slots=True)
class AgeBucket:
    """How many open cases have waited this long."""

    label: str
    cases: int


@dataclass(frozen=True, slots=True)
class SlaBand:
    """The open cases of one SLA band (by priority) and how many are past their SLA."""

    allowed: timedelta
    lowest_priority: int
    open: int
    breached: int


@dataclass(frozen=True, slots=True)
class Breach:
    """An open case past its SLA."""

    case_id: int
    priority: int
    opened_at: datetime
    overdue: timedelta


@dataclass(frozen=True, slots=True)
class DecisionRate:
    """A reviewer's decisions in a period, per hour in which they decided at least once (so a
    part-time reviewer's pace is not diluted by the hours they were not working)."""

    username: str
    decisions: int
    active_hours: int

    @property
    def per_hour(self) -> float:
        """Decisions per active hour."""
        return self.decisions / self.active_hours if self.active_hours else 0.0


@dataclass(frozen=True, slots=True)
class Agreement:
    """Second reviews against the first review of the same case: how many agreed, and Cohen's
    kappa (agreement beyond chance; None when chance alone explains every verdict, e.g. n = 0
    or both reviewers always giving one verdict)."""

    n: int
    agreeing: int
    kappa: float | None

    @property
    def share(self) -> float | None:
        """The share of second reviews that agreed with the first; None with none."""
        return self.agreeing / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class ReviewerExposure:
    """One person's exposure today (UTC) against the daily cap."""

    username: str
    role: str
    exposure: protection.Exposure


@dataclass(frozen=True, slots=True)
class Backlog:
    """The open cases by age, per SLA band (with how many are past their SLA), and the oldest
    breaches, most overdue first."""

    by_age: list[AgeBucket]
    bands: list[SlaBand]
    breaches: list[Breach]


def backlog(connection: Connection, now: datetime) -> Backlog:
    """Open cases (open, second review, escalated) by how long ago they were opened and by SLA
    band (``review.rules.SLA_BANDS``), counted by the database in one pass over them (a filtered
    count per bucket and band: a desk with 100,000 open cases would otherwise send every row to
    the page), and only each band's oldest breaches read (a case breaches its band's SLA when it
    was opened longer ago than the band allows)."""
    ages, bands = _age_conditions(now), _band_conditions()
    late = [
        and_(band, Case.opened_at < now - allowed)
        for band, (_lowest, allowed) in zip(bands, SLA_BANDS, strict=True)
    ]
    counted = connection.execute(
        select(*(func.count().filter(condition) for condition in (*ages, *bands, *late)))
        .select_from(Case)
        .where(Case.status.in_(OPEN_STATUSES))
    ).one()
    counts = [int(value or 0) for value in counted]
    by_age = [AgeBucket(label, counts[i]) for i, (_bound, label) in enumerate(AGE_BUCKETS)]
    counts = counts[len(ages) :]
    found = [
        SlaBand(allowed, lowest, counts[i], counts[len(bands) + i])
        for i, (lowest, allowed) in enumerate(SLA_BANDS)
    ]
    breaches: list[Breach] = []
    for condition, band in zip(late, found, strict=True):
        if not band.breached:
            continue
        rows = connection.execute(
            select(Case.id, Case.priority, Case.opened_at)
            .where(Case.status.in_(OPEN_STATUSES), condition)
            .order_by(Case.opened_at, Case.id)
            .limit(OLDEST_BREACHES)
        )
        for row in rows:
            overdue = now - (row.opened_at + sla(row.priority))
            breaches.append(Breach(int(row.id), int(row.priority), row.opened_at, overdue))
    breaches.sort(key=lambda b: (b.overdue, -b.case_id), reverse=True)
    return Backlog(by_age, found, breaches[:OLDEST_BREACHES])


def _age_conditions(now: datetime) -> list[ColumnElement[bool]]:
    """For each bucket of ``AGE_BUCKETS``, the condition on ``opened_at`` that puts a case in it
    (age = now - opened_at; a bucket holds the ages from the bound before it up to its own)."""
    conditions: list[ColumnElement[bool]] = []
    younger: timedelta | None = None  # the previous bucket's bound
    for bound, _label in AGE_BUCKETS:
        parts = []
        if bound is not None:
            parts.append(Case.opened_at > now - bound)
        if younger is not None:
            parts.append(Case.opened_at <= now - younger)
        conditions.append(and_(*parts) if parts else true())
        younger = bound
    return conditions


def _band_conditions() -> list[ColumnElement[bool]]:
    """For each SLA band (``review.rules.SLA_BANDS``, highest first), the priorities in it: at
    least its lowest priority (a lowest of 0 takes everything below the band before, negative
    priorities too, as ``review.rules.sla`` does) and below the band before's."""
    conditions: list[ColumnElement[bool]] = []
    above: int | None = None
    for lowest, _allowed in SLA_BANDS:
        parts = []
        if lowest != 0:
            parts.append(Case.priority >= lowest)
        if above is not None:
            parts.append(Case.priority < above)
        conditions.append(and_(*parts) if parts else true())
        above = lowest
    return conditions


def decision_rates(connection: Connection, since: datetime, until: datetime) -> list[DecisionRate]:
    """Each reviewer's decisions in force made in [since, until), busiest first (counted by the
    database: a busy desk makes tens of thousands a week)."""
    rows = connection.execute(
        select(User.username, func.count(), func.count(clock_hour(Decision.created_at).distinct()))
        .join(User, User.id == Decision.user_id)
        .where(Decision.created_at >= since, Decision.created_at < until)
        .where(Decision.undone_at.is_(None))
        .group_by(User.username)
    )
    rates = [DecisionRate(name, int(count), int(hours)) for name, count, hours in rows]
    return sorted(rates, key=lambda r: (-r.decisions, r.username))


def second_review_agreement(connection: Connection, since: datetime, until: datetime) -> Agreement:
    """Second reviews made in [since, until) against the first review that sent their case to
    second review (both still in force): agreement on the verdict, and Cohen's kappa.

    The database pairs each second review with the latest first review before it by someone
    else and counts the pairs by their two verdicts: the page reads a table of a few cells,
    not every decision of thousands of cases."""
    first, second = aliased(Decision), aliased(Decision)
    latest_first = (
        select(func.max(first.id))
        .where(
            first.case_id == second.case_id,
            first.status_after == CaseStatus.SECOND_REVIEW,
            first.status_before != CaseStatus.SECOND_REVIEW,
            first.undone_at.is_(None),
            first.user_id != second.user_id,
            first.created_at <= second.created_at,
        )
        .correlate(second)
        .scalar_subquery()
    )
    paired = (
        select(latest_first.label("first_id"), second.verdict.label("verdict"))
        .where(
            second.status_before == CaseStatus.SECOND_REVIEW,
            second.undone_at.is_(None),
            second.created_at >= since,
            second.created_at < until,
        )
        .subquery()
    )
    cells = connection.execute(
        select(Decision.verdict, paired.c.verdict, func.count())
        .join(paired, paired.c.first_id == Decision.id)
        .group_by(Decision.verdict, paired.c.verdict)
    )
    pairs = [(str(a), str(b)) for a, b, count in cells for _ in range(int(count))]
    return Agreement(len(pairs), sum(a == b for a, b in pairs), cohens_kappa(pairs))


def cohens_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when undefined (no pairs, or
    agreement by chance is certain)."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(a == b for a, b in pairs) / n
    firsts, seconds = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(firsts[label] * seconds[label] for label in firsts) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def exposures(connection: Connection, now: datetime) -> list[ReviewerExposure]:
    """Today's exposure of every active user who can review, most exposed first."""
    users = connection.execute(
        select(User.id, User.username, User.role, User.break_after)
        .where(User.disabled.is_(False))
        .order_by(User.username)
    )
    found = []
    for user in users:
        reviewer = Reviewer(user.id, user.username, user.role, break_after=user.break_after)
        if not reviewer.can("case.claim"):
            continue
        found.append(
            ReviewerExposure(
                user.username, user.role, protection.exposure(connection, reviewer, now)
            )
        )
    return sorted(found, key=lambda e: (-e.exposure.total, e.username))
