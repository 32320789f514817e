"""The daily exposure cap and the break it enforces, lifting it, and blur preferences, on both
databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from redline.errors import Forbidden, Invalid
from redline.model import AuditEvent, Case
from redline.model.base import utcnow
from redline.review import protection, queue
from redline.review.casefile import view_case
from redline.review.decisions import Verdict, decide
from tests.review_desk import Desk


def _cap_reached(desk: Desk, cap: int = 2) -> None:
    """A cap of ``cap``, and rev1 has viewed that many cases today."""
    now = utcnow()
    with desk.engine.begin() as connection:
        protection.set_daily_cap(connection, desk.users["lead1"], cap, now)
        for post in ("p1", "p2", "p3")[:cap]:
            view_case(connection, desk.users["rev1"], desk.cases[post], now)


def test_exposure_counts_distinct_cases_viewed_and_reveals_against_the_cap(desk: Desk) -> None:
    rev1, now = desk.users["rev1"], utcnow()
    with desk.engine.begin() as connection:
        protection.set_daily_cap(connection, desk.users["lead1"], 3, now)
        view_case(connection, rev1, desk.cases["p1"], now)
        view_case(connection, rev1, desk.cases["p1"], now)  # the same case again: one case
        view_case(connection, rev1, desk.cases["p2"], now)
        seen = protection.exposure(connection, rev1, now)
        assert (seen.cases_viewed, seen.total, seen.daily_cap, seen.on_break) == (2, 2, 3, False)
        view_case(connection, rev1, desk.cases["p3"], now)
        assert protection.exposure(connection, rev1, now).on_break
        # Tomorrow (UTC) the count starts again.
        assert not protection.exposure(connection, rev1, now + timedelta(days=1)).on_break
        # Someone else's views are theirs.
        assert protection.exposure(connection, desk.users["rev2"], now).total == 0


def test_at_the_cap_no_way_of_taking_a_case_works(desk: Desk) -> None:
    _cap_reached(desk)
    rev1, now = desk.users["rev1"], utcnow()
    attempts = [
        lambda c: queue.claim(c, rev1, desk.cases["p4"], now),
        lambda c: queue.next_case(c, rev1, queue.QueueFilter(), now),
        lambda c: queue.assign(c, desk.users["lead1"], desk.cases["p4"], "rev1", now),
        lambda c: decide(
            c, rev1, desk.cases["p5"], Verdict("not_violating", reason="news_reporting"), now
        ),
    ]
    for attempt in attempts:
        with desk.engine.begin() as connection, pytest.raises(protection.OnBreak) as refused:
            attempt(connection)
        assert "exposure cap" in str(refused.value) and "lead lifts" in str(refused.value)
    with desk.engine.connect() as connection:
        assert (
            connection.scalar(select(Case.assignee_id).where(Case.id == desk.cases["p4"])) is None
        )
    # rev2 works on.
    with desk.engine.begin() as connection:
        assert queue.next_case(connection, desk.users["rev2"], queue.QueueFilter(), now)


def test_a_case_already_held_can_be_finished_on_a_break(desk: Desk) -> None:
    rev1, now = desk.users["rev1"], utcnow()
    with desk.engine.begin() as connection:
        queue.claim(connection, rev1, desk.cases["p5"], now)
    _cap_reached(desk)
    with desk.engine.begin() as connection:
        decide(
            connection,
            rev1,
            desk.cases["p5"],
            Verdict("not_violating", reason="news_reporting"),
            now,
        )


def test_a_lead_lifts_a_break_for_the_day_and_it_is_audited(desk: Desk) -> None:
    _cap_reached(desk)
    rev1, lead, now = desk.users["rev1"], desk.users["lead1"], utcnow()
    with desk.engine.begin() as connection, pytest.raises(Forbidden):
        protection.lift_break(connection, desk.users["rev2"], "rev1", now)  # not a lead
    with desk.engine.begin() as connection:
        protection.lift_break(connection, lead, "rev1", now)
        queue.claim(connection, rev1, desk.cases["p4"], now)
        lifted = connection.execute(
            select(AuditEvent.actor, AuditEvent.subject_id).where(
                AuditEvent.action == "user.break_lifted"
            )
        ).all()
    assert [tuple(r) for r in lifted] == [("user:lead1", "rev1")]
    with desk.engine.begin() as connection:
        # A lift holds for the day it was given; tomorrow starts with a fresh count and no lift.
        assert protection.exposure(connection, rev1, now).lifted
        assert not protection.exposure(connection, rev1, now + timedelta(days=1)).lifted


def test_only_leads_set_the_cap_within_its_range_and_the_change_is_audited(desk: Desk) -> None:
    now = utcnow()
    for who in ("rev1", "aud1"):
        with desk.engine.begin() as connection, pytest.raises(Forbidden):
            protection.set_daily_cap(connection, desk.users[who], 5, now)
    for bad in (0, -1, 10_001, 2**63):
        with desk.engine.begin() as connection, pytest.raises(Invalid):
            protection.set_daily_cap(connection, desk.users["lead1"], bad, now)
    with desk.engine.begin() as connection:
        protection.set_daily_cap(connection, desk.users["lead1"], 40, now)
        protection.set_daily_cap(connection, desk.users["admin1"], None, now)
        assert protection.organisation(connection).daily_cap is None
        changes = connection.execute(
            select(AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.action == "organisation.daily_cap")
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(c) for c in changes] == [
        ({"daily_cap": None}, {"daily_cap": 40}),
        ({"daily_cap": 40}, {"daily_cap": None}),
    ]


def test_blur_follows_the_organisation_until_a_user_chooses_and_never_goes_below_default(
    desk: Desk,
) -> None:
    rev1, admin, now = desk.users["rev1"], desk.users["admin1"], utcnow()
    with desk.engine.begin() as connection:
        assert protection.blur_of(connection, rev1) == protection.Blur(
            protection.BLUR_RADIUS, False
        )
        with pytest.raises(Forbidden):  # a lead is not an admin
            protection.set_default_blur(connection, desk.users["lead1"], protection.Blur(30), now)
    for bad in (0, protection.BLUR_RADIUS - 1, 61, -5):
        with desk.engine.begin() as connection, pytest.raises(Invalid):
            protection.set_blur(connection, rev1, protection.Blur(bad))
        with desk.engine.begin() as connection, pytest.raises(Invalid):
            protection.set_default_blur(connection, admin, protection.Blur(bad), now)
    with desk.engine.begin() as connection:
        protection.set_default_blur(connection, admin, protection.Blur(30, False), now)
        assert protection.blur_of(connection, rev1) == protection.Blur(30, False)
        protection.set_blur(connection, rev1, protection.Blur(45, True))
        assert protection.blur_of(connection, rev1) == protection.Blur(45, True)
        assert protection.blur_of(connection, desk.users["rev2"]) == protection.Blur(30, False)
        protection.set_blur(connection, rev1, None)  # back to the default
        assert protection.blur_of(connection, rev1) == protection.Blur(30, False)
        actions = list(
            connection.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(("user.blur", "organisation.blur"))
                )
            )
        )
    assert sorted(actions) == ["organisation.blur", "user.blur", "user.blur"]
