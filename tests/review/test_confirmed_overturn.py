"""Four-eyes for overturning a confirmed-bank match, and blind second review.

On a case whose content matches a bank of confirmed content, one person's "not violating" is
not final; it needs a second person's. And while a case is undecided, a reviewer who has not
decided it reads nothing of anyone else's decision on it, in the case file or the item record.

Both invariants are checked over random sequences of decisions, cluster decisions, requests,
undos, claims, releases, role changes and waits by several reviewers and a lead, on two cases
whose items post the same matched text (a near-duplicate cluster), through the real domain
functions on a real database, after every step."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import timedelta

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
from sqlalchemy import Connection, Engine, func, select, update

from redline import banks
from redline.model import Case, Decision, Item, Match, Source, TextBody, User
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.review import Forbidden, ReviewError
from redline.review.accounts import Reviewer, add_user
from redline.review.casefile import case_file
from redline.review.decisions import (
    Verdict,
    confirmed_bank_match,
    decide,
    decide_cluster,
    saw_earlier,
    undo,
)
from redline.review.item_record import item_record
from redline.review.queue import QueueFilter, claim, list_queue, release
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
    "escalate": Verdict("escalate", note="not sure about the bank's entry"),
    "second_review": Verdict("second_review"),
}
NEWS = VERDICTS["not_violating"]
NOTE_MARK = "note-written-by-"


def bank_entry(connection: Connection, bank: str, *, confirmed: bool) -> int:
    """A bank (confirmed or not) with one known text; the entry's id."""
    banks.create_bank(connection, bank, actor="test", now=utcnow(), confirmed=confirmed)
    known = f"Known generic statement banked in {bank}."
    return banks.add_text(connection, bank, known, actor="test", now=utcnow()).id


def matched_cases(connection: Connection, entry: int, text: str, copies: int) -> list[int]:
    """``copies`` new items posting ``text``, which the scan found close to ``entry``, each with
    the case routing opens for such a match."""
    sha = hashlib.sha256(text.encode()).hexdigest()
    connection.execute(TextBody.__table__.insert(), {"sha256": sha, "body": text})
    connection.execute(
        Match.__table__.insert(),
        {
            "text_sha256": sha,
            "bank_entry_id": entry,
            "signal_type": "text_minhash",
            "distance": 0.1,
            "created_at": utcnow(),
        },
    )
    source = connection.scalar(select(Source.id).limit(1))
    serial = connection.scalar(select(func.count()).select_from(Item))
    items = []
    for copy in range(copies):
        external = f"overturn-{serial}-{copy}"
        items.append(
            connection.execute(
                Item.__table__.insert().returning(Item.id),
                {
                    "source_id": source,
                    "external_id": external,
                    "revision": 1,
                    "content_sha256": hashlib.sha256(external.encode()).hexdigest(),
                    "text_sha256": sha,
                },
            ).scalar_one()
        )
    reason = CaseReason(100, "text match to a confirmed bank", signal="bank")
    open_item_cases(connection, dict.fromkeys(items, reason), utcnow())
    return [int(c) for c in connection.scalars(select(Case.id).where(Case.item_id.in_(items)))]


def status(engine: Engine, case_id: int) -> str:
    with engine.connect() as connection:
        return str(connection.scalar(select(Case.status).where(Case.id == case_id)))


