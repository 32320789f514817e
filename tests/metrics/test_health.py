"""Queue health for leads, on both databases: the backlog by age, SLA breaches by the named SLA
bands, decisions per hour, second-review agreement (with Cohen's kappa) and today's exposure."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from redline.metrics import health
from redline.model import Case
from redline.model.base import utcnow
from redline.review import protection
from redline.review.casefile import view_case
from redline.review.decisions import Verdict, decide
from redline.review.rules import OPEN_STATUSES, SLA_BANDS, sla
from tests.review_desk import Desk

VIOLATING = Verdict("violating", category="support_glorification", designation="none")
NOT_VIOLATING = Verdict("not_violating", reason="news_reporting")


def test_backlog_and_sla_breaches_follow_the_named_sla_bands(desk: Desk) -> None:
    now = utcnow()
    # p1 (priority 100, 1 h SLA) 2 h old; p2 (60, 4 h) 30 h old; p3 (45, 24 h) 5 days old;
    # p4 (68, 4 h) and p5 (50, 24 h) a few minutes old.
    ages = {"p1": timedelta(hours=2), "p2": timedelta(hours=30), "p3": timedelta(days=5)}
    with desk.engine.begin() as connection:
        for post, age in ages.items():
            connection.execute(
                update(Case).where(Case.id == desk.cases[post]).values(opened_at=now - age)
            )
        waiting = health.backlog(connection, now)
        backlog, bands, breaches = waiting.by_age, waiting.bands, waiting.breaches
    assert [(b.label, b.cases) for b in backlog] == [
        ("under 1 hour", 2),
        ("1 to 4 hours", 1),
        ("4 to 24 hours", 0),
        ("1 to 3 days", 1),
        ("over 3 days", 1),
    ]
    assert [(b.allowed, b.open, b.breached) for b in bands] == [
        (timedelta(hours=1), 1, 1),
        (timedelta(hours=4), 2, 1),
        (timedelta(hours=24), 2, 1),
    ]
    assert [b.case_id for b in breaches] == [desk.cases[p] for p in ("p3", "p2", "p1")]
    assert breaches[-1].overdue == timedelta(hours=1)
    # A decided case is no longer waiting.
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], desk.cases["p3"], NOT_VIOLATING, now)
        assert health.backlog(connection, now).by_age[-1].cases == 0
        assert health.backlog(connection, now).bands[2].breached == 0


def test_the_counts_made_by_the_database_equal_each_case_put_in_its_bucket_and_band(
    desk: Desk,
) -> None:
    """The database counts the backlog and the breaches (a filtered count each); a plain reading
    of every open case, bucketed and banded one by one, gives the same, at the boundaries too:
    priorities on and around each band's lowest (and below 0), ages on and around each bound."""
    now = utcnow().replace(microsecond=0)
    priorities = [-5, 0, 1, 59, 60, 61, 99, 100, 101, 250]
    bounds = [timedelta(hours=h) for h in (1, 4, 24, 72)]
    ages = [timedelta(0), *(b + d for b in bounds for d in (-timedelta(seconds=1), timedelta(0)))]
    ages += [b + timedelta(seconds=1) for b in bounds] + [timedelta(days=40)]
    posts = sorted(desk.cases)
    combos = [(p, a) for p in priorities for a in ages]
    checked = 0
    with desk.engine.begin() as connection:
        for start in range(0, len(combos), len(posts)):
            chunk = combos[start : start + len(posts)]
            for post, (priority, age) in zip(posts, chunk, strict=False):
                connection.execute(
                    update(Case)
                    .where(Case.id == desk.cases[post])
                    .values(priority=priority, opened_at=now - age, status="open")
                )
            rows = [
                (desk.cases[post], priority, now - age)
                for post, (priority, age) in zip(posts, chunk, strict=False)
            ]
            rows += [
                (int(r.id), int(r.priority), r.opened_at)
                for r in connection.execute(
                    select(Case.id, Case.priority, Case.opened_at).where(
                        Case.status.in_(OPEN_STATUSES),
                        Case.id.not_in([desk.cases[p] for p in posts[: len(chunk)]]),
                    )
                )
            ]
            buckets = Counter(
                next(
                    label
                    for bound, label in health.AGE_BUCKETS
                    if bound is None or now - opened < bound
                )
                for _id, _priority, opened in rows
            )
            waiting = health.backlog(connection, now)
            assert [(b.label, b.cases) for b in waiting.by_age] == [
                (label, buckets[label]) for _bound, label in health.AGE_BUCKETS
            ]
            late = Counter[int]()
            opened_in = Counter[int]()
            for _id, priority, opened in rows:
                band = next(low for low, _ in SLA_BANDS if priority >= low or low == 0)
                opened_in[band] += 1
                late[band] += now - (opened + sla(priority)) > timedelta(0)
            bands, breaches = waiting.bands, waiting.breaches
            assert [(b.lowest_priority, b.open, b.breached) for b in bands] == [
                (low, opened_in[low], late[low]) for low, _ in SLA_BANDS
            ]
            overdue = sorted(
                (now - (opened + sla(priority)) for _id, priority, opened in rows),
                reverse=True,
            )
            assert [b.overdue for b in breaches] == [o for o in overdue if o > timedelta(0)][
                : health.OLDEST_BREACHES
            ]
            checked += len(chunk)
    assert checked == len(combos)


