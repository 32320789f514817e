"""A week of the demo team's work on the demo's cases: the rest of the loop after the scan.

Three demo accounts (two reviewers and a lead) decide cases with both verdicts under the
four-eyes rule, leave one case to a lead and one to a second reviewer, take confirmed content
down (into preservation), refer a post's address to a (fictional) hosting service and record
what the liveness checks found, act on a removal order within its hour and receive another
shortly before the week ends, and handle complaints: one upheld, which reinstates the content,
one still open. Every step calls the function the console and the CLI call, so the rules hold
as they do for people (a "violating" verdict is final only when a second reviewer agrees, a
take-down needs a final verdict, a complaint needs a final decision).

The week ends when ``redline demo`` runs: its first morning is seven days before, when the demo
data arrived and was scanned (``DemoWeek.start``); each later step has a fixed time in it, with
minutes drawn from a seeded generator, so the week reads the same every time relative to when it
was played. Nothing is fetched: the liveness results are what the fictional host answers.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Final

from sqlalchemy import Connection, Engine, select

from redline.actions import complaints, orders, referrals, takedown
from redline.actions.liveness import UrlCheck
from redline.model import Case, Complaint, Item, Source, User
from redline.model.base import clock_from
from redline.review.accounts import Reviewer, add_user
from redline.review.decisions import Verdict, decide
from redline.review.rules import FINAL_STATUSES
from redline.review.taxonomy import NOT_VIOLATING, VIOLATING

SEED: Final = 20261207
DAYS: Final = 7
# The demo team. Their passwords are random and never shown: they are names in the history of
# the demo's cases, not accounts to sign in with (`redline user passwd` makes one usable).
REVIEWERS: Final = ("demo-reviewer-1", "demo-reviewer-2")
LEAD: Final = "demo-lead"
SERVICE: Final = "Example Hosting (fictional)"
AUTHORITY: Final = "Demo Internet Referral Unit (fictional)"

# Cases decided "violating", by the record of their item: (source, record, category, day).
VIOLATING_CASES: Final = (
    ("demo-media", "poster-1", "official_media_distribution", 1),
    ("demo-media", "demo-2.png", "support_glorification", 1),
    ("demo-telegram", "1000000001/2", "official_media_distribution", 2),
    ("demo-media", "demo-3.png", "official_media_distribution", 2),
    ("demo-telegram", "1000000001/4", "recruitment", 3),
    ("demo-media", "demo-clip-small.mp4", "official_media_distribution", 3),
    ("demo-media", "demo-1-cropped.jpg", "support_glorification", 4),
)
# Cases decided "not violating": the partner's list matched ordinary pictures, and the re-typed
# statement is the residents' committee's own. (source, record, reason, day)
NOT_VIOLATING_CASES: Final = (
    ("demo-media", "demo-4.png", "not_tvec", 1),
    ("demo-media", "demo-4-reencoded.jpg", "not_tvec", 2),
    ("demo-media", "demo-5.png", "news_reporting", 4),
    ("demo-csv", "p26", "not_tvec", 5),
    ("demo-media", "demo-5-reencoded.jpg", "research", 5),
)
# Taken down on the team's own initiative once confirmed; poster-1 is on another service and
# referred to it instead, and the rest stay up for now.
TAKEN_DOWN: Final = ("demo-2.png", "demo-3.png", "demo-clip-small.mp4", "1000000001/2")
# The post seen on another service, referred to that host, and what the daily liveness checks
# found after sending: (state, HTTP status), a day apart.
REFERRED: Final = {"poster-1": (("up", 200), ("down", 404))}
# Reviewers disagree on one case (it waits for a lead) and one waits for its second reviewer.
DISAGREED: Final = ("demo-media", "demo-1-watermarked.jpg", "support_glorification")
AWAITING_SECOND: Final = ("demo-media", "demo-3-brighter.jpg", "official_media_distribution")
# Items of the demo's URL list that the removal orders name.
EXECUTED_ORDER_URL: Final = "https://files.example.net/download/demo.pdf"
OPEN_ORDER_URL: Final = "https://youtu.be/demoVIDEO01?si=share"


class DemoCasesMissing(LookupError):
    """The demo's cases are not in the store (the demo was not ingested and scanned), or were
    opened after the week began (scanned before the week was played)."""


@dataclass
class DemoWeek:
    """What the week did, for the command's summary and its tests."""

    start: datetime
    end: datetime
    decisions: int = 0
    final: dict[str, int] = field(default_factory=dict)  # final status -> cases
    taken_down: int = 0
    referrals: int = 0
    orders: dict[str, int] = field(default_factory=dict)  # order status -> orders
    complaints: dict[str, int] = field(default_factory=dict)  # complaint status -> complaints


