"""One case's story in time order: opened, decided (and taken back), media revealed, taken down
or reinstated, referred, banked, the content provider noticed, complained about, ordered removed.

Read from the rows each step writes (decisions, referrals, notices, complaints, removal order
URLs, bank entries with the case in their provenance) and from the audit trail for the acts that
leave no row of their own (reveals, take-downs, reinstatements). Nothing is stored twice.

Blind review holds here as in the case file: a reader to whom other people's decisions are
withheld (``casefile.blind_to_earlier``) sees only the case's opening and their own acts; every
other event is counted in ``withheld``, never shown, since a reveal, a take-down or a referral
by someone else says as much as a verdict would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from redline.errors import NotFound
from redline.model import (
    AuditEvent,
    Bank,
    BankEntry,
    Case,
    Complaint,
    ItemMedia,
    Notice,
    Referral,
    RemovalOrder,
    RemovalOrderUrl,
)
from redline.review.accounts import Reviewer
from redline.review.casefile import blind_to_earlier
from redline.review.decisions import history, saw_earlier

# Audit actions on the item that are steps of the case's story.
ITEM_ACTIONS: Final = {
    "item.removed": "take-down",
    "item.disabled": "take-down",
    "item.reinstate": "reinstatement",
}


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One step of a case's story."""

    at: datetime
    kind: str  # opened, decision, undo, reveal, take-down, reinstatement, referral, bank, ...
    actor: str | None  # as the audit trail names people and processes ("user:rev1")
    summary: str


@dataclass(frozen=True, slots=True)
class CaseTimeline:
    """The events ``reader`` may see, oldest first, and how many they may not see yet."""

    events: list[TimelineEvent]
    withheld: int


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def case_timeline(connection: Connection, reader: Reviewer, case_id: int) -> CaseTimeline:
    """Everything that happened to case ``case_id``, in time order, as ``reader`` may see it;
    NotFound when there is no such case."""
    reader.require("case.view")
    case = connection.execute(
        select(Case.id, Case.item_id, Case.status, Case.opened_at, Case.reason).where(
            Case.id == case_id
        )
    ).first()
    if case is None:
        raise NotFound(f"no case {case_id}")
    decided = history(connection, case_id)
    blind = not saw_earlier(reader, decided) and blind_to_earlier(
        reader, case.status, {d.user_id for d in decided if d.undone_at is None}
    )
    events = [TimelineEvent(case.opened_at, "opened", None, f"case opened: {case.reason}")]
    for d in decided:
        actor = f"user:{d.username}"
        said = _words(d.verdict) + (
            f" ({_words(d.category or d.reason)})" if d.category or d.reason else ""
        )
        named = f", {d.designation}" if d.designation else ""
        via = f", applied from case #{d.applied_from}" if d.applied_from else ""
        events.append(
            TimelineEvent(
                d.created_at,
                "decision",
                actor,
                f"{d.username}: {said}{named} → {_words(d.status_after)}{via}",
            )
        )
        if d.undone_at is not None:
            events.append(
                TimelineEvent(d.undone_at, "undo", actor, f"{d.username} took the decision back")
            )
    events += _audited(connection, case_id, case.item_id)
    events += _referrals(connection, case_id)
    events += _banked(connection, case_id)
    events += _notices_complaints_orders(connection, case.item_id)
    events.sort(key=lambda e: (e.at, e.kind != "opened"))
    if not blind:
        return CaseTimeline(events, 0)
    shown = [e for e in events if e.kind == "opened" or e.actor == reader.actor]
    return CaseTimeline(shown, len(events) - len(shown))


