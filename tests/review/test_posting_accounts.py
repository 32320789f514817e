"""A posting account's page and bulk decisions over its cases waiting for a first review: what
its items carry (counts, outlink hosts, posts per day, pages of items), and a bulk decision
that is an ordinary decision per case under the four-eyes, blind-review, designation and audit
rules."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from redline.errors import Forbidden, Invalid, NotFound
from redline.ingest.run import ingest
from redline.model import AuditEvent, Case, Decision, Item
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.pipeline.scan import items_in_scope
from redline.pipeline.text_scan import (
    OUTLINKS,
    OUTLINKS_VERSION,
    TextSummary,
    extract_outlinks,
    texts_in_scope,
)
from redline.review import decisions, queue
from redline.review.designations import add_designation
from redline.review.posting_accounts import PAGE, decide_account, posting_account
from tests.helpers import pending_texts_of
from tests.review_desk import Desk

VIOLATING = decisions.Verdict("violating", "support_glorification", designation="none")


def find_outlinks(desk: Desk) -> None:
    """The scan's outlink stage over every stored text."""
    extract_outlinks(
        desk.engine,
        pending_texts_of(
            desk.engine, texts_in_scope(items_in_scope(None, None)), OUTLINKS, OUTLINKS_VERSION
        ),
        TextSummary(),
    )


def busy_channel(desk: Desk, tmp_path: Path, posts: int = 70) -> dict[str, int]:
    """A second source with one channel posting ``posts`` short generic items over three days,
    every third linking out, and a case on every fifth; the cases by external id."""
    lines = []
    for n in range(posts):
        day = n % 3
        link = f" https://files{n % 2}.example.net/d/{n}" if n % 3 == 0 else ""
        lines.append(
            {
                "id": f"c{n}",
                "text": f"Generic channel update number {n}.{link}",
                "account": "chan_1",
                "account_name": "Channel One" if n < posts - 1 else "Channel One (renamed)",
                "time": f"2026-11-{10 + day * 2:02d}T{n % 24:02d}:00:00Z",
            }
        )
    export = tmp_path / "channel.jsonl"
    export.write_text("\n".join(json.dumps(p) for p in lines) + "\n")
    ingest(export, "telegram-mirror", engine=desk.engine, settings=desk.settings, actor="test")
    with desk.engine.begin() as connection:
        items = dict(
            connection.execute(
                select(Item.external_id, Item.id).where(Item.external_id.like("c%"))
            ).all()
        )
        reasons = {
            items[f"c{n}"]: CaseReason(45, "test reason", signal="classifier", lang="en")
            for n in range(0, posts, 5)
        }
        open_item_cases(connection, reasons, utcnow())
        by_item = dict(connection.execute(select(Case.item_id, Case.id)).all())
    find_outlinks(desk)
    return {f"c{n}": by_item[items[f"c{n}"]] for n in range(0, posts, 5)}


def test_an_account_shows_what_its_items_carry(desk: Desk) -> None:
    find_outlinks(desk)
    with desk.engine.connect() as connection:
        found = posting_account(connection, desk.users["rev1"], "channel-export", "acct_a")
    assert (found.source, found.account, found.names) == ("channel-export", "acct_a", ["Account A"])
    assert (found.items, found.flagged, found.undecided, found.decided) == (2, 2, 2, 0)
    assert found.domains == [("example.org", 1)]
    assert found.per_day == [(date(2026, 11, 20), 2)]
    # Newest first: p3 (12:00) before p1 (10:00), each with its case.
    assert [(i.external_id, i.case_id) for i in found.page] == [
        ("p3", desk.cases["p3"]),
        ("p1", desk.cases["p1"]),
    ]
    assert found.open_cases == sorted([desk.cases["p1"], desk.cases["p3"]])


def test_a_busy_channel_is_counted_paged_and_charted(desk: Desk, tmp_path: Path) -> None:
    cases = busy_channel(desk, tmp_path)
    with desk.engine.connect() as connection:
        first = posting_account(connection, desk.users["rev1"], "telegram-mirror", "chan_1")
        second = posting_account(
            connection, desk.users["rev1"], "telegram-mirror", "chan_1", offset=PAGE
        )
        # The same handle in another source is another account.
        with pytest.raises(NotFound):
            posting_account(connection, desk.users["rev1"], "channel-export", "chan_1")
    assert first.items == 70 and first.flagged == len(cases) == 14
    assert first.names == ["Channel One (renamed)", "Channel One"]
    assert first.per_day == [
        (date(2026, 11, 10), 24),
        (date(2026, 11, 12), 23),
        (date(2026, 11, 14), 23),
    ]
    # 24 items link out, alternately to two hosts.
    assert first.domains == [("files0.example.net", 12), ("files1.example.net", 12)]
    assert len(first.page) == PAGE and len(second.page) == 70 - PAGE
    shown = [i.id for i in first.page + second.page]
    assert len(set(shown)) == 70  # every item once over the two pages
    times = [i.posted_at for i in first.page + second.page]
    assert times == sorted(times, reverse=True)


def test_unknown_and_hostile_accounts_are_refused(desk: Desk) -> None:
    with desk.engine.connect() as connection:
        for source, account in (("channel-export", "nobody"), ("no-such-source", "acct_a")):
            with pytest.raises(NotFound):
                posting_account(connection, desk.users["rev1"], source, account)
        for account in ("", "a" * 1001):
            with pytest.raises(Invalid):
                posting_account(connection, desk.users["rev1"], "channel-export", account)


