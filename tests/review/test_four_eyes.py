"""The four-eyes rule as an invariant: under it, a case is final "violating" (and can be taken
down) only when two distinct people stand by a "violating" verdict on it. Random sequences of
decisions, requests, undos, claims, releases, role changes and take-down attempts, by several
reviewers and a lead, run through the real domain functions on a real database; the invariant
is checked after every step."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select, update

from redline.actions.takedown import take_down_case
from redline.model import Case, Decision, Item, Source, User
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.review import ReviewError
from redline.review.accounts import Reviewer, add_user
from redline.review.decisions import Verdict, decide, undo
from redline.review.queue import claim, release
from tests.review_desk import (
    PASSWORD,
    PEOPLE,
    Desk,
    reviewer_named,
    standing_voters,
    usual_roles,
)

VERDICTS = {
    "violating": Verdict("violating", category="recruitment"),
    "not_violating": Verdict("not_violating", reason="news_reporting"),
    "escalate": Verdict("escalate", note="unsure: a lead should look"),
    "second_review": Verdict("second_review"),
}
BASIS = "test legal basis"


def new_case(engine: Engine, now: datetime) -> int:
    """A fresh open case on a new item of the desk's source."""
    with engine.begin() as connection:
        source = connection.scalar(select(Source.id).limit(1))
        serial = connection.scalar(select(func.count()).select_from(Item))
        external = f"four-eyes-{serial}"
        item = connection.execute(
            Item.__table__.insert().returning(Item.id),
            {
                "source_id": source,
                "external_id": external,
                "revision": 1,
                "content_sha256": hashlib.sha256(external.encode()).hexdigest(),
            },
        ).scalar_one()
        open_item_cases(connection, {item: CaseReason(50, "four-eyes test")}, now)
        return int(connection.scalar(select(Case.id).where(Case.item_id == item)))


class FourEyes(RuleBasedStateMachine):
    """One new case per run; the people act on it in any order."""

    engine: Engine

    @initialize()
    def open_case(self) -> None:
        self.now = utcnow()
        self.case = new_case(self.engine, self.now)
        with self.engine.begin() as connection:  # everyone starts in their usual role
            usual_roles(connection)
        self.taken_down = False

    def person(self, name: str) -> Reviewer:
        return reviewer_named(self.engine, name)

    @rule(name=st.sampled_from(PEOPLE), verdict=st.sampled_from(sorted(VERDICTS)))
    def decide(self, name: str, verdict: str) -> None:
        try:
            with self.engine.begin() as connection:
                decide(connection, self.person(name), self.case, VERDICTS[verdict], self.now)
        except ReviewError:
            pass  # refused (role, claim, four-eyes, decided already): nothing changed

    @rule(name=st.sampled_from(PEOPLE), latest=st.booleans())
    def undo(self, name: str, latest: bool) -> None:
        with self.engine.connect() as connection:
            ids = connection.scalars(
                select(Decision.id).where(Decision.case_id == self.case).order_by(Decision.id)
            ).all()
        if not ids:
            return
        try:
            with self.engine.begin() as connection:
                undo(connection, self.person(name), ids[-1 if latest else 0], self.now)
        except ReviewError:
            pass

    @rule(name=st.sampled_from(PEOPLE))
    def claim(self, name: str) -> None:
        try:
            with self.engine.begin() as connection:
                claim(connection, self.person(name), self.case, self.now)
        except ReviewError:
            pass

    @rule(name=st.sampled_from(PEOPLE))
    def release(self, name: str) -> None:
        try:
            with self.engine.begin() as connection:
                release(connection, self.person(name), self.case)
        except ReviewError:
            pass

    @rule(name=st.sampled_from(PEOPLE), role=st.sampled_from(["reviewer", "lead", "auditor"]))
    def change_role(self, name: str, role: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(User).where(User.username == name).values(role=role))

    @rule(seconds=st.sampled_from([1, 10, 40, 31 * 60]))
    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)  # past the undo window, past a claim's life

    @rule()
    def take_down(self) -> None:
        try:
            with self.engine.begin() as connection:
                take_down_case(connection, "user:lead1", self.case, "removed", self.now, BASIS)
        except ReviewError:
            return
        self.taken_down = True
        assert len(standing_voters(self.engine, self.case, "violating")) >= 2, (
            "taken down on one verdict"
        )

    @invariant()
    def violating_needs_two_people(self) -> None:
        with self.engine.connect() as connection:
            status = connection.scalar(select(Case.status).where(Case.id == self.case))
            visibility = connection.scalar(
                select(Item.visibility)
                .join(Case, Case.item_id == Item.id)
                .where(Case.id == self.case)
            )
        voters = standing_voters(self.engine, self.case, "violating")
        if status == "violating":
            assert len(voters) >= 2, f"final violating on the verdict of {voters}"
        if self.taken_down or visibility != "visible":
            assert status == "violating" and len(voters) >= 2, (
                f"item {visibility} while the case is {status} with violating voters {voters}"
            )


def test_four_eyes_holds_whatever_happens(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        add_user(connection, "rev3", "reviewer", PASSWORD, "test")
    FourEyes.engine = desk.engine
    run_state_machine_as_test(
        FourEyes,
        settings=settings(
            max_examples=150,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_request_is_no_second_opinion(desk: Desk) -> None:
    """Issue 14, row 4: rev1 violating, rev2 asks for a second review, rev1 violating again was
    final on one person's verdict, and the take-down then went through."""
    case, now = desk.cases["p3"], utcnow()
    rev1, rev2 = desk.users["rev1"], desk.users["rev2"]
    with desk.engine.begin() as connection:
        assert decide(connection, rev1, case, VERDICTS["violating"], now).status_after == (
            "second_review"
        )
        decide(connection, rev2, case, VERDICTS["second_review"], now)
    with pytest.raises(ReviewError, match="four-eyes"), desk.engine.begin() as connection:
        decide(connection, rev1, case, VERDICTS["violating"], now)
    with pytest.raises(ReviewError, match="not confirmed"), desk.engine.begin() as connection:
        take_down_case(connection, "user:lead1", case, "removed", now, BASIS)
    with desk.engine.begin() as connection:  # a second person's agreement makes it final
        assert decide(connection, rev2, case, VERDICTS["violating"], now).status_after == (
            "violating"
        )
        take_down_case(connection, "user:lead1", case, "removed", now, BASIS)


def test_a_leads_verdict_on_an_escalation_alone_waits_for_a_second_person(desk: Desk) -> None:
    case, now = desk.cases["p3"], utcnow()
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, VERDICTS["escalate"], now)
        lead = decide(connection, desk.users["lead1"], case, VERDICTS["violating"], now)
        assert lead.status_after == "second_review"
        final = decide(connection, desk.users["rev2"], case, VERDICTS["violating"], now)
        assert final.status_after == "violating"


def test_no_undo_once_the_case_was_taken_down(desk: Desk) -> None:
    case, now = desk.cases["p3"], utcnow()
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, VERDICTS["violating"], now)
        second = decide(connection, desk.users["rev2"], case, VERDICTS["violating"], now)
        take_down_case(connection, "user:lead1", case, "removed", now, BASIS)
    with pytest.raises(ReviewError, match="acted on"), desk.engine.begin() as connection:
        undo(connection, desk.users["rev2"], second.decision_id, now + timedelta(seconds=1))