def _audited(connection: Connection, case_id: int, item_id: int) -> list[TimelineEvent]:
    """Reveals of the case's media, and take-downs and reinstatements of its item."""
    media = list(
        connection.scalars(select(ItemMedia.media_sha256).where(ItemMedia.item_id == item_id))
    )
    found: list[TimelineEvent] = []
    if media:
        for row in connection.execute(
            select(AuditEvent.at, AuditEvent.actor, AuditEvent.subject_id, AuditEvent.detail)
            .where(AuditEvent.subject_type == "media", AuditEvent.subject_id.in_(media))
            .where(AuditEvent.action == "media.reveal")
        ):
            # A file shared by several items is revealed on one case at a time: this case's.
            if (row.detail or {}).get("case") == case_id:
                found.append(
                    TimelineEvent(
                        row.at,
                        "reveal",
                        row.actor,
                        f"{row.actor} revealed media {str(row.subject_id)[:12]}",
                    )
                )
    for row in connection.execute(
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.subject_type == "item", AuditEvent.subject_id == str(item_id))
        .where(AuditEvent.action.in_(ITEM_ACTIONS))
    ):
        detail = row.detail or {}
        if row.action == "item.reinstate":
            summary = f"item reinstated: {detail.get('reason') or 'no reason given'}"
        else:
            order = f", removal order {detail['order']}" if detail.get("order") else ""
            basis = detail.get("legal_basis") or "no legal basis recorded"
            summary = f"item {row.action.removeprefix('item.')} ({basis}{order})"
        found.append(TimelineEvent(row.at, ITEM_ACTIONS[row.action], row.actor, summary))
    return found


def _referrals(connection: Connection, case_id: int) -> list[TimelineEvent]:
    found: list[TimelineEvent] = []
    for r in connection.execute(select(Referral.__table__).where(Referral.case_id == case_id)):
        found.append(
            TimelineEvent(r.created_at, "referral", r.created_by, f"referral of {r.url} drafted")
        )
        for at, what in (
            (r.sent_at, "sent to the hosting service"),
            (r.acknowledged_at, "acknowledged by the hosting service"),
            (r.removed_at, "removed by the hosting service"),
            (r.rejected_at, "rejected by the hosting service"),
        ):
            if at is not None:
                found.append(TimelineEvent(at, "referral", None, f"referral of {r.url} {what}"))
    return found


def _banked(connection: Connection, case_id: int) -> list[TimelineEvent]:
    """Bank entries made from the case (the console writes the case into their provenance)."""
    rows = connection.execute(
        select(BankEntry.id, BankEntry.added_at, BankEntry.added_by, Bank.name)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.provenance["case"].as_integer() == case_id)
        .order_by(BankEntry.id)
    )
    return [
        TimelineEvent(r.added_at, "bank", r.added_by, f"added to bank {r.name} (entry #{r.id})")
        for r in rows
    ]


def _notices_complaints_orders(connection: Connection, item_id: int) -> list[TimelineEvent]:
    found: list[TimelineEvent] = []
    for n in connection.execute(
        select(Notice.id, Notice.action, Notice.status, Notice.created_at, Notice.sent_at).where(
            Notice.item_id == item_id
        )
    ):
        found.append(
            TimelineEvent(
                n.created_at,
                "notice",
                None,
                f"notice #{n.id} to the content provider ({n.action}): {n.status}",
            )
        )
        if n.sent_at is not None:
            found.append(TimelineEvent(n.sent_at, "notice", None, f"notice #{n.id} sent"))
    for c in connection.execute(
        select(
            Complaint.id,
            Complaint.decision_id,
            Complaint.received_at,
            Complaint.status,
            Complaint.decided_by,
            Complaint.decided_at,
        ).where(Complaint.item_id == item_id)
    ):
        found.append(
            TimelineEvent(
                c.received_at,
                "complaint",
                None,
                f"complaint #{c.id} about decision #{c.decision_id} received",
            )
        )
        if c.decided_at is not None:
            found.append(
                TimelineEvent(
                    c.decided_at, "complaint", c.decided_by, f"complaint #{c.id} {c.status}"
                )
            )
    for o in connection.execute(
        select(
            RemovalOrder.id,
            RemovalOrder.reference,
            RemovalOrder.authority,
            RemovalOrder.received_at,
            RemovalOrderUrl.url,
            RemovalOrderUrl.action,
            RemovalOrderUrl.acted_at,
            RemovalOrderUrl.not_executed_reason,
        )
        .join(RemovalOrderUrl, RemovalOrderUrl.order_id == RemovalOrder.id)
        .where(RemovalOrderUrl.item_id == item_id)
    ):
        found.append(
            TimelineEvent(
                o.received_at,
                "removal order",
                None,
                f"removal order {o.reference} of {o.authority} received for {o.url}",
            )
        )
        if o.acted_at is not None:
            done = o.action or f"not executed: {o.not_executed_reason}"
            found.append(
                TimelineEvent(
                    o.acted_at, "removal order", None, f"removal order {o.reference}: {done}"
                )
            )
    return found
