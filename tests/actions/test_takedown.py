"""Own-initiative take-down of a confirmed case: only on a final violating decision, the item
out of view and preserved, the case and the legal basis on the record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from redline.actions import complaints, preservation, takedown
from redline.model import AuditEvent, Case, Item, Preservation
from redline.model.base import utcnow
from redline.review import Conflict, Invalid, NotFound
from redline.review.decisions import Verdict, decide, undo
from tests.conftest import CliResult
from tests.review_desk import Desk

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BASIS = "Regulation (EU) 2021/784, Article 5; terms of service 4.2"
VIOLATING = Verdict("violating", category="recruitment")
TAKE_DOWN_EVENTS = ("item.removed", "item.disabled", "case.take_down")


def confirm(desk: Desk, post: str = "p1") -> int:
    """Two reviewers agree the case is violating (the four-eyes rule); the case id."""
    case = desk.cases[post]
    with desk.engine.begin() as connection:
        first = decide(connection, desk.users["rev1"], case, VIOLATING, utcnow())
        second = decide(connection, desk.users["rev2"], case, VIOLATING, utcnow())
    assert (first.status_after, second.status_after) == ("second_review", "violating")
    return case


def state(desk: Desk, case_id: int) -> tuple[str, int, int]:
    """What a take-down changes: the item's visibility, its preservations, its audit events."""
    with desk.engine.connect() as connection:
        item = connection.scalar(select(Case.item_id).where(Case.id == case_id))
        visibility = connection.scalar(select(Item.visibility).where(Item.id == item))
        kept = connection.scalar(
            select(func.count()).select_from(Preservation).where(Preservation.item_id == item)
        )
        events = connection.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(TAKE_DOWN_EVENTS))
        )
    return str(visibility), int(kept or 0), int(events or 0)


def take_down(desk: Desk, case_id: int, visibility: str = "removed", basis: str = BASIS) -> int:
    with desk.engine.begin() as connection:
        return takedown.take_down_case(connection, "user:lead1", case_id, visibility, NOW, basis)


def test_a_confirmed_case_is_taken_down_preserved_and_audited_with_its_basis(
    desk: Desk,
) -> None:
    case = confirm(desk)
    kept = take_down(desk, case)
    with desk.engine.connect() as connection:
        item = connection.scalar(select(Case.item_id).where(Case.id == case))
        visibility = connection.scalar(select(Item.visibility).where(Item.id == item))
        preserved = connection.execute(
            select(Preservation).where(Preservation.item_id == item)
        ).one()
        events = {
            e.action: e
            for e in connection.execute(
                select(AuditEvent).where(AuditEvent.action.in_(TAKE_DOWN_EVENTS))
            )
        }
    assert visibility == "removed"
    assert preserved.id == kept and preserved.order_id is None
    assert preserved.removed_at == NOW and preserved.keep_until == datetime(
        2027, 6, 1, 9, 0, tzinfo=UTC
    )
    removed, on_case = events["item.removed"], events["case.take_down"]
    assert removed.detail["legal_basis"] == BASIS and removed.actor == "user:lead1"
    assert (on_case.subject_type, on_case.subject_id) == ("case", str(case))
    assert on_case.actor == "user:lead1"
    assert on_case.before == {"visibility": "visible"} and on_case.after == {
        "visibility": "removed"
    }
    assert on_case.detail["legal_basis"] == BASIS and on_case.detail["item"] == item
    assert on_case.detail["preservation"] == kept and on_case.detail["at"] == NOW.isoformat()
    assert on_case.detail["decision"] is not None


def test_disabling_access_is_a_take_down_too(desk: Desk) -> None:
    case = confirm(desk, "p3")
    take_down(desk, case, "disabled")
    assert state(desk, case) == ("disabled", 1, 2)


def _undecided(desk: Desk) -> int:
    return desk.cases["p1"]


def _second_review(desk: Desk) -> int:
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], desk.cases["p1"], VIOLATING, utcnow())
    return desk.cases["p1"]


def _not_violating(desk: Desk) -> int:
    with desk.engine.begin() as connection:
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p1"],
            Verdict("not_violating", reason="news_reporting"),
            utcnow(),
        )
    return desk.cases["p1"]


def _escalated(desk: Desk) -> int:
    with desk.engine.begin() as connection:
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p1"],
            Verdict("escalate", note="a lead should look"),
            utcnow(),
        )
    return desk.cases["p1"]


