"""The queue: order, filters, claims."""

from __future__ import annotations

from datetime import timedelta

import pytest

from redline.model.base import utcnow
from redline.review import Conflict, Invalid, queue
from tests.review_desk import Desk


def test_queue_puts_confirmed_bank_matches_first_then_high_scores(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        rows = queue.list_queue(connection, desk.users["rev1"], queue.QueueFilter(), utcnow())
    ids = {case: post for post, case in desk.cases.items()}
    assert [ids[r.id] for r in rows] == ["p1", "p4", "p2", "p5", "p3"]
    first = rows[0]
    assert first.source == "channel-export" and first.account_name == "Account A"
    # A confirmed match has an hour; a low classifier score a day.
    assert first.due_at - first.opened_at == timedelta(hours=1)
    assert rows[-1].due_at - rows[-1].opened_at == timedelta(hours=24)


def test_filters_narrow_the_queue(desk: Desk) -> None:
    reviewer, now = desk.users["rev1"], utcnow()
    with desk.engine.begin() as connection:
        arabic = queue.list_queue(connection, reviewer, queue.QueueFilter(lang="ar"), now)
        bank = queue.list_queue(connection, reviewer, queue.QueueFilter(signal="bank"), now)
        glorification = queue.list_queue(
            connection, reviewer, queue.QueueFilter(category="support_glorification"), now
        )
        other_source = queue.list_queue(connection, reviewer, queue.QueueFilter(source="x"), now)
    assert [r.id for r in arabic] == [desk.cases["p4"]] == [r.id for r in glorification]
    assert {r.id for r in bank} == {desk.cases["p1"], desk.cases["p2"]}
    assert other_source == []


def test_unknown_filter_values_are_refused() -> None:
    with pytest.raises(Invalid, match="unknown status"):
        queue.QueueFilter(status="closed")
    with pytest.raises(Invalid, match="unknown signal"):
        queue.QueueFilter(signal="psychic")


def test_two_reviewers_never_hold_the_same_case(desk: Desk) -> None:
    case, now = desk.cases["p1"], utcnow()
    with desk.engine.begin() as connection:
        queue.claim(connection, desk.users["rev1"], case, now)
        queue.claim(connection, desk.users["rev1"], case, now)  # one's own claim again: fine
        with pytest.raises(Conflict, match="claimed by another reviewer"):
            queue.claim(connection, desk.users["rev2"], case, now)
        mine = queue.list_queue(
            connection, desk.users["rev1"], queue.QueueFilter(assignee="me"), now
        )
        # A claim left alone for longer than CLAIM_TTL lapses.
        queue.claim(connection, desk.users["rev2"], case, now + queue.CLAIM_TTL)
    assert [r.id for r in mine] == [case] and mine[0].claimed_live


def test_next_case_claims_the_first_free_case(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        queue.claim(connection, desk.users["rev2"], desk.cases["p1"], now)
        got = queue.next_case(connection, desk.users["rev1"], queue.QueueFilter(), now)
        counts = queue.count_open(connection)
    assert got == desk.cases["p4"]  # p1 is held by rev2
    assert counts == {"open": 5, "second_review": 0, "escalated": 0}


def test_an_auditor_reads_the_queue_but_cannot_claim(desk: Desk) -> None:
    from redline.review import Forbidden

    with desk.engine.begin() as connection:
        assert queue.list_queue(connection, desk.users["aud1"], queue.QueueFilter(), utcnow())
        with pytest.raises(Forbidden):
            queue.claim(connection, desk.users["aud1"], desk.cases["p1"], utcnow())


def test_a_lead_assigns_a_case_over_a_claim_and_it_is_audited(desk: Desk) -> None:
    from sqlalchemy import select

    from redline.model import AuditEvent
    from redline.review import Forbidden

    case, now = desk.cases["p2"], utcnow()
    with desk.engine.begin() as connection:
        queue.claim(connection, desk.users["rev1"], case, now)
        with pytest.raises(Forbidden):
            queue.assign(connection, desk.users["rev1"], case, "rev2", now)
        with pytest.raises(Invalid):
            queue.assign(connection, desk.users["lead1"], case, "aud1", now)
        queue.assign(connection, desk.users["lead1"], case, "rev2", now)
        with pytest.raises(Conflict):
            queue.claim(connection, desk.users["rev1"], case, now)
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "case.assign")
        ).one()
        held = queue.list_queue(
            connection, desk.users["rev2"], queue.QueueFilter(assignee="me"), now
        )
    assert [r.id for r in held] == [case] and event.after == {"assignee": "rev2"}


@pytest.mark.parametrize(
    ("claimed_ago", "lapsed"),
    [
        (None, True),  # held with no claim time: nothing holds it
        (timedelta(0), False),
        (queue.CLAIM_TTL - timedelta(seconds=1), False),
        (queue.CLAIM_TTL, True),
        (queue.CLAIM_TTL + timedelta(hours=1), True),
    ],
)
def test_next_and_claim_agree_on_a_lapsed_claim(
    desk: Desk, claimed_ago: timedelta | None, lapsed: bool
) -> None:
    """The queue's "next" and "claim" read one definition of a lapsed claim (they once
    disagreed about a case held with no claim time)."""
    from sqlalchemy import update

    from redline.model import Case

    case, now = desk.cases["p1"], utcnow()  # p1 comes first in the queue
    held = None if claimed_ago is None else now - claimed_ago
    with desk.engine.begin() as connection:
        connection.execute(
            update(Case)
            .where(Case.id == case)
            .values(assignee_id=desk.users["rev2"].id, claimed_at=held)
        )
        assert queue.is_lapsed(held, now) is lapsed
        with connection.begin_nested() as attempt:
            try:
                queue.claim(connection, desk.users["rev1"], case, now)
                claimed = True
            except Conflict:
                claimed = False
            attempt.rollback()
        with connection.begin_nested() as attempt:
            got = queue.next_case(connection, desk.users["rev1"], queue.QueueFilter(), now)
            attempt.rollback()
    assert claimed is lapsed
    assert (got == case) is lapsed


def test_claim_and_release_are_audited_by_the_queue(desk: Desk) -> None:
    from sqlalchemy import select

    from redline.model import AuditEvent

    case, now = desk.cases["p2"], utcnow()
    with desk.engine.begin() as connection:
        queue.claim(connection, desk.users["rev1"], case, now)
        queue.release(connection, desk.users["rev1"], case)
        events = connection.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.subject_id)
            .where(AuditEvent.action.in_(("case.claim", "case.release")))
            .order_by(AuditEvent.id)
        ).all()
    actor = desk.users["rev1"].actor
    assert [tuple(e) for e in events] == [
        (actor, "case.claim", str(case)),
        (actor, "case.release", str(case)),
    ]