def test_decisions_per_active_hour_and_second_review_agreement(desk: Desk) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    rev1, rev2 = desk.users["rev1"], desk.users["rev2"]
    with desk.engine.begin() as connection:
        # rev1 sends three cases to second review in two clock hours.
        for post, minutes in (("p1", 5), ("p2", 20), ("p4", 125)):
            decide(connection, rev1, desk.cases[post], VIOLATING, hour + timedelta(minutes=minutes))
        # rev2 agrees twice and disagrees once (the case goes to a lead).
        decide(connection, rev2, desk.cases["p1"], VIOLATING, hour + timedelta(minutes=150))
        decide(connection, rev2, desk.cases["p2"], NOT_VIOLATING, hour + timedelta(minutes=151))
        decide(connection, rev2, desk.cases["p4"], VIOLATING, hour + timedelta(minutes=152))
        rates = health.decision_rates(connection, hour, hour + timedelta(hours=4))
        agreement = health.second_review_agreement(connection, hour, hour + timedelta(hours=4))
        before = health.second_review_agreement(connection, hour, hour + timedelta(minutes=60))
    assert [(r.username, r.decisions, r.active_hours, r.per_hour) for r in rates] == [
        ("rev1", 3, 2, 1.5),
        ("rev2", 3, 1, 3.0),
    ]
    assert (agreement.n, agreement.agreeing) == (3, 2)
    assert agreement.share == pytest.approx(2 / 3)
    # Every first review said "violating": agreement is what chance alone gives, kappa 0.
    assert agreement.kappa == pytest.approx(0.0)
    assert (before.n, before.share, before.kappa) == (0, None, None)


def test_cohens_kappa_matches_the_textbook_example() -> None:
    # 50 items: both yes 20, yes/no 5, no/yes 10, both no 15: p_o 0.7, p_e 0.5, kappa 0.4.
    table = {("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}
    assert health.cohens_kappa(table) == pytest.approx(0.4)
    assert health.cohens_kappa({("yes", "yes"): 4}) is None  # chance explains it all
    assert health.cohens_kappa({}) is None


def test_exposure_per_reviewer_against_the_cap(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        protection.set_daily_cap(connection, desk.users["lead1"], 2, now)
        for post in ("p1", "p2"):
            view_case(connection, desk.users["rev1"], desk.cases[post], now)
        view_case(connection, desk.users["rev2"], desk.cases["p1"], now)
        found = {e.username: e.exposure for e in health.exposures(connection, now)}
    # Auditors take no cases, so they are not listed; everyone who can is.
    assert set(found) == {"rev1", "rev2", "lead1", "admin1"}
    assert (found["rev1"].total, found["rev1"].on_break) == (2, True)
    assert (found["rev2"].total, found["rev2"].on_break) == (1, False)
    with desk.engine.begin() as connection:
        protection.lift_break(connection, desk.users["lead1"], "rev1", now)
        listed = {e.username: e.exposure for e in health.exposures(connection, now)}
        # The page's list (read for all at once) says what each person's own check says.
        for name in found:
            assert listed[name] == protection.exposure(connection, desk.users[name], now)
    assert (listed["rev1"].total, listed["rev1"].lifted, listed["rev1"].on_break) == (
        2,
        True,
        False,
    )
    assert listed["rev2"].lifted is False
