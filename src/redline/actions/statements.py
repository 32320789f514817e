"""Statements of reasons for redline's own take-downs: from a preserved item to the DSA
Transparency Database's format (``redline.actions.sor``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from redline.actions import sor
from redline.errors import NotFound
from redline.model import Case, Decision, Item, Preservation, RemovalOrder
from redline.review.rules import CaseStatus


def statement_for(connection: Connection, item_id: int) -> sor.StatementOfReasons:
    """The statement of reasons for the take-down of ``item_id`` (validated: InvalidStatement
    lists every problem). The decision's facts come from the reviewer's decision; the legal
    ground from the removal order when there was one."""
    kept = connection.execute(
        select(Preservation.__table__).where(Preservation.item_id == item_id)
    ).first()
    if kept is None:
        raise NotFound(f"item {item_id} was not taken down")
    manifest: dict[str, Any] = kept.manifest
    case = connection.execute(
        select(Case.id, Case.signal, Case.category).where(Case.item_id == item_id)
    ).first()
    decision = None
    if case is not None:
        decision = connection.execute(
            select(Decision.category, Decision.note)
            .where(Decision.case_id == case.id, Decision.undone_at.is_(None))
            .where(Decision.status_after == CaseStatus.VIOLATING)
            .order_by(Decision.created_at.desc())
            .limit(1)
        ).first()
    order = None
    if kept.order_id is not None:
        order = connection.execute(
            select(RemovalOrder.authority, RemovalOrder.reference, RemovalOrder.legal_basis).where(
                RemovalOrder.id == kept.order_id
            )
        ).first()
    kinds = {m["kind"] for m in manifest["media"]}
    content_type = [
        t
        for k, t in (("image", "CONTENT_TYPE_IMAGE"), ("video", "CONTENT_TYPE_VIDEO"))
        if k in kinds
    ] or ["CONTENT_TYPE_TEXT"]
    if manifest["text_sha256"] and "CONTENT_TYPE_TEXT" not in content_type:
        content_type.append("CONTENT_TYPE_TEXT")
    category = (decision.category if decision else None) or (case.category if case else None)
    facts = (
        f"Content assessed by a human reviewer as terrorist content"
        f" ({(category or 'unspecified').replace('_', ' ')})."
        + (f" {decision.note}" if decision and decision.note else "")
    )
    posted = manifest["posted_at"] or kept.removed_at.isoformat()
    puid = re.sub(r"[^A-Za-z0-9_-]", "-", f"{manifest['source']}-{manifest['record']}")[:500]
    return sor.terrorist_content_statement(
        puid=puid,
        content_type=content_type,
        content_date=_date(posted),
        application_date=kept.removed_at.date(),
        decision_facts=facts,
        legal_ground=order.legal_basis if order else "Regulation (EU) 2021/784, Article 5",
        explanation=(
            f"Removal order {order.reference} of {order.authority}."
            if order
            else "Removed on the service's own initiative as terrorist content."
        ),
        # A labelling sample was picked by the classifier's scores (or at random among them):
        # automated means brought it to a reviewer too.
        automated_detection=bool(
            case is not None and case.signal in ("bank", "classifier", "sample")
        ),
        source_type="SOURCE_TYPE_OTHER_NOTIFICATION" if order else sor.vocabulary.VOLUNTARY,
        source_identity=order.authority if order else None,
        decision_visibility=(
            "DECISION_VISIBILITY_CONTENT_DISABLED"
            if _visibility(connection, item_id) == "disabled"
            else "DECISION_VISIBILITY_CONTENT_REMOVED"
        ),
    )


def _visibility(connection: Connection, item_id: int) -> str:
    return str(connection.scalar(select(Item.visibility).where(Item.id == item_id)))


def _date(text: str) -> date:
    return datetime.fromisoformat(text).date()


def statements_between(
    connection: Connection, start: datetime, end: datetime
) -> tuple[list[sor.StatementOfReasons], list[tuple[int, str]]]:
    """The statements of every take-down in [start, end), and the items whose statement is not
    valid yet, with every problem named (fix the data, then export again)."""
    made: list[sor.StatementOfReasons] = []
    problems: list[tuple[int, str]] = []
    for (item_id,) in connection.execute(
        select(Preservation.item_id)
        .where(Preservation.removed_at >= start, Preservation.removed_at < end)
        .order_by(Preservation.removed_at, Preservation.item_id)
    ):
        try:
            made.append(statement_for(connection, int(item_id)))
        except sor.InvalidStatement as error:
            problems.append((int(item_id), str(error)))
    return made, problems
