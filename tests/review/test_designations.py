"""The designations list leads keep, the verdicts that name them, and the case's category, which
only a final verdict sets (so the queue shows a second reviewer nothing of the first)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from redline.model import AuditEvent, Case, Decision
from redline.model.base import utcnow
from redline.review import Conflict, Invalid, NotFound
from redline.review.decisions import Verdict, decide, history, undo
from redline.review.designations import (
    add_designation,
    list_designations,
    set_designation_enabled,
)
from tests.conftest import CliResult
from tests.review_desk import Desk

NAMED = Verdict("violating", category="recruitment", designation="Example Front")


def case_category(desk: Desk, case: int) -> str | None:
    with desk.engine.connect() as connection:
        return connection.scalar(select(Case.category).where(Case.id == case))


def test_leads_add_and_disable_designations_audited(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        added = add_designation(connection, "  Example   Front ", "UN 1267", actor="t", now=now)
        assert (added.name, added.listed_by, added.enabled) == ("Example Front", "UN 1267", True)
        with pytest.raises(Conflict, match="on the list already"):
            add_designation(connection, "Example Front", None, actor="t", now=now)
        for bad in ("", "   ", "none", "x" * 201):
            with pytest.raises(Invalid):
                add_designation(connection, bad, None, actor="t", now=now)
        set_designation_enabled(connection, "Example Front", False, actor="t", now=now, reason="r")
        with pytest.raises(NotFound, match="no designation 'Nobody'"):
            set_designation_enabled(connection, "Nobody", False, actor="t", now=now)
        assert [d.enabled for d in list_designations(connection)] == [False]
        assert list_designations(connection, enabled_only=True) == []
        actions = connection.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "designation")
        ).all()
    assert actions == ["designation.add", "designation.disable"]


def test_a_violating_verdict_names_a_designation_once_the_list_has_one(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:  # no list yet: nothing to name
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p3"],
            Verdict("violating", "recruitment"),
            now,
        )
        add_designation(connection, "Example Front", None, actor="t", now=now)
    with pytest.raises(Invalid, match="designated organisation"), desk.engine.begin() as c:
        decide(c, desk.users["rev1"], desk.cases["p5"], Verdict("violating", "recruitment"), now)
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], desk.cases["p5"], NAMED, now)
        decide(connection, desk.users["rev2"], desk.cases["p5"], NAMED, now)
        named = [d.designation for d in history(connection, desk.cases["p5"])]
        told = connection.scalars(
            select(AuditEvent.after)
            .where(
                AuditEvent.action == "case.decide", AuditEvent.subject_id == str(desk.cases["p5"])
            )
            .order_by(AuditEvent.id)
        ).all()
    assert named == ["Example Front", "Example Front"]
    assert [t["designation"] for t in told if t] == ["Example Front", "Example Front"]


def test_the_case_category_is_set_only_by_a_final_verdict_and_undo_puts_it_back(
    desk: Desk,
) -> None:
    case, now = desk.cases["p4"], utcnow()  # routed with the classifier's support_glorification
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, Verdict("violating", "threat_incitement"), now)
    assert case_category(desk, case) == "support_glorification"  # not rev1's, yet
    with desk.engine.begin() as connection:
        final = decide(
            connection, desk.users["rev2"], case, Verdict("violating", "recruitment"), now
        )
    assert final.status_after == "violating" and case_category(desk, case) == "recruitment"
    with desk.engine.begin() as connection:
        undo(connection, desk.users["rev2"], final.decision_id, now + timedelta(seconds=5))
        before = connection.scalar(
            select(Decision.category_before).where(Decision.id == final.decision_id)
        )
    assert before == "support_glorification"
    assert case_category(desk, case) == "support_glorification"


def test_the_designated_command_keeps_the_list(cli: Callable[..., CliResult], desk: Desk) -> None:
    added = cli("designated", "add", "Example Front", "--listed-by", "a national list")
    assert added.code == 0 and "Added designation 1: Example Front" in added.out
    assert cli("designated", "add", "Example Front").code == 1  # on the list already
    assert cli("designated", "add", "none").code == 2  # the answer for no designation
    off = cli("designated", "disable", "Example Front", "--reason", "delisted")
    assert off.code == 0 and "Disabled Example Front" in off.out
    missing = cli("designated", "disable", "Nobody")
    assert missing.code == 1 and "no designation 'Nobody'" in missing.err
    listed = json.loads(cli("designated", "list", "--json").out)
    assert [(d["name"], d["listed_by"], d["enabled"]) for d in listed] == [
        ("Example Front", "a national list", False)
    ]
    with desk.engine.connect() as connection:
        reason = connection.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "designation.disable")
        )
    assert reason == {"name": "Example Front", "reason": "delisted"}
