"""Deciding on cases: verdicts, the four-eyes rule, escalation, clusters, and undo.

A case moves ``open`` -> (``second_review`` | ``escalated``) -> ``violating`` | ``not_violating``.
With the four-eyes rule on (the default), a "violating" verdict, which leads to removal, only
becomes final when a second, different reviewer agrees; so does a "not violating" on a case
that matches a bank of confirmed content, which overturns what the bank already holds to be
violating. If the second reviewer disagrees the case goes to a lead. Only verdicts count, and
only those still in force: a request (escalate, second review) is nobody's opinion, and an
undone decision is taken back; a lead's verdict on an escalated case also waits for a second
person when it needs one, unless someone already stands by it.

A violating verdict needs the category the reviewer chose (the model's is a suggestion, never
the default) and, once leads keep a list of designations, the designated organisation or
movement (or "none"); an escalation needs a note saying why. The case's category changes only
when a verdict is final, so a second reviewer reading the queue sees the signal's category,
not the first reviewer's. A reviewer whose decision showed them the earlier ones (the case file
is blind until one decides) and who takes it back decides that case no more. Every decision is
a row in ``decisions`` and an audit event; an undo marks the decision undone and puts the case
back, it deletes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, exists, or_, select, union, update

from redline.model import (
    Bank,
    BankEntry,
    Case,
    Decision,
    Designation,
    Item,
    ItemMedia,
    Match,
    Signal,
    User,
)
from redline.review import designations, feedback
from redline.review.accounts import Reviewer
from redline.review.errors import Conflict, Forbidden, Invalid, NotFound, ReviewError
from redline.review.protection import require_no_break
from redline.review.queue import case_status, held_by_other
from redline.review.rules import FINAL_STATUSES, OPEN_STATUSES, CaseStatus
from redline.review.taxonomy import (
    CATEGORIES,
    ESCALATE,
    NOT_VIOLATING,
    REASONS,
    SECOND_REVIEW,
    VERDICTS,
    VIOLATING,
)
from redline.signals.textnorm import NEAR_IDENTICAL
from redline.store import outbox
from redline.store.audit import record_event

UNDO_WINDOW: Final = timedelta(seconds=30)
MAX_NOTE: Final = 4000
MAX_CLUSTER: Final = 500


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a reviewer decided, before it is applied to a case."""

    verdict: str
    category: str | None = None
    reason: str | None = None
    note: str | None = None
    # The designated organisation or movement (a name on the leads' list, or "none").
    designation: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise Invalid(f"unknown verdict {self.verdict!r} (verdicts: {', '.join(VERDICTS)})")
        if self.verdict == VIOLATING and self.category not in CATEGORIES:
            raise Invalid(
                f"a violating decision needs a category (one of: {', '.join(CATEGORIES)})"
            )
        if self.verdict == NOT_VIOLATING and self.reason not in REASONS:
            raise Invalid(f"a not-violating decision needs a reason (one of: {', '.join(REASONS)})")
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise Invalid(f"note too long: at most {MAX_NOTE} characters")
        if self.verdict == ESCALATE and not (self.note or "").strip():
            raise Invalid("an escalation needs a note: tell the lead what to look at")
        if self.designation is not None and len(self.designation) > designations.MAX_NAME:
            raise Invalid(f"designation too long: at most {designations.MAX_NAME} characters")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a decision did to one case."""

    case_id: int
    decision_id: int
    status_before: str
    status_after: str


def _pending(connection: Connection, case_id: int) -> Any:
    """The latest decision still in force on a case (None when there is none)."""
    return connection.execute(
        select(Decision.id, Decision.user_id, Decision.verdict, Decision.category)
        .where(Decision.case_id == case_id, Decision.undone_at.is_(None))
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    ).first()


def standing_verdicts(connection: Connection, case_id: int) -> dict[int, set[str]]:
    """The final verdicts (violating, not violating) still in force on a case, by who gave them.

    Requests (escalate, second review) are not verdicts and undone decisions are taken back, so
    neither appears: the four-eyes rule counts people who said the same thing and stand by it.
    """
    rows = connection.execute(
        select(Decision.user_id, Decision.verdict).where(
            Decision.case_id == case_id,
            Decision.undone_at.is_(None),
            Decision.verdict.in_((VIOLATING, NOT_VIOLATING)),
        )
    )
    found: dict[int, set[str]] = {}
    for row in rows:
        found.setdefault(int(row.user_id), set()).add(row.verdict)
    return found


def saw_earlier(reviewer: Reviewer, decided: Sequence[Any]) -> bool:
    """Whether ``reviewer`` took back a decision of theirs that came after someone else's on the
    case (``decided``: its decisions, with ``id``, ``user_id`` and ``undone_at``). Their decision
    showed them the earlier ones (the case file is blind only until one decides), so deciding
    again would be deciding with sight of them: another reviewer decides, unless they may read
    the history anyway (``case.history``)."""
    if reviewer.can("case.history"):
        return False
    others = [d.id for d in decided if d.user_id != reviewer.id]
    return any(
        d.user_id == reviewer.id and d.undone_at is not None and others and min(others) < d.id
        for d in decided
    )


def confirmed_bank_match(connection: Connection, case_id: int) -> bool:
    """Whether the case's item (its text or a media file) matches an enabled entry of an enabled
    bank of confirmed content: what a "not violating" would overturn."""
    item = select(Case.item_id).where(Case.id == case_id).scalar_subquery()
    media = select(ItemMedia.media_sha256).where(ItemMedia.item_id == item)
    text = select(Item.text_sha256).where(Item.id == item).scalar_subquery()
    matched = (
        select(Match.id)
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(Bank.confirmed.is_(True), Bank.enabled.is_(True), BankEntry.enabled.is_(True))
        .where(Match.vetoed_by.is_(None))
        .where(or_(Match.media_sha256.in_(media), Match.text_sha256 == text))
    )
    return connection.scalar(select(exists(matched))) is True


def _next_status(
    connection: Connection,
    reviewer: Reviewer,
    case_id: int,
    status: str,
    verdict: Verdict,
    four_eyes: bool,
) -> str:
    """Where a verdict takes a case. The invariants: under four-eyes a case becomes final
    "violating" only when two distinct people's standing verdicts on it are "violating", and a
    case matching a confirmed bank becomes final "not violating" only when two distinct
    people's standing verdicts on it are "not violating"."""
    if status == CaseStatus.ESCALATED and not reviewer.can("case.escalated"):
        raise Forbidden(f"case {case_id} is escalated: a lead decides it")
    if verdict.verdict == ESCALATE:
        return CaseStatus.ESCALATED
    if verdict.verdict == SECOND_REVIEW:
        return SECOND_REVIEW
    standing = standing_verdicts(connection, case_id)
    if status == SECOND_REVIEW and standing.get(reviewer.id):
        raise Forbidden(f"four-eyes rule: case {case_id} needs a reviewer other than the first one")
    others = {v for user, given in standing.items() if user != reviewer.id for v in given}
    if verdict.verdict in others:
        return verdict.verdict  # two people agree
    opposite = NOT_VIOLATING if verdict.verdict == VIOLATING else VIOLATING
    if opposite in others and status != CaseStatus.ESCALATED:
        return CaseStatus.ESCALATED  # two people disagree: a lead decides
    if four_eyes and (
        verdict.verdict == VIOLATING
        or (verdict.verdict == NOT_VIOLATING and confirmed_bank_match(connection, case_id))
    ):
        # Nobody else stands by this verdict (a lead's on an escalated case included), and it
        # removes content or overturns a confirmed bank: a second person must agree first.
        return SECOND_REVIEW
    return verdict.verdict