class ConfirmedOverturn(RuleBasedStateMachine):
    """Two new cases per run, on items posting one text that matches a confirmed bank."""

    engine: Engine
    entry: int

    @initialize()
    def open_cases(self) -> None:
        self.now = utcnow()
        with self.engine.begin() as connection:
            serial = connection.scalar(select(func.count()).select_from(TextBody))
            text = f"Generic re-post number {serial} of a banked statement."
            self.cases = matched_cases(connection, self.entry, text, copies=2)
            usual_roles(connection)  # everyone starts in their usual role

    def person(self, name: str) -> Reviewer:
        return reviewer_named(self.engine, name)

    @rule(
        name=st.sampled_from(PEOPLE),
        verdict=st.sampled_from(sorted(VERDICTS)),
        which=st.sampled_from([0, 1]),
        whole_cluster=st.booleans(),
    )
    def decide(self, name: str, verdict: str, which: int, whole_cluster: bool) -> None:
        act = decide_cluster if whole_cluster else decide
        # Each person's note says who wrote it, so a leak of it is found in any response.
        given = Verdict(**{**asdict(VERDICTS[verdict]), "note": f"{NOTE_MARK}{name}"})
        me, case = self.person(name), self.cases[which]
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Decision.id, Decision.user_id, Decision.undone_at).where(
                    Decision.case_id == case
                )
            ).all()
        try:
            with self.engine.begin() as connection:
                act(connection, me, case, given, self.now)
        except ReviewError:
            return  # refused (role, claim, four-eyes, decided already): nothing changed
        # A reviewer who undid a decision that showed them the earlier ones decides no more.
        assert not saw_earlier(me, rows), f"{name} decided case {case} again, with sight"

    @rule(name=st.sampled_from(PEOPLE), which=st.sampled_from([0, 1]), latest=st.booleans())
    def undo(self, name: str, which: int, latest: bool) -> None:
        with self.engine.connect() as connection:
            ids = connection.scalars(
                select(Decision.id)
                .where(Decision.case_id == self.cases[which])
                .order_by(Decision.id)
            ).all()
        if not ids:
            return
        try:
            with self.engine.begin() as connection:
                undo(connection, self.person(name), ids[-1 if latest else 0], self.now)
        except ReviewError:
            pass

    @rule(name=st.sampled_from(PEOPLE), which=st.sampled_from([0, 1]))
    def claim(self, name: str, which: int) -> None:
        try:
            with self.engine.begin() as connection:
                claim(connection, self.person(name), self.cases[which], self.now)
        except ReviewError:
            pass

    @rule(name=st.sampled_from(PEOPLE), which=st.sampled_from([0, 1]))
    def release(self, name: str, which: int) -> None:
        try:
            with self.engine.begin() as connection:
                release(connection, self.person(name), self.cases[which])
        except ReviewError:
            pass

    @rule(name=st.sampled_from(PEOPLE), role=st.sampled_from(["reviewer", "lead", "auditor"]))
    def change_role(self, name: str, role: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(User).where(User.username == name).values(role=role))

    @rule(seconds=st.sampled_from([1, 10, 40, 31 * 60]))
    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)  # past the undo window, past a claim's life

    @invariant()
    def overturning_needs_two_people(self) -> None:
        for case in self.cases:
            if status(self.engine, case) == "not_violating":
                voters = standing_voters(self.engine, case, "not_violating")
                assert len(voters) >= 2, f"case {case} overturned on the verdict of {voters}"

    @rule(name=st.sampled_from(PEOPLE), which=st.sampled_from([0, 1]))
    def fetch(self, name: str, which: int) -> None:
        """Someone reads what a reviewer can read of a case: its case file (the page and the
        JSON API), its item's record (the items API) and the queue tab it is on."""
        me, case = self.person(name), self.cases[which]
        with self.engine.connect() as connection:
            found = case_file(connection, me, case, self.now)
            item = connection.scalar(select(Case.item_id).where(Case.id == case))
            record = item_record(connection, int(item), me)
            listed = list_queue(connection, me, QueueFilter(found.status), self.now)
            mine = connection.scalar(
                select(func.count()).where(
                    Decision.case_id == case,
                    Decision.user_id == me.id,
                    Decision.undone_at.is_(None),
                )
            )
        if me.role != "reviewer" or not found.open or mine or found.viewer.saw_earlier:
            return  # leads and auditors read the history; so does anyone once decided
        others = [f"{NOTE_MARK}{p}" for p in PEOPLE if p != name]
        for shown in (json.dumps(found.as_dict()), json.dumps(record)):
            assert not any(o in shown for o in others), f"{name} sees: {shown}"
        assert all(d.user_id == me.id for d in found.decisions)
        assert found.category is None and record["case"]["category"] is None
        assert all(d["reviewer"] == name for d in record["decisions"])
        assert all(row.category is None for row in listed if row.id == case)


