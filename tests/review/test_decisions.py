"""Decisions: four-eyes, escalation, clusters, undo, and the record they leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from redline.model import AuditEvent, Case, Decision
from redline.model.base import utcnow
from redline.review import Conflict, Forbidden, Invalid, NotFound
from redline.review.decisions import UNDO_WINDOW, Verdict, cluster, decide, decide_cluster, undo
from tests.review_desk import Desk

VIOLATING = Verdict("violating", category="recruitment")
NEWS = Verdict("not_violating", reason="news_reporting")


def status(desk: Desk, case: int) -> str:
    with desk.engine.connect() as connection:
        return str(connection.scalar(select(Case.status).where(Case.id == case)))


def test_violating_needs_a_second_reviewer_under_four_eyes(desk: Desk) -> None:
    case, now = desk.cases["p3"], utcnow()
    with desk.engine.begin() as connection:
        first = decide(connection, desk.users["rev1"], case, VIOLATING, now)
    assert (first.status_before, first.status_after) == ("open", "second_review")
    with pytest.raises(Forbidden, match="four-eyes"), desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, VIOLATING, now)
    assert status(desk, case) == "second_review"  # nothing changed
    with desk.engine.begin() as connection:
        second = decide(connection, desk.users["rev2"], case, VIOLATING, now)
    assert second.status_after == "violating" and status(desk, case) == "violating"
    with pytest.raises(Conflict, match="decided already"), desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], case, NEWS, now)


def test_without_four_eyes_one_decision_is_final(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        outcome = decide(
            connection, desk.users["rev1"], desk.cases["p3"], VIOLATING, utcnow(), four_eyes=False
        )
    assert outcome.status_after == "violating"


def test_disagreement_goes_to_a_lead(desk: Desk) -> None:
    case, now = desk.cases["p3"], utcnow()
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, VIOLATING, now)
        assert decide(connection, desk.users["rev2"], case, NEWS, now).status_after == "escalated"
    with pytest.raises(Forbidden, match="a lead decides"), desk.engine.begin() as connection:
        decide(connection, desk.users["rev2"], case, NEWS, now)
    with desk.engine.begin() as connection:
        assert decide(connection, desk.users["lead1"], case, NEWS, now).status_after == (
            "not_violating"
        )


def test_not_violating_is_final_and_says_why(desk: Desk) -> None:
    case = desk.cases["p4"]
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, NEWS, utcnow())
        row = connection.execute(select(Decision).where(Decision.case_id == case)).one()
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "case.decide")
        ).one()
    assert status(desk, case) == "not_violating" and row.reason == "news_reporting"
    assert event.actor == "user:rev1" and event.before == {"status": "open"}
    assert event.after is not None and event.after["status"] == "not_violating"


@pytest.mark.parametrize(
    ("verdict", "message"),
    [
        (dict(verdict="remove"), "unknown verdict"),
        (dict(verdict="violating"), "needs a category"),
        (dict(verdict="violating", category="rude"), "needs a category"),
        (dict(verdict="not_violating"), "needs a reason"),
        (dict(verdict="escalate", note="x" * 4001), "note too long"),
    ],
)
def test_incomplete_verdicts_are_refused(verdict: dict[str, str], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        Verdict(**verdict)


def test_a_claimed_case_is_decided_only_by_its_holder(desk: Desk) -> None:
    from redline.review.queue import claim

    case, now = desk.cases["p5"], utcnow()
    with desk.engine.begin() as connection:
        claim(connection, desk.users["rev2"], case, now)
    with pytest.raises(Conflict, match="claimed"), desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, NEWS, now)
    assert status(desk, case) == "open"


def test_unknown_case_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound), desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], 999_999, NEWS, utcnow())


def test_undo_puts_the_case_back_within_the_window_only(desk: Desk) -> None:
    case, now = desk.cases["p4"], utcnow()
    with desk.engine.begin() as connection:
        made = decide(connection, desk.users["rev1"], case, NEWS, now)
    with pytest.raises(Forbidden), desk.engine.begin() as connection:
        undo(connection, desk.users["rev2"], made.decision_id, now)
    with desk.engine.begin() as connection:
        back = undo(connection, desk.users["rev1"], made.decision_id, now + timedelta(seconds=5))
    assert back.status_after == "open" and status(desk, case) == "open"
    with desk.engine.begin() as connection:
        again = decide(connection, desk.users["rev1"], case, NEWS, now)
    late = now + UNDO_WINDOW + timedelta(seconds=1)
    with pytest.raises(Conflict, match="too late"), desk.engine.begin() as connection:
        undo(connection, desk.users["rev1"], again.decision_id, late)
    with desk.engine.connect() as connection:
        kept = connection.execute(select(Decision.undone_at).where(Decision.case_id == case))
        assert [r.undone_at is not None for r in kept] == [True, False]  # nothing deleted


def test_one_decision_covers_the_near_duplicate_cluster(desk: Desk) -> None:
    p1, p2 = desk.cases["p1"], desk.cases["p2"]  # same text, two accounts
    with desk.engine.begin() as connection:
        assert cluster(connection, p1) == [p2]
        outcomes = decide_cluster(connection, desk.users["rev1"], p1, NEWS, utcnow())
        applied = connection.scalar(select(Decision.applied_from).where(Decision.case_id == p2))
    assert [o.case_id for o in outcomes] == [p1, p2] and applied == p1
    assert status(desk, p2) == "not_violating"
    assert status(desk, desk.cases["p3"]) == "open"  # other texts are not in the cluster


def test_cluster_skips_cases_someone_else_holds(desk: Desk) -> None:
    from redline.review.queue import claim

    p1, p2 = desk.cases["p1"], desk.cases["p2"]
    with desk.engine.begin() as connection:
        claim(connection, desk.users["rev2"], p2, utcnow())
        outcomes = decide_cluster(connection, desk.users["rev1"], p1, NEWS, utcnow())
    assert [o.case_id for o in outcomes] == [p1] and status(desk, p2) == "open"