def decide(
    connection: Connection,
    reviewer: Reviewer,
    case_id: int,
    verdict: Verdict,
    now: datetime,
    *,
    four_eyes: bool = True,
    applied_from: int | None = None,
) -> Outcome:
    """Record ``reviewer``'s verdict on a case and move the case on; audited.

    Refused with NotFound (no such case), Conflict (decided already, or claimed by another
    reviewer) or Forbidden (role, or the four-eyes rule).
    """
    reviewer.require("case.decide")
    row = case_status(connection, case_id)
    if row.status in FINAL_STATUSES:
        raise Conflict(f"case {case_id} is decided already ({row.status})")
    if held_by_other(row.assignee_id, row.claimed_at, reviewer, now):
        raise Conflict(f"case {case_id} is claimed by another reviewer")
    if applied_from is None and row.assignee_id != reviewer.id:
        # Deciding an unclaimed case is taking it: the enforced break stops that too, while
        # the case a reviewer holds can still be finished.
        require_no_break(connection, reviewer, now)
    decided = connection.execute(
        select(Decision.id, Decision.user_id, Decision.undone_at).where(Decision.case_id == case_id)
    ).all()
    if saw_earlier(reviewer, decided):
        raise Forbidden(
            f"blind review: case {case_id} showed you the earlier decisions when you decided it, "
            "and you took yours back; another reviewer decides it"
        )
    try:
        designation_id = (
            designations.resolve(connection, verdict.designation) if verdict.designation else None
        )
    except Invalid as error:
        raise Invalid(f"case {case_id}: {error}") from None
    # ``resolve`` found the entry by this very name (None: none named, or none identified).
    designation = verdict.designation if designation_id is not None else None
    if (
        verdict.verdict == VIOLATING
        and verdict.designation is None
        and designations.required(connection)
    ):
        raise Invalid(
            f"case {case_id}: a violating decision names the designated organisation or "
            f"movement from the list, or {designations.NONE_IDENTIFIED!r} when none is identified"
        )
    status_after = _next_status(connection, reviewer, case_id, row.status, verdict, four_eyes)
    category_before = connection.scalar(select(Case.category).where(Case.id == case_id))
    decision_id = connection.execute(
        Decision.__table__.insert().returning(Decision.id),
        {
            "case_id": case_id,
            "user_id": reviewer.id,
            "verdict": verdict.verdict,
            "category": verdict.category,
            "reason": verdict.reason,
            "note": verdict.note,
            "designation_id": designation_id,
            "applied_from": applied_from,
            "status_before": row.status,
            "status_after": status_after,
            "category_before": category_before,
            "created_at": now,
        },
    ).scalar_one()
    final = status_after in FINAL_STATUSES
    changes: dict[str, Any] = {
        "status": status_after,
        "updated_at": now,
        "assignee_id": None,
        "claimed_at": None,
        "decided_at": now if final else None,
    }
    if verdict.category and final:
        # Only a final verdict names the case's category: before, the queue and the case file
        # would show a second reviewer the first one's choice.
        changes["category"] = verdict.category
    # Conditional on the status read above, so two decisions racing on one case cannot both land.
    moved = connection.execute(
        update(Case).where(Case.id == case_id, Case.status == row.status).values(**changes)
    ).rowcount
    if not moved:
        raise Conflict(f"case {case_id} changed while deciding; reload it")
    if final:
        people = [
            user
            for user, given in standing_verdicts(connection, case_id).items()
            if status_after in given
        ]
        feedback.record_feedback(
            connection, case_id, int(decision_id), status_after, people, reviewer.actor, now
        )
    # The note stays inside: it is the reviewers' own words to each other.
    outbox.emit(
        connection,
        "decision.made",
        connection.execute(select(Case.item_id).where(Case.id == case_id)).scalar_one(),
        {
            "case_id": case_id,
            "decision_id": int(decision_id),
            "verdict": verdict.verdict,
            "category": verdict.category,
            "reason": verdict.reason,
            "designation": designation,
            "status_before": row.status,
            "status_after": status_after,
            "final": final,
        },
        now,
    )
    record_event(
        connection,
        reviewer.actor,
        "case.decide",
        "case",
        str(case_id),
        before={"status": row.status},
        after={
            "status": status_after,
            "verdict": verdict.verdict,
            "category": verdict.category,
            "reason": verdict.reason,
            "designation": designation,
        },
        detail={"decision": int(decision_id), "note": verdict.note, "applied_from": applied_from},
    )
    return Outcome(case_id, int(decision_id), row.status, status_after)