def test_no_one_person_overturns_a_confirmed_match_whatever_happens(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        add_user(connection, "rev3", "reviewer", PASSWORD, "test")
        ConfirmedOverturn.entry = bank_entry(connection, "confirmed-texts", confirmed=True)
    ConfirmedOverturn.engine = desk.engine
    run_state_machine_as_test(
        ConfirmedOverturn,
        settings=settings(
            max_examples=60,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_not_violating_on_a_confirmed_match_waits_for_a_second_person(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        entry = bank_entry(connection, "confirmed-texts", confirmed=True)
        (case,) = matched_cases(connection, entry, "A generic re-post of the banked text.", 1)
        assert confirmed_bank_match(connection, case)
        first = decide(connection, desk.users["rev1"], case, NEWS, now)
    assert (first.status_before, first.status_after) == ("open", "second_review")
    with pytest.raises(Forbidden, match="four-eyes"), desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, NEWS, now)
    with desk.engine.begin() as connection:
        assert decide(connection, desk.users["rev2"], case, NEWS, now).status_after == (
            "not_violating"
        )


def test_a_second_reviewer_who_upholds_the_bank_sends_it_to_a_lead(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        entry = bank_entry(connection, "confirmed-texts", confirmed=True)
        (case,) = matched_cases(connection, entry, "A generic re-post of the banked text.", 1)
        decide(connection, desk.users["rev1"], case, NEWS, now)
        upheld = decide(connection, desk.users["rev2"], case, VERDICTS["violating"], now)
    assert upheld.status_after == "escalated"


def test_a_match_to_an_unconfirmed_or_disabled_bank_is_overturned_by_one(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        unconfirmed = bank_entry(connection, "leads-to-check", confirmed=False)
        (case,) = matched_cases(connection, unconfirmed, "A generic text near a lead's bank.", 1)
        assert decide(connection, desk.users["rev1"], case, NEWS, now).status_after == (
            "not_violating"
        )
        confirmed = bank_entry(connection, "confirmed-texts", confirmed=True)
        (other,) = matched_cases(connection, confirmed, "A generic re-post, entry disabled.", 1)
        banks.set_entry_enabled(connection, confirmed, False, actor="test", now=now)
        assert not confirmed_bank_match(connection, other)
        assert decide(connection, desk.users["rev1"], other, NEWS, now).status_after == (
            "not_violating"
        )


def test_without_four_eyes_one_not_violating_is_final_on_a_confirmed_match(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        entry = bank_entry(connection, "confirmed-texts", confirmed=True)
        (case,) = matched_cases(connection, entry, "A generic re-post of the banked text.", 1)
        outcome = decide(connection, desk.users["rev1"], case, NEWS, utcnow(), four_eyes=False)
    assert outcome.status_after == "not_violating"


def test_undoing_a_decision_that_showed_the_first_one_hands_the_case_on(desk: Desk) -> None:
    """A second reviewer's decision shows them the first; taking it back to decide again would
    be deciding with sight of it (issue 18: the blind review's loophole)."""
    case, now = desk.cases["p3"], utcnow()
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, VERDICTS["violating"], now)
        peek = decide(connection, desk.users["rev2"], case, NEWS, now)
        assert peek.status_after == "escalated"  # the outcome itself says rev1 disagreed
        undo(connection, desk.users["rev2"], peek.decision_id, now + timedelta(seconds=2))
        seen = case_file(connection, desk.users["rev2"], case, now)
    assert seen.viewer.saw_earlier and not seen.viewer.can_decide and not seen.viewer.blind
    with pytest.raises(Forbidden, match="blind review"), desk.engine.begin() as connection:
        decide(connection, desk.users["rev2"], case, VERDICTS["violating"], now)
    with desk.engine.begin() as connection:  # back in the queue, for someone else: a lead here
        assert decide(
            connection, desk.users["lead1"], case, VERDICTS["violating"], now
        ).status_after == ("violating")
