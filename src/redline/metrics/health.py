"""Queue health and reviewer wellbeing, for leads: how old the backlog is, which cases broke their
SLA, how fast each reviewer decides, how often second reviews agree with the first, and how much
each reviewer has been exposed to today against the organisation's daily cap."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    literal,
    select,
    true,
    union_all,
)
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
    band (``review.rules.SLA_BANDS``), counted by the database (a desk with 100,000 open cases
    would otherwise send every row to the page), and only each band's oldest breaches read (a
    case breaches its band's SLA when it was opened longer ago than the band allows).

    Each band is counted over its own range of the queue index (status, priority): how many
    cases it has, how many were opened after each age bound, and how many within its SLA. Every
    other figure is a difference of those (a bucket holds the cases younger than its bound but
    not younger than the bound before; a band's breaches are its cases not within its SLA), so a
    row costs five comparisons, not the two dozen that a condition per bucket and band took."""
    bounds = [bound for bound, _label in AGE_BUCKETS if bound is not None]
    counted = connection.execute(
        union_all(
            *(
                select(
                    literal(i),
                    func.count(),
                    *(func.count().filter(Case.opened_at > now - bound) for bound in bounds),
                    func.count().filter(Case.opened_at >= now - allowed),
                ).where(Case.status.in_(OPEN_STATUSES), in_band)
                for i, (in_band, (_lowest, allowed)) in enumerate(
                    zip(_band_ranges(), SLA_BANDS, strict=True)
                )
            )
        )
    ).all()
    # A union's rows come in no promised order: each says its band.
    per_band = [[int(value or 0) for value in row[1:]] for row in sorted(counted)]
    younger = [sum(row[1 + k] for row in per_band) for k in range(len(bounds))]
    everyone = sum(row[0] for row in per_band)
    cumulative = [*younger, everyone]  # opened after each bound, then all of them
    by_age = [
        AgeBucket(label, cumulative[k] - (cumulative[k - 1] if k else 0))
        for k, (_bound, label) in enumerate(AGE_BUCKETS)
    ]
    found = [
        SlaBand(allowed, lowest, row[0], row[0] - row[-1])
        for row, (lowest, allowed) in zip(per_band, SLA_BANDS, strict=True)
    ]
    band = _open_band()
    breaches: list[Breach] = []
    for i, ((_lowest, allowed), found_band) in enumerate(zip(SLA_BANDS, found, strict=True)):
        if not found_band.breached:
            continue
        rows = connection.execute(
            select(Case.id, Case.priority, Case.opened_at)
            .where(band == i, Case.opened_at < now - allowed)
            .order_by(Case.opened_at, Case.id)
            .limit(OLDEST_BREACHES)
        )
        for row in rows:
            overdue = now - (row.opened_at + sla(row.priority))
            breaches.append(Breach(int(row.id), int(row.priority), row.opened_at, overdue))
    breaches.sort(key=lambda b: (b.overdue, -b.case_id), reverse=True)
    return Backlog(by_age, found, breaches[:OLDEST_BREACHES])


def _band_ranges() -> list[ColumnElement[bool]]:
    """For each SLA band (``review.rules.SLA_BANDS``, highest first), its priorities as a range
    (what the queue index serves): below the band before's lowest, and at least its own lowest
    except for the last band, which takes everything below (as ``review.rules.sla`` does)."""
    ranges: list[ColumnElement[bool]] = []
    above: int | None = None
    last = len(SLA_BANDS) - 1
    for i, (lowest, _allowed) in enumerate(SLA_BANDS):
        parts = []
        if i < last:
            parts.append(Case.priority >= lowest)
        if above is not None:
            parts.append(Case.priority < above)
        ranges.append(and_(*parts) if parts else true())
        above = lowest
    return ranges


def _open_band() -> ColumnElement[int | None]:
    """An open case's SLA band (its index in ``SLA_BANDS``) as ``review.rules.sla`` finds it: the
    first band whose lowest priority it reaches, else the last; NULL for a case no longer open.

    One expression, status included, so that a band's oldest breaches are the first rows of the
    age index (ix_cases_age) that satisfy it: a condition on status alone would send the
    database to the queue index and a sort of every open case (SQLite without statistics, as
    it runs by default, does exactly that)."""
    last = len(SLA_BANDS) - 1
    return case(
        (Case.status.not_in(OPEN_STATUSES), None),
        *((Case.priority >= lowest, i) for i, (lowest, _allowed) in enumerate(SLA_BANDS[:last])),
        else_=last,
    )


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
    table = {(str(a), str(b)): int(count) for a, b, count in cells}
    n = sum(table.values())
    return Agreement(n, sum(c for (a, b), c in table.items() if a == b), cohens_kappa(table))


def cohens_kappa(table: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items, from how many items got each pair
    of labels (first rater's, second rater's); None when undefined (no items, or agreement by
    chance is certain)."""
    n = sum(table.values())
    if not n:
        return None
    observed = sum(count for (a, b), count in table.items() if a == b) / n
    firsts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for (a, b), count in table.items():
        firsts[a] += count
        seconds[b] += count
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
    reviewers = [
        reviewer
        for user in users
        if (
            reviewer := Reviewer(user.id, user.username, user.role, break_after=user.break_after)
        ).can("case.claim")
    ]
    seen = protection.exposures(connection, reviewers, now)
    found = [ReviewerExposure(r.username, r.role, seen[r.id]) for r in reviewers]
    return sorted(found, key=lambda e: (-e.exposure.total, e.username))