def undo_refusal(decision: Any, reviewer: Reviewer, now: datetime) -> ReviewError | None:
    """Why ``reviewer`` may not undo this decision row (None: they may, as far as the row goes;
    ``undo`` also checks that no later decision stands and the item was not acted on). The case
    page offers the undo button by the same rule."""
    if decision.user_id != reviewer.id:
        return Forbidden("only the reviewer who made a decision can undo it")
    if decision.undone_at is not None:
        return Conflict(f"decision {decision.id} is undone already")
    if now - decision.created_at > UNDO_WINDOW:
        return Conflict(f"too late to undo: decisions can be undone for {UNDO_WINDOW.seconds} s")
    return None


@dataclass(frozen=True, slots=True)
class UndoOffer:
    """The undo a reviewer is offered on the page after their decision (the next case, or the
    queue when it is empty)."""

    decision_id: int
    case_id: int
    verdict: str
    status_after: str
    seconds_left: int


def undo_offer(
    connection: Connection, reviewer: Reviewer, decision_id: int, now: datetime
) -> UndoOffer | None:
    """The undo of ``decision_id`` while ``undo`` would take it back by the decision's own rules
    (``undo_refusal``) and no later decision stands on its case; None otherwise, so the page
    after a decision offers only an undo that works."""
    row = connection.execute(select(Decision.__table__).where(Decision.id == decision_id)).first()
    if row is None or undo_refusal(row, reviewer, now) is not None:
        return None
    latest = _pending(connection, row.case_id)
    if latest is None or latest.id != decision_id:
        return None
    left = UNDO_WINDOW - (now - row.created_at)
    return UndoOffer(
        int(row.id), int(row.case_id), row.verdict, row.status_after, max(0, int(left.seconds))
    )


