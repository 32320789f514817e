"""/api/v1 for actions: removal orders (with their countdown) and referrals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from redline.actions import complaints, orders, referrals
from redline.model.base import utcnow
from redline.review.accounts import Reviewer
from redline.review.casefile import jsonable
from redline.web import App
from redline.web.auth import api_user

router = APIRouter(tags=["actions"])
ActionsRead = Annotated[Reviewer, api_user("actions:read")]
ActionsWrite = Annotated[Reviewer, api_user("actions:write")]


class OrderIn(BaseModel):
    """A removal order as received (times in ISO 8601 with their UTC offset)."""

    authority: str = Field(max_length=300)
    reference: str = Field(max_length=200)
    issued_at: str = Field(max_length=40)
    received_at: str = Field(max_length=40)
    urls: list[str] = Field(max_length=1000)
    reasons: str = Field(max_length=20_000)
    legal_basis: str = Field("Regulation (EU) 2021/784, Article 3", max_length=2000)
    confidential_reason: str | None = Field(None, max_length=5000)
    authority_contact: str | None = Field(None, max_length=5000)
    content_type: str | None = Field(None, max_length=20, description="incitement, ...")
    redress: str | None = Field(None, max_length=5000)
    signed_by: str | None = Field(None, max_length=5000)


class OrderStep(BaseModel):
    """What was done about one URL of an order."""

    url: str = Field(max_length=4000)
    action: str | None = Field(None, description="removed or disabled")
    not_executed_reason: str | None = Field(None, max_length=5000)


class StatusIn(BaseModel):
    """A referral's next status."""

    status: str = Field(max_length=20)


@router.get("/orders", summary="Removal orders with the time left")
def list_orders(
    me: ActionsRead, app: App, open: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """Orders, nearest deadline first; ``seconds_left`` is the countdown now."""
    me.require("action.view")
    now = utcnow()
    with app.engine.connect() as connection:
        found = orders.list_orders(connection, open_only=open)
    return {"orders": [o.as_dict(now) for o in found]}


@router.post("/orders", status_code=201, summary="Register a removal order")
def register_order(me: ActionsWrite, app: App, body: OrderIn) -> dict[str, Any]:
    """422 for a bad field, a malformed URL or one not in the store; 409 for a known reference."""
    me.require("action.manage")
    new = orders.OrderIn(
        body.authority, body.reference, orders.parse_time(body.issued_at, "issued_at"),
        orders.parse_time(body.received_at, "received_at"), body.urls, body.reasons,
        body.legal_basis, body.confidential_reason is not None, body.confidential_reason,
        body.authority_contact, body.content_type, body.redress, body.signed_by,
    )  # fmt: skip
    now = utcnow()
    with app.engine.begin() as connection:
        order_id = orders.register_order(connection, me.actor, new, now)
        return orders.get_order(connection, order_id).as_dict(now)


@router.get("/orders/{order_id}", summary="One removal order")
def get_order(me: ActionsRead, app: App, order_id: int) -> dict[str, Any]:
    """The order, its URLs and what was done, with the countdown."""
    me.require("action.view")
    with app.engine.connect() as connection:
        return orders.get_order(connection, order_id).as_dict(utcnow())


@router.post("/orders/{order_id}/steps", summary="Record what was done about a URL")
def order_step(me: ActionsWrite, app: App, order_id: int, body: OrderStep) -> dict[str, Any]:
    """Either ``action`` (removed, disabled) or ``not_executed_reason``."""
    me.require("action.manage")
    now = utcnow()
    with app.engine.begin() as connection:
        if body.not_executed_reason:
            orders.not_executed(connection, me.actor, order_id, body.url,
                                body.not_executed_reason, now)  # fmt: skip
        else:
            orders.execute(connection, me.actor, order_id, body.url, body.action or "", now)
        return orders.get_order(connection, order_id).as_dict(now)


@router.get("/referrals", summary="Referrals")
def list_referrals(
    me: ActionsRead, app: App, status: Annotated[str | None, Query(max_length=20)] = None
) -> dict[str, Any]:
    """Referrals, newest first, with evidence and checks."""
    me.require("action.view")
    with app.engine.connect() as connection:
        found = referrals.list_referrals(connection, status)
    return {"referrals": [_jsonable(r) for r in found]}


@router.post("/cases/{case_id}/referrals", status_code=201, summary="Refer a confirmed case")
def create_referrals(me: ActionsWrite, app: App, case_id: int) -> dict[str, Any]:
    """A draft referral per URL of a case confirmed as violating."""
    me.require("action.manage")
    with app.engine.begin() as connection:
        made = referrals.create_referrals(connection, me.actor, case_id, utcnow())
    return {"referrals": made}


@router.post("/referrals/{referral_id}/status", summary="Move a referral on")
def referral_status(me: ActionsWrite, app: App, referral_id: int, body: StatusIn) -> dict[str, Any]:
    """sent, acknowledged, removed, rejected or no_response; 409 for a step back."""
    me.require("action.manage")
    with app.engine.begin() as connection:
        referrals.set_status(connection, me.actor, referral_id, body.status, utcnow())
        return _jsonable(referrals.get_referral(connection, referral_id))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = jsonable(data)
    return result


class ComplaintIn(BaseModel):
    """A complaint received by another channel (letter, e-mail), registered by the team."""

    decision_id: int
    text: str = Field(max_length=10_000)
    contact: str | None = Field(None, max_length=500)
    received_at: str | None = Field(None, max_length=40, description="default: now")


class ComplaintDecisionIn(BaseModel):
    """The decision on a complaint."""

    upheld: bool
    reason: str = Field(max_length=5000)


@router.get("/complaints", summary="Complaints, the nearest deadline first")
def list_complaints(me: ActionsRead, app: App) -> dict[str, Any]:
    """Open complaints due within two days or overdue, with their state."""
    me.require("action.view")
    with app.engine.connect() as connection:
        due = complaints.due_complaints(connection, utcnow())
    return {"due": [{**jsonable(c), "alert": kind} for c, kind in due]}


@router.post("/complaints", status_code=201, summary="Register a complaint")
def file_complaint(me: ActionsWrite, app: App, body: ComplaintIn) -> dict[str, Any]:
    """404 for an unknown decision; the two weeks run from ``received_at``."""
    me.require("action.manage")
    received = orders.parse_time(body.received_at, "received_at") if body.received_at else utcnow()
    with app.engine.begin() as connection:
        number = complaints.file_complaint(connection, body.decision_id, body.text, received,
                                           body.contact, actor=me.actor)  # fmt: skip
        return _jsonable(complaints.get_complaint(connection, number))


@router.post("/complaints/{complaint_id}/decision", summary="Decide on a complaint")
def decide_complaint(
    me: ActionsWrite, app: App, complaint_id: int, body: ComplaintDecisionIn
) -> dict[str, Any]:
    """Upheld reinstates the content; 409 if decided already."""
    me.require("action.manage")
    with app.engine.begin() as connection:
        complaints.decide_complaint(connection, me.actor, complaint_id, body.upheld,
                                    body.reason, utcnow())  # fmt: skip
        return _jsonable(complaints.get_complaint(connection, complaint_id))
