"""Own-initiative take-down: a hosting service removing, on its own platform, content its
reviewers confirmed as terrorist content (Regulation 2021/784, Article 5), without an order.

Only a final human decision allows it: a case whose decision in force is "violating" (with the
four-eyes rule on, the second reviewer's agreement made it so). The item then goes out of view
and into preservation through ``preservation.take_down``, as for a removal order; the case's
own audit record says which case and which decision the take-down rests on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from redline.actions.preservation import take_down
from redline.errors import Conflict, Invalid, NotFound
from redline.model import Case, Complaint, Decision, Item
from redline.review.taxonomy import VIOLATING
from redline.store.audit import record_event

# What a console form offers and what statements of reasons name for an own-initiative removal.
OWN_INITIATIVE_BASIS: Final = (
    "Regulation (EU) 2021/784, Article 5, and the service's terms and conditions"
)
MAX_BASIS: Final = 2000


def take_down_case(
    connection: Connection,
    actor: str,
    case_id: int,
    visibility: str,
    now: datetime,
    legal_basis: str,
) -> int:
    """Remove or disable the item of a case confirmed as violating; the preservation id.

    NotFound for no such case; Invalid for an unknown ``visibility`` or a missing legal basis;
    Conflict, with nothing changed, when the case is not (or no longer) confirmed, when a
    complaint against its decision was upheld, or when the item is out of view already.
    """
    if visibility not in ("removed", "disabled"):
        raise Invalid(f"unknown take-down {visibility!r} (removed, disabled)")
    basis = legal_basis.strip()
    if not basis or len(basis) > MAX_BASIS:
        raise Invalid(f"a take-down needs its legal basis (at most {MAX_BASIS} characters)")
    case = connection.execute(
        select(Case.id, Case.item_id, Case.status, Case.category).where(Case.id == case_id)
    ).first()
    if case is None:
        raise NotFound(f"no case {case_id}")
    decision = _confirming_decision(connection, case_id)
    if case.status != VIOLATING or decision is None:
        raise Conflict(
            f"case {case_id} is not confirmed as violating ({case.status.replace('_', ' ')}): "
            "only a final violating decision allows a take-down"
        )
    _refuse_after_upheld_complaint(connection, case_id)
    before = connection.scalar(select(Item.visibility).where(Item.id == case.item_id))
    if before != "visible":
        raise Conflict(f"the item of case {case_id} is {before} already")
    kept = take_down(connection, actor, case.item_id, visibility, now, legal_basis=basis)
    record_event(
        connection,
        actor,
        "case.take_down",
        "case",
        str(case_id),
        before={"visibility": before},
        after={"visibility": visibility},
        detail={
            "item": case.item_id,
            "decision": decision,
            "legal_basis": basis,
            "category": case.category,
            "preservation": kept,
            "at": now.isoformat(),
        },
    )
    return kept


def _confirming_decision(connection: Connection, case_id: int) -> int | None:
    """The id of the decision in force on a case when it made the case violating; None when the
    latest decision in force is anything else (undone, escalated, second review, ...)."""
    latest = connection.execute(
        select(Decision.id, Decision.status_after)
        .where(Decision.case_id == case_id, Decision.undone_at.is_(None))
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    ).first()
    return int(latest.id) if latest is not None and latest.status_after == VIOLATING else None


def _refuse_after_upheld_complaint(connection: Connection, case_id: int) -> None:
    """An upheld complaint reversed the decision and put the content back: taking it down again
    on the same decision would ignore the complaint, so a new decision is needed first."""
    upheld = connection.scalar(
        select(Complaint.id)
        .join(Decision, Decision.id == Complaint.decision_id)
        .where(Decision.case_id == case_id, Complaint.status == "upheld")
        .limit(1)
    )
    if upheld is not None:
        raise Conflict(
            f"complaint {upheld} against the decision on case {case_id} was upheld: "
            "the content was reinstated and stays up"
        )