def undo(connection: Connection, reviewer: Reviewer, decision_id: int, now: datetime) -> Outcome:
    """Take back one's own latest decision on a case within ``UNDO_WINDOW``; audited."""
    row = connection.execute(select(Decision.__table__).where(Decision.id == decision_id)).first()
    if row is None:
        raise NotFound(f"no decision {decision_id}")
    refusal = undo_refusal(row, reviewer, now)
    if refusal is not None:
        raise refusal
    latest = _pending(connection, row.case_id)
    if latest is None or latest.id != decision_id:
        raise Conflict("a later decision on this case stands; it cannot be undone from here")
    visibility = connection.scalar(
        select(Item.visibility).join(Case, Case.item_id == Item.id).where(Case.id == row.case_id)
    )
    if visibility != "visible":
        # The take-down acted on this decision; taking the decision back would leave an item
        # removed on no final verdict. A complaint is the way back.
        raise Conflict(
            f"case {row.case_id} was acted on (its item is {visibility}): the decision stands"
        )
    decided = connection.execute(
        select(Decision.id, Decision.user_id, Decision.undone_at).where(
            Decision.case_id == row.case_id
        )
    ).all()
    # Undone, it is theirs again to decide, unless it showed them earlier decisions: then
    # someone else decides, and the case goes back to the queue.
    showed = any(d.user_id != reviewer.id and d.id < decision_id for d in decided)
    keeps = reviewer.can("case.history") or not (showed or saw_earlier(reviewer, decided))
    back: dict[str, Any] = {
        "status": row.status_before,
        "decided_at": None,
        "updated_at": now,
        "assignee_id": reviewer.id if keeps else None,
        "claimed_at": now if keeps else None,
    }
    if row.status_after in FINAL_STATUSES and row.category:
        back["category"] = row.category_before  # the final verdict named it; name it no more
    moved = connection.execute(
        update(Case).where(Case.id == row.case_id, Case.status == row.status_after).values(**back)
    ).rowcount
    if not moved:
        raise Conflict(f"case {row.case_id} changed since; it cannot be undone from here")
    connection.execute(update(Decision).where(Decision.id == decision_id).values(undone_at=now))
    if row.status_after in FINAL_STATUSES:
        feedback.withdraw_feedback(connection, decision_id, reviewer.actor, now)
    record_event(
        connection,
        reviewer.actor,
        "case.undo",
        "case",
        str(row.case_id),
        before={"status": row.status_after},
        after={"status": row.status_before},
        detail={"decision": decision_id},
    )
    return Outcome(row.case_id, decision_id, row.status_after, row.status_before)


