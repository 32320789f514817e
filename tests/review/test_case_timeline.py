"""A case's timeline: every step of its story in time order, from the rows and the audit trail
the steps wrote, and nothing of other people's work for a reviewer whose review is blind."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from redline.actions import complaints, orders, referrals
from redline.actions.takedown import take_down_case
from redline.banks import manage
from redline.model import Case, Item, ItemMedia, Media
from redline.model.base import utcnow
from redline.review import decisions, protection
from redline.review.case_timeline import case_timeline
from tests.review.test_posting_accounts import find_outlinks
from tests.review_desk import Desk

VIOLATING = decisions.Verdict("violating", "support_glorification")
PICTURE = "c" * 64


def give_picture(connection: Connection, case_id: int) -> None:
    """An image on the case's item (the timeline reads reveals of the item's media)."""
    item = connection.scalar(select(Case.item_id).where(Case.id == case_id))
    connection.execute(
        Media.__table__.insert(),
        {"sha256": PICTURE, "md5": "0" * 32, "kind": "image", "size": 1, "path": "x/c"},
    )
    connection.execute(
        ItemMedia.__table__.insert(), {"item_id": item, "media_sha256": PICTURE, "position": 0}
    )


def test_a_case_story_in_time_order(desk: Desk) -> None:
    case = desk.cases["p3"]  # links to https://example.org/x
    rev1, rev2, lead = desk.users["rev1"], desk.users["rev2"], desk.users["lead1"]
    find_outlinks(desk)
    with desk.engine.begin() as connection:
        give_picture(connection, case)
        connection.execute(
            update(Item).where(Item.external_id == "p3").values(url="https://host.example/post/3")
        )
        protection.reveal(connection, rev1, case, PICTURE, utcnow())
        first = decisions.decide(connection, rev1, case, VIOLATING, utcnow())
        decisions.undo(connection, rev1, first.decision_id, utcnow())
        decisions.decide(connection, rev1, case, VIOLATING, utcnow())
        final = decisions.decide(connection, rev2, case, VIOLATING, utcnow())
        referrals.create_referrals(connection, lead.actor, case, utcnow())
        manage.create_bank(connection, "known", actor=lead.actor, now=utcnow())
        manage.add_text(
            connection,
            "known",
            "Another generic post from account A https://example.org/x",
            actor=lead.actor,
            now=utcnow(),
            provenance={"case": case},
        )
        manage.add_text(  # another case's entry: not this case's story
            connection,
            "known",
            "Generic re-posted statement text, number one.",
            actor=lead.actor,
            now=utcnow(),
            provenance={"case": desk.cases["p1"]},
        )
        take_down_case(connection, lead.actor, case, "removed", utcnow(), "terms of service")
        complaint = complaints.file_complaint(
            connection, final.decision_id, "This was a news report.", utcnow()
        )
        complaints.decide_complaint(connection, lead.actor, complaint, True, "news", utcnow())
        received = utcnow()
        orders.register_order(
            connection,
            lead.actor,
            orders.OrderIn(
                "Example authority",
                "TCO-T-1",
                received,
                received,
                ["https://host.example/post/3"],
                "generic reasons",
            ),
            received,
        )
        story = case_timeline(connection, lead, case)
    kinds = [e.kind for e in story.events]
    assert story.withheld == 0
    assert kinds == [
        "opened",
        "reveal",
        "decision",
        "undo",
        "decision",
        "decision",
        "referral",  # the link in its text
        "referral",  # the address it was posted at
        "bank",
        "notice",  # queued by the take-down, in its transaction
        "take-down",
        "complaint",
        "complaint",  # upheld, and so
        "reinstatement",
        "removal order",
    ], "\n".join(f"{e.kind}: {e.summary}" for e in story.events)
    times = [e.at for e in story.events]
    assert times == sorted(times)
    summaries = [e.summary for e in story.events]
    assert "rev1 took the decision back" in summaries
    assert "referral of https://example.org/x drafted" in summaries
    assert any(s.startswith("added to bank known") for s in summaries)
    assert any("item removed (terms of service" in s for s in summaries)
    assert any(s.endswith("upheld") for s in summaries)


def test_a_blind_second_reviewer_sees_nothing_of_the_first_ones_work(desk: Desk) -> None:
    case = desk.cases["p1"]
    rev1, rev2 = desk.users["rev1"], desk.users["rev2"]
    with desk.engine.begin() as connection:
        give_picture(connection, case)
        protection.reveal(connection, rev1, case, PICTURE, utcnow())
        decisions.decide(
            connection,
            rev1,
            case,
            decisions.Verdict("violating", "recruitment", note="n"),
            utcnow(),
        )
        blind = case_timeline(connection, rev2, case)
        # The reviewer who decided, a lead and an auditor read it all.
        for reader in ("rev1", "lead1", "aud1"):
            full = case_timeline(connection, desk.users[reader], case)
            assert [e.kind for e in full.events] == ["opened", "reveal", "decision"], reader
            assert full.withheld == 0
        protection.reveal(connection, rev2, case, PICTURE, utcnow())
        own = case_timeline(connection, rev2, case)
        decisions.decide(connection, rev2, case, VIOLATING, utcnow())
        after = case_timeline(connection, rev2, case)
    assert [e.kind for e in blind.events] == ["opened"] and blind.withheld == 2
    assert not any("rev1" in (e.summary + str(e.actor)) for e in blind.events + own.events)
    assert not any("recruitment" in e.summary or "violating" in e.summary for e in own.events)
    assert [e.kind for e in own.events] == ["opened", "reveal"] and own.withheld == 2
    # Their own decision lifts it.
    assert [e.kind for e in after.events] == ["opened", "reveal", "decision", "reveal", "decision"]
    assert after.withheld == 0