def week_start(now: datetime) -> datetime:
    """8:00 UTC on the day a week before ``now``: when the demo's data arrives and is scanned."""
    return datetime.combine((now - timedelta(days=DAYS)).date(), time(8), tzinfo=UTC)


def played(connection: Connection) -> bool:
    """Whether the week was played on this store already (its lead exists)."""
    return connection.scalar(select(User.id).where(User.username == LEAD)) is not None


def _case(connection: Connection, source: str, record: str, moment: datetime) -> int:
    """The case on a demo record, opened before ``moment``."""
    case = connection.execute(
        select(Case.id, Case.opened_at)
        .join(Item, Item.id == Case.item_id)
        .join(Source, Source.id == Item.source_id)
        .where(Source.name == source, Item.external_id == record)
        .order_by(Item.revision.desc())
        .limit(1)
    ).first()
    if case is None:
        raise DemoCasesMissing(
            f"no case on {source} record {record!r}: ingest and scan the demo first"
        )
    if case.opened_at > moment:
        # Scanned before `redline demo` played the week (after `--no-week`, say): deciding it in
        # the past would put decisions before their case.
        raise DemoCasesMissing(
            f"case {case.id} on {source} record {record!r} was opened"
            f" {case.opened_at:%Y-%m-%d %H:%M}, after the demo's week began:"
            " play the week on a new store"
        )
    return int(case.id)


Step = Callable[[datetime], None]