def cluster(connection: Connection, case_id: int) -> list[int]:
    """Other undecided cases whose items carry the same text or the same media file."""
    item = connection.execute(
        select(Item.id, Item.text_sha256)
        .join(Case, Case.item_id == Item.id)
        .where(Case.id == case_id)
    ).first()
    if item is None:
        raise NotFound(f"no case {case_id}")
    media = select(ItemMedia.media_sha256).where(ItemMedia.item_id == item.id)
    same = [select(ItemMedia.item_id.label("item_id")).where(ItemMedia.media_sha256.in_(media))]
    if item.text_sha256 is not None:
        same.append(select(Item.id.label("item_id")).where(Item.text_sha256 == item.text_sha256))
        # Near-identical texts (an HTML entity or spacing apart) are re-posts of the same text.
        twins = select(Signal.text_sha256).where(
            Signal.signal_type == NEAR_IDENTICAL,
            Signal.value.in_(
                select(Signal.value).where(
                    Signal.text_sha256 == item.text_sha256, Signal.signal_type == NEAR_IDENTICAL
                )
            ),
        )
        same.append(select(Item.id.label("item_id")).where(Item.text_sha256.in_(twins)))
    # A join, not IN (...): with IN, SQLite walks every open case by status instead of looking
    # each clustered item up by its unique index (100 ms against 1 ms at 100,000 cases).
    items = union(*same).subquery()
    rows = connection.execute(
        select(Case.id)
        .join(items, Case.item_id == items.c.item_id)
        .where(Case.id != case_id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id)
        .limit(MAX_CLUSTER)
    )
    return [int(r.id) for r in rows]


def decide_cluster(
    connection: Connection,
    reviewer: Reviewer,
    case_id: int,
    verdict: Verdict,
    now: datetime,
    *,
    four_eyes: bool = True,
) -> list[Outcome]:
    """One verdict on a case and its near-duplicate cluster. Cases another reviewer holds, or
    that need someone else (four-eyes, escalation), are left alone and not counted."""
    outcomes = [decide(connection, reviewer, case_id, verdict, now, four_eyes=four_eyes)]
    for other in cluster(connection, case_id):
        try:
            with connection.begin_nested():
                outcomes.append(
                    decide(
                        connection,
                        reviewer,
                        other,
                        verdict,
                        now,
                        four_eyes=four_eyes,
                        applied_from=case_id,
                    )
                )
        except (Conflict, Forbidden):
            continue
    return outcomes


@dataclass(frozen=True, slots=True)
class CaseDecision:
    """One decision on a case, with who made it."""

    id: int
    case_id: int
    user_id: int
    verdict: str
    category: str | None
    reason: str | None
    note: str | None
    designation: str | None
    applied_from: int | None
    status_before: str
    status_after: str
    created_at: datetime
    undone_at: datetime | None
    username: str


def history(connection: Connection, case_id: int) -> list[CaseDecision]:
    """Every decision on a case, oldest first, with who made it."""
    rows = connection.execute(
        select(
            Decision.id,
            Decision.case_id,
            Decision.user_id,
            Decision.verdict,
            Decision.category,
            Decision.reason,
            Decision.note,
            Designation.name.label("designation"),
            Decision.applied_from,
            Decision.status_before,
            Decision.status_after,
            Decision.created_at,
            Decision.undone_at,
            User.username,
        )
        .join(User, User.id == Decision.user_id)
        .outerjoin(Designation, Designation.id == Decision.designation_id)
        .where(Decision.case_id == case_id)
        .order_by(Decision.created_at, Decision.id)
    )
    return [CaseDecision(**r._mapping) for r in rows]