def _decisions(desk: Desk) -> list[tuple[int, int, str]]:
    with desk.engine.connect() as connection:
        rows = connection.execute(
            select(Decision.case_id, Decision.user_id, Decision.status_after).order_by(Decision.id)
        )
        return [(r.case_id, r.user_id, r.status_after) for r in rows]


def test_a_bulk_decision_is_a_first_review_per_case_under_four_eyes(
    desk: Desk, tmp_path: Path
) -> None:
    cases = busy_channel(desk, tmp_path)
    chosen = [cases["c0"], cases["c5"], cases["c10"]]
    rev1, rev2 = desk.users["rev1"], desk.users["rev2"]
    now = utcnow()
    with desk.engine.begin() as connection:
        done = decide_account(connection, rev1, "telegram-mirror", "chan_1", chosen, VIOLATING, now)
    assert [o.status_after for o in done.outcomes] == ["second_review"] * 3 and not done.skipped
    assert _decisions(desk) == [(c, rev1.id, "second_review") for c in sorted(chosen)]
    with desk.engine.connect() as connection:
        audited = connection.execute(
            select(AuditEvent.subject_id).where(
                AuditEvent.action == "case.decide", AuditEvent.actor == rev1.actor
            )
        ).scalars()
        assert sorted(map(int, audited)) == sorted(chosen)
        # Past their first review, they leave the bulk form; the second review is case by case.
        after = posting_account(connection, rev2, "telegram-mirror", "chan_1")
    assert not set(chosen) & set(after.open_cases) and len(after.open_cases) == 11
    with desk.engine.begin() as connection:
        again = decide_account(
            connection, rev2, "telegram-mirror", "chan_1", chosen, VIOLATING, now
        )
    assert again.outcomes == [] and again.skipped == sorted(chosen)
    assert len(_decisions(desk)) == 3  # nobody's second review came in bulk


def test_a_bulk_decision_refuses_what_a_single_one_would(desk: Desk, tmp_path: Path) -> None:
    cases = busy_channel(desk, tmp_path)
    mine = [cases["c0"], cases["c5"]]
    now = utcnow()
    rev1 = desk.users["rev1"]
    with desk.engine.begin() as connection:
        with pytest.raises(Forbidden):
            decide_account(
                connection, desk.users["aud1"], "telegram-mirror", "chan_1", mine, VIOLATING, now
            )
        # A case of another account, slipped into the form: nothing is decided.
        with pytest.raises(Invalid, match="not cases of account"):
            decide_account(
                connection,
                rev1,
                "telegram-mirror",
                "chan_1",
                [*mine, desk.cases["p1"]],
                VIOLATING,
                now,
            )
        for verdict in ("escalate", "second_review"):
            with pytest.raises(Invalid):
                decide_account(
                    connection,
                    rev1,
                    "telegram-mirror",
                    "chan_1",
                    mine,
                    decisions.Verdict(verdict, note="look"),
                    now,
                )
        with pytest.raises(Invalid):
            decide_account(connection, rev1, "telegram-mirror", "chan_1", [], VIOLATING, now)
        with pytest.raises(Invalid):
            decisions.Verdict("violating")  # no category: as on the case page
    # Once leads keep a designation list, a violating bulk decision names one, for every case.
    with desk.engine.begin() as connection:
        add_designation(connection, "Example Front", "UN 1267", actor="t", now=now)
    with pytest.raises(Invalid, match="designated organisation"), desk.engine.begin() as c:
        decide_account(
            c,
            rev1,
            "telegram-mirror",
            "chan_1",
            mine,
            decisions.Verdict("violating", "support_glorification"),
            now,
        )
    assert _decisions(desk) == []


def test_a_bulk_decision_leaves_cases_others_hold_or_may_not_be_theirs(
    desk: Desk, tmp_path: Path
) -> None:
    cases = busy_channel(desk, tmp_path)
    held, seen, free = cases["c0"], cases["c5"], cases["c10"]
    rev1, rev2 = desk.users["rev1"], desk.users["rev2"]
    now = utcnow()
    with desk.engine.begin() as connection:
        queue.claim(connection, rev2, held, now)
        # rev2 sends ``seen`` to second review; rev1 decides after it, which shows them rev2's
        # verdict, and takes it back: blind review says someone else decides it now.
        decisions.decide(connection, rev2, seen, decisions.Verdict("second_review"), now)
        first = decisions.decide(
            connection, rev1, seen, decisions.Verdict("not_violating", reason="news_reporting"), now
        )
        decisions.undo(connection, rev1, first.decision_id, now)
        # The lead puts it back in the open queue for the bulk form to offer.
        connection.execute(Case.__table__.update().where(Case.id == seen).values(status="open"))
    with desk.engine.begin() as connection:
        done = decide_account(
            connection,
            rev1,
            "telegram-mirror",
            "chan_1",
            [held, seen, free],
            decisions.Verdict("not_violating", reason="news_reporting"),
            now + timedelta(seconds=1),
        )
        count = connection.scalar(
            select(func.count()).select_from(Decision).where(Decision.user_id == rev1.id)
        )
    assert [o.case_id for o in done.outcomes] == [free]
    assert done.skipped == sorted([held, seen])
    assert count == 2  # the undone one on ``seen``, and ``free``