class _Week:
    """The week's calendar: steps run in the order of their times, each at its time (its rows
    and audit events carry it), and a step may put later ones on the calendar."""

    def __init__(self, connection: Connection, start: datetime, end: datetime) -> None:
        self.connection = connection
        self.start = start
        self.end = end
        self.rng = random.Random(SEED)  # noqa: S311 - a reproducible week, not a secret
        self.summary = DemoWeek(start, end)
        self.calendar: list[tuple[datetime, int, Step]] = []
        self.numbers = itertools.count()  # same-time steps run in the order planned
        self.reviewers: list[Reviewer] = []
        self.lead: Reviewer | None = None
        self.final_decision: dict[str, int] = {}  # record -> the decision that made it final

    def on(self, moment: datetime, step: Step) -> None:
        """Put ``step`` on the calendar at ``moment``."""
        heapq.heappush(self.calendar, (moment, next(self.numbers), step))

    def run(self) -> None:
        """Run the calendar, earliest step first, until nothing is left on it."""
        while self.calendar:
            moment, _number, step = heapq.heappop(self.calendar)
            with clock_from(moment):
                step(moment)

    def morning(self, day: int, hour: int = 9) -> datetime:
        """A time in the hour from ``hour`` on ``day``, minutes drawn from the week's generator."""
        return self.start + timedelta(days=day, hours=hour - 8, minutes=self.rng.randrange(60))

    def later(self, moment: datetime, low: int, high: int) -> datetime:
        """``moment`` plus ``low`` to ``high`` minutes."""
        return moment + timedelta(minutes=self.rng.randrange(low, high))

    @property
    def lead_actor(self) -> str:
        assert self.lead is not None
        return self.lead.actor

    def add_team(self, moment: datetime) -> None:
        for username in REVIEWERS:
            self.reviewers.append(
                add_user(self.connection, username, "reviewer", _unusable(), "demo")
            )
        self.lead = add_user(self.connection, LEAD, "lead", _unusable(), "demo")
        referrals.add_service(
            self.connection, self.lead_actor, SERVICE, ["example.org"], "email", "abuse@example.org"
        )

    def until_final(self, source: str, record: str, verdict: Verdict, first: int) -> Step:
        """A decision step: the verdict from one reviewer, then (later) from the next, until
        the rules make it final; then what follows a final verdict."""

        def step(moment: datetime, turn: int = 0) -> None:
            assert self.lead is not None
            people = [self.reviewers[first], self.reviewers[1 - first], self.lead]
            case_id = _case(self.connection, source, record, moment)
            outcome = decide(self.connection, people[turn], case_id, verdict, moment)
            self.summary.decisions += 1
            if outcome.status_after not in FINAL_STATUSES:
                if turn + 1 == len(people):
                    raise AssertionError(f"case {case_id} not final after every demo reviewer")
                self.on(self.later(moment, 20, 300), lambda when: step(when, turn + 1))
                return
            self.final_decision[record] = outcome.decision_id
            final = self.summary.final
            final[outcome.status_after] = final.get(outcome.status_after, 0) + 1
            if record in TAKEN_DOWN:
                self.on(self.later(moment, 5, 50), lambda when: self.take_down(case_id, when))
            if record in REFERRED:
                self.on(self.later(moment, 30, 120), lambda when: self.refer(record, when))

        return step

    def take_down(self, case_id: int, moment: datetime) -> None:
        """Confirmed content goes out of view (and into preservation)."""
        takedown.take_down_case(
            self.connection,
            self.lead_actor,
            case_id,
            "removed",
            moment,
            takedown.OWN_INITIATIVE_BASIS,
        )
        self.summary.taken_down += 1

    def refer(self, record: str, moment: datetime) -> None:
        """A post's addresses referred to their host, sent, and checked once a day after."""
        case_id = _case(self.connection, "demo-media", record, moment)
        for referral_id in referrals.create_referrals(
            self.connection, self.lead_actor, case_id, moment
        ):
            self.summary.referrals += 1

            def send(when: datetime, referral_id: int = referral_id) -> None:
                referrals.set_status(self.connection, self.lead_actor, referral_id, "sent", when)
                for day, (state, status) in enumerate(REFERRED[record], start=1):
                    checked = when + timedelta(days=day, minutes=self.rng.randrange(-60, 60))
                    self.on(checked, partial(self.check, referral_id, state, status))

            self.on(self.later(moment, 5, 30), send)

    def check(self, referral_id: int, state: str, status: int, moment: datetime) -> None:
        """What the scheduler's liveness check found (the fictional host's answer)."""
        url = referrals.get_referral(self.connection, referral_id)["url"]
        found = UrlCheck(
            url=url,
            final_url=url,
            state="down" if state == "down" else "up",
            http_status=status,
            content_sha256=None,
            bytes_read=0,
            redirects=(),
            error=None,
            checked_at=moment,
        )
        referrals.record_check(self.connection, "scheduler", referral_id, found)

    def order(self, reference: str, url: str, act_within: int | None) -> Step:
        """A removal order received; acted on ``act_within`` minutes later (None: left open)."""

        def step(moment: datetime) -> None:
            received = orders.OrderIn(
                authority=AUTHORITY,
                reference=reference,
                issued_at=moment - timedelta(minutes=self.rng.randrange(5, 20)),
                received_at=moment,
                urls=[url],
                reasons="Demo order: the file at this address is listed as terrorist content.",
                authority_contact="orders@authority.example",
                redress="Demo: an appeal to the issuing authority's court within one month.",
                signed_by="Demo Officer",
            )
            order_id = orders.register_order(self.connection, self.lead_actor, received, moment)
            if act_within is not None:
                self.on(
                    moment + timedelta(minutes=act_within),
                    lambda when: self.execute(order_id, url, when),
                )

        return step

    def execute(self, order_id: int, url: str, moment: datetime) -> None:
        orders.execute(self.connection, self.lead_actor, order_id, url, "removed", moment)

    def complaint(self, record: str, text: str, upheld_after: timedelta | None) -> Step:
        """A complaint about the final decision on ``record``; upheld later, or left open."""

        def step(moment: datetime) -> None:
            complaint_id = complaints.file_complaint(
                self.connection, self.final_decision[record], text, moment
            )
            if upheld_after is not None:
                self.on(moment + upheld_after, lambda when: self.uphold(complaint_id, when))

        return step

    def uphold(self, complaint_id: int, moment: datetime) -> None:
        complaints.decide_complaint(
            self.connection,
            self.lead_actor,
            complaint_id,
            True,
            "On a second look the picture is the club's own poster: reinstated.",
            moment,
        )

    def plan(self) -> None:
        """Every step whose time is known before the week starts."""
        self.on(self.start, self.add_team)
        for number, (source, record, category, day) in enumerate(VIOLATING_CASES):
            verdict = Verdict(VIOLATING, category)
            when = self.morning(day, hour=9 + self.rng.randrange(7))
            self.on(when, self.until_final(source, record, verdict, number % 2))
        for number, (source, record, reason, day) in enumerate(NOT_VIOLATING_CASES):
            verdict = Verdict(NOT_VIOLATING, reason=reason)
            when = self.morning(day, hour=9 + self.rng.randrange(7))
            self.on(when, self.until_final(source, record, verdict, (number + 1) % 2))
        # Two reviewers disagree on one case (a lead will decide it); another waits for its
        # second reviewer.
        source, record, category = DISAGREED
        self.on(
            self.morning(5, hour=14),
            self.one_verdict(source, record, Verdict(VIOLATING, category), 0),
        )
        disagree = Verdict(NOT_VIOLATING, reason="insufficient_context", note="Cannot tell.")
        self.on(self.morning(5, hour=16), self.one_verdict(source, record, disagree, 1))
        source, record, category = AWAITING_SECOND
        self.on(
            self.morning(6, hour=15),
            self.one_verdict(source, record, Verdict(VIOLATING, category), 1),
        )
        self.on(
            self.morning(3, hour=10),
            self.order("DEMO-TCO-001", EXECUTED_ORDER_URL, self.rng.randrange(20, 50)),
        )
        self.on(self.end - timedelta(minutes=20), self.order("DEMO-TCO-002", OPEN_ORDER_URL, None))
        self.on(
            self.morning(4, hour=11),
            self.complaint(
                "demo-3.png",
                "This picture is our club's poster for the spring festival, not propaganda.",
                timedelta(hours=self.rng.randrange(20, 28)),
            ),
        )
        self.on(
            self.morning(6, hour=16),
            self.complaint(
                "demo-2.png",
                "Please look again: this is our neighbourhood's clean-up poster.",
                None,
            ),
        )

    def one_verdict(self, source: str, record: str, verdict: Verdict, reviewer: int) -> Step:
        """A decision step of one reviewer, whatever it leaves the case waiting for."""

        def step(moment: datetime) -> None:
            case_id = _case(self.connection, source, record, moment)
            decide(self.connection, self.reviewers[reviewer], case_id, verdict, moment)
            self.summary.decisions += 1

        return step

    def count(self) -> None:
        """The orders and complaints as the week left them, for the summary."""
        for order in orders.list_orders(self.connection):
            self.summary.orders[order.status] = self.summary.orders.get(order.status, 0) + 1
        for status in self.connection.scalars(select(Complaint.status)):
            self.summary.complaints[status] = self.summary.complaints.get(status, 0) + 1


def _unusable() -> str:
    """A long random password nobody is told."""
    return secrets.token_urlsafe(32)


def play_week(engine: Engine, start: datetime, end: datetime) -> DemoWeek | None:
    """Play the demo team's week (``start`` to ``end``) on the scanned demo cases, in one
    transaction: all of it or nothing. None when it was played on this store already;
    DemoCasesMissing when the demo's cases are not there."""
    with engine.begin() as connection:
        if played(connection):
            return None
        week = _Week(connection, start, end)
        week.plan()
        week.run()
        week.count()
        return week.summary