def _undone(desk: Desk) -> int:
    with desk.engine.begin() as connection:
        made = decide(
            connection, desk.users["rev1"], desk.cases["p1"], VIOLATING, utcnow(), four_eyes=False
        )
        undo(connection, desk.users["rev1"], made.decision_id, utcnow())
    return desk.cases["p1"]


@pytest.mark.parametrize(
    ("prepare", "status"),
    [
        (_undecided, "open"),
        (_second_review, "second review"),
        (_not_violating, "not violating"),
        (_escalated, "escalated"),
        (_undone, "open"),
    ],
)
def test_no_take_down_without_a_final_violating_decision(
    desk: Desk, prepare: Callable[[Desk], int], status: str
) -> None:
    case = prepare(desk)
    with pytest.raises(Conflict, match=f"not confirmed as violating \\({status}\\)"):
        take_down(desk, case)
    assert state(desk, case) == ("visible", 0, 0)


def test_an_item_already_down_is_not_taken_down_twice(desk: Desk) -> None:
    case = confirm(desk)
    take_down(desk, case)
    with pytest.raises(Conflict, match="removed already"):
        take_down(desk, case, "disabled")
    assert state(desk, case) == ("removed", 1, 2)


def test_an_upheld_complaint_keeps_the_content_up(desk: Desk) -> None:
    case = confirm(desk)
    take_down(desk, case)
    with desk.engine.begin() as connection:
        decision = connection.scalar(
            select(AuditEvent.detail["decision"].as_integer()).where(
                AuditEvent.action == "case.take_down"
            )
        )
        assert decision is not None
        number = complaints.file_complaint(connection, decision, "It was counter-speech.", NOW)
        complaints.decide_complaint(connection, "user:lead1", number, True, "satire", NOW)
    assert state(desk, case)[0] == "visible"
    with pytest.raises(Conflict, match=f"complaint {number} .* was upheld"):
        take_down(desk, case)
    assert state(desk, case)[0] == "visible"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"visibility": "hidden"}, Invalid, "unknown take-down 'hidden'"),
        ({"basis": "  "}, Invalid, "needs its legal basis"),
        ({"case_id": 99999}, NotFound, "no case 99999"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    desk: Desk, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    case = confirm(desk)
    asked = {"case_id": case, "visibility": "removed", "basis": BASIS, **change}
    with pytest.raises(error, match=message):
        take_down(desk, asked["case_id"], asked["visibility"], asked["basis"])
    assert state(desk, case) == ("visible", 0, 0)


def test_a_take_down_stays_purgeable_on_schedule(desk: Desk) -> None:
    case = confirm(desk)
    take_down(desk, case)
    with desk.engine.connect() as connection:
        item = connection.scalar(select(Case.item_id).where(Case.id == case))
        assert preservation.due_purges(connection, datetime(2027, 6, 1, 8, 59, tzinfo=UTC)) == []
        assert preservation.due_purges(connection, datetime(2027, 6, 1, 9, 0, tzinfo=UTC)) == [item]


def test_the_take_down_command(desk: Desk, cli: Callable[..., CliResult]) -> None:
    case = confirm(desk)
    open_case = desk.cases["p2"]
    neither = cli("take-down", str(case), "--basis", BASIS)
    assert neither.code == 2 and "--remove or --disable" in neither.err
    assert len(neither.err.strip().splitlines()) == 1
    no_basis = cli("take-down", str(case), "--remove")
    assert no_basis.code == 2 and "--basis" in no_basis.err
    not_a_number = cli("take-down", "one", "--remove", "--basis", BASIS)
    assert not_a_number.code == 2
    assert state(desk, case) == ("visible", 0, 0)
    refused = cli("take-down", str(open_case), "--remove", "--basis", BASIS)
    assert refused.code == 1 and "not confirmed as violating (open)" in refused.err
    assert state(desk, open_case) == ("visible", 0, 0)
    done = cli("take-down", str(case), "--disable", "--basis", BASIS)
    assert done.code == 0 and f"Case {case}: item disabled" in done.out
    assert state(desk, case) == ("disabled", 1, 2)
    with desk.engine.connect() as connection:
        actor = connection.scalar(
            select(AuditEvent.actor).where(AuditEvent.action == "case.take_down")
        )
    assert actor is not None and actor.startswith("cli")
