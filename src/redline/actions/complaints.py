"""Complaints against decisions (Regulation 2021/784, Article 10; DSA Article 20).

Anyone whose content was acted on can complain; each complaint is decided by a person within
two weeks of receipt (the timer is computed in UTC and the scheduler warns before it runs out).
An upheld complaint reinstates the content and is recorded; a rejected one keeps its reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final, TypedDict

from sqlalchemy import Connection, select, update

from redline.actions.preservation import reinstate
from redline.model import Case, Complaint, Decision, Item
from redline.review.errors import Conflict, Invalid, NotFound, ReviewError
from redline.review.rules import FINAL_STATUSES
from redline.store import outbox, rates
from redline.store.audit import record_event

DECIDE_WITHIN: Final = timedelta(days=14)
WARN_BEFORE: Final = timedelta(days=2)
MAX_TEXT: Final = 10_000
# The public form's limit: complaints filed or refused per client network and hour. Far above
# what the people whose posts were taken down need, far below a flood or a scan of numbers.
MAX_PER_NETWORK: Final = 20
NETWORK_WINDOW: Final = timedelta(hours=1)


class TooManyComplaints(ReviewError):
    """The public form's limit for this client network is reached; try again later."""

    status = 429


def client_network(address: str) -> str:
    """The network a public client's address is in (IPv4 /24, IPv6 /48): enough to slow a flood
    or a scan of decision numbers, without keeping a member of the public's own address."""
    return rates.network_of(address, ipv6_prefix=48)


def _public_actor(network: str) -> str:
    return f"complainant:{network}"


def admit_public_complaint(connection: Connection, network: str, now: datetime) -> None:
    """Count one public complaint (filed or refused) against its network's limit of
    ``MAX_PER_NETWORK`` per ``NETWORK_WINDOW``; TooManyComplaints past it. Call it in a
    transaction of its own, committed before filing: a refused complaint is rolled back, its
    count must stay, and counting in one statement lets exactly the limit through however many
    arrive at once."""
    if rates.hit(connection, f"complaint.network:{network}", NETWORK_WINDOW, now) > MAX_PER_NETWORK:
        raise TooManyComplaints(
            "too many complaints from your network: please try again in an hour"
        )


def file_public_complaint(
    connection: Connection,
    network: str,
    decision_id: int,
    text: str,
    now: datetime,
    contact: str | None = None,
) -> int:
    """``file_complaint`` for the public form, audited under the network (never the address);
    ``admit_public_complaint`` first."""
    return file_complaint(connection, decision_id, text, now, contact, _public_actor(network))


def record_refused(connection: Connection, network: str, decision_id: int) -> None:
    """Audit a public complaint refused for an unknown or not-final decision (in a transaction of
    its own, as the refused one is rolled back)."""
    record_event(
        connection, _public_actor(network), "complaint.refused", "decision", str(decision_id)
    )


def file_complaint(
    connection: Connection,
    decision_id: int,
    text: str,
    received_at: datetime,
    contact: str | None = None,
    actor: str = "complainant",
) -> int:
    """Register a complaint about a final decision; its id. NotFound for an unknown or undone
    decision, Invalid for an empty or oversized text."""
    if not text.strip() or len(text) > MAX_TEXT:
        raise Invalid(f"the complaint needs a text of at most {MAX_TEXT} characters")
    if contact is not None and len(contact) > 500:
        raise Invalid("contact: at most 500 characters")
    decision = connection.execute(
        select(Decision.id, Decision.status_after, Decision.undone_at, Case.item_id)
        .join(Case, Case.id == Decision.case_id)
        .where(Decision.id == decision_id)
    ).first()
    if decision is None or decision.undone_at is not None:
        raise NotFound(f"no decision {decision_id}")
    if decision.status_after not in FINAL_STATUSES:
        raise Invalid(
            f"decision {decision_id} is not final: there is nothing to complain about yet"
        )
    complaint_id = connection.execute(
        Complaint.__table__.insert().returning(Complaint.id),
        {
            "decision_id": decision_id,
            "item_id": decision.item_id,
            "text": text.strip(),
            "contact": contact,
            "received_at": received_at,
            "due_at": received_at + DECIDE_WITHIN,
            "status": "open",
        },
    ).scalar_one()
    record_event(
        connection,
        actor,
        "complaint.file",
        "complaint",
        str(complaint_id),
        after={"decision": decision_id, "due_at": (received_at + DECIDE_WITHIN).isoformat()},
    )
    return int(complaint_id)


class ComplaintRow(TypedDict):
    """A complaint against a decision, and how it was decided (None until then)."""

    id: int
    decision_id: int
    item_id: int
    text: str
    contact: str | None
    received_at: datetime
    due_at: datetime
    status: str  # open | upheld | rejected
    outcome_reason: str | None
    decided_by: str | None
    decided_at: datetime | None


def get_complaint(connection: Connection, complaint_id: int) -> ComplaintRow:
    """One complaint; NotFound when there is none."""
    row = connection.execute(
        select(Complaint.__table__).where(Complaint.id == complaint_id)
    ).first()
    if row is None:
        raise NotFound(f"no complaint {complaint_id}")
    return _complaint(row)


def _complaint(row: Any) -> ComplaintRow:
    return ComplaintRow(
        id=row.id,
        decision_id=row.decision_id,
        item_id=row.item_id,
        text=row.text,
        contact=row.contact,
        received_at=row.received_at,
        due_at=row.due_at,
        status=row.status,
        outcome_reason=row.outcome_reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def decide_complaint(
    connection: Connection,
    actor: str,
    complaint_id: int,
    upheld: bool,
    reason: str,
    now: datetime,
) -> str:
    """Uphold (and reinstate the content) or reject a complaint, with the reason; the status.
    Everything in one transaction: a reinstatement that cannot happen decides nothing."""
    complaint = get_complaint(connection, complaint_id)
    if complaint["status"] != "open":
        raise Conflict(f"complaint {complaint_id} is decided already ({complaint['status']})")
    if not reason.strip():
        raise Invalid("a decision on a complaint needs its reason")
    status = "upheld" if upheld else "rejected"
    visibility = connection.scalar(select(Item.visibility).where(Item.id == complaint["item_id"]))
    if upheld and visibility != "visible":
        reinstate(connection, actor, complaint["item_id"], f"complaint {complaint_id}", now)
    connection.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id)
        .values(status=status, outcome_reason=reason.strip(), decided_by=actor, decided_at=now)
    )
    outbox.emit(
        connection,
        "complaint.decided",
        complaint["item_id"],
        {
            "complaint_id": complaint_id,
            "decision_id": complaint["decision_id"],
            "status": status,
            "reason": reason.strip(),
            "reinstated": upheld and visibility != "visible",
        },
        now,
    )
    record_event(
        connection,
        actor,
        f"complaint.{status}",
        "complaint",
        str(complaint_id),
        before={"status": "open"},
        after={"status": status, "reason": reason.strip()},
        detail={
            "within_deadline": now <= complaint["due_at"],
            "reinstated": upheld and visibility != "visible",
        },
    )
    return status


def due_complaints(connection: Connection, now: datetime) -> list[tuple[ComplaintRow, str]]:
    """Open complaints near (``due_soon``) or past (``overdue``) their two weeks."""
    rows = connection.execute(
        select(Complaint.__table__)
        .where(Complaint.status == "open", Complaint.due_at <= now + WARN_BEFORE)
        .order_by(Complaint.due_at)
    )
    return [(_complaint(r), "overdue" if r.due_at <= now else "due_soon") for r in rows]
