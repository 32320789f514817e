"""/api/v1 for actions: removal orders (with their countdown), referrals, complaints,
own-initiative take-downs of confirmed cases, and what is kept of removed content (holds)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from redline.actions import complaints, orders, preservation, preserved, referrals, takedown
from redline.jsontext import jsonable, jsonable_dict
from redline.model.base import utcnow
from redline.review.accounts import Reviewer
from redline.web import App, RowId
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
    confidential_until: str | None = Field(
        None, max_length=40, description="End of confidentiality (default: six weeks from issue)"
    )
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
        body.authority,
        body.reference,
        orders.parse_time(body.issued_at, "issued_at"),
        orders.parse_time(body.received_at, "received_at"),
        body.urls,
        body.reasons,
        body.legal_basis,
        body.confidential_reason is not None,
        body.confidential_reason,
        body.authority_contact,
        body.content_type,
        body.redress,
        body.signed_by,
        orders.parse_time(body.confidential_until, "confidential_until")
        if body.confidential_until
        else None,
    )
    now = utcnow()
    with app.engine.begin() as connection:
        order_id = orders.register_order(connection, me.actor, new, now)
        return orders.get_order(connection, order_id).as_dict(now)


@router.get("/orders/{order_id}", summary="One removal order")
def get_order(me: ActionsRead, app: App, order_id: RowId) -> dict[str, Any]:
    """The order, its URLs and what was done, with the countdown."""
    me.require("action.view")
    with app.engine.connect() as connection:
        return orders.get_order(connection, order_id).as_dict(utcnow())


@router.post("/orders/{order_id}/steps", summary="Record what was done about a URL")
def order_step(me: ActionsWrite, app: App, order_id: RowId, body: OrderStep) -> dict[str, Any]:
    """Either ``action`` (removed, disabled) or ``not_executed_reason``."""
    me.require("action.manage")
    now = utcnow()
    with app.engine.begin() as connection:
        if body.not_executed_reason:
            orders.not_executed(
                connection, me.actor, order_id, body.url, body.not_executed_reason, now
            )
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
    return {"referrals": [jsonable_dict(r) for r in found]}


@router.post("/cases/{case_id}/referrals", status_code=201, summary="Refer a confirmed case")
def create_referrals(me: ActionsWrite, app: App, case_id: RowId) -> dict[str, Any]:
    """A draft referral per URL of a case confirmed as violating."""
    me.require("action.manage")
    with app.engine.begin() as connection:
        made = referrals.create_referrals(connection, me.actor, case_id, utcnow())
    return {"referrals": made}


@router.post("/referrals/{referral_id}/status", summary="Move a referral on")
def referral_status(
    me: ActionsWrite, app: App, referral_id: RowId, body: StatusIn
) -> dict[str, Any]:
    """sent, acknowledged, removed, rejected or no_response; 409 for a step back."""
    me.require("action.manage")
    with app.engine.begin() as connection:
        referrals.set_status(connection, me.actor, referral_id, body.status, utcnow())
        return jsonable_dict(referrals.get_referral(connection, referral_id))


class ComplaintIn(BaseModel):
    """A complaint received by another channel (letter, e-mail), registered by the team."""

    decision_id: RowId
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
        number = complaints.file_complaint(
            connection, body.decision_id, body.text, received, body.contact, actor=me.actor
        )
        return jsonable_dict(complaints.get_complaint(connection, number))


@router.post("/complaints/{complaint_id}/decision", summary="Decide on a complaint")
def decide_complaint(
    me: ActionsWrite, app: App, complaint_id: RowId, body: ComplaintDecisionIn
) -> dict[str, Any]:
    """Upheld reinstates the content; 409 if decided already."""
    me.require("action.manage")
    with app.engine.begin() as connection:
        complaints.decide_complaint(
            connection, me.actor, complaint_id, body.upheld, body.reason, utcnow()
        )
        return jsonable_dict(complaints.get_complaint(connection, complaint_id))


class HoldIn(BaseModel):
    """A competent authority's or court's request to keep a preserved item longer."""

    until: str = Field(max_length=40, description="ISO 8601 with its UTC offset")
    reason: str = Field(max_length=5000, description="who asked, and their reference")


class TakeDownIn(BaseModel):
    """An own-initiative take-down of a case confirmed as violating."""

    visibility: str = Field(max_length=20, description="removed or disabled")
    legal_basis: str = Field(max_length=takedown.MAX_BASIS)


@router.get("/preservations", summary="Preserved items: end of preservation, hold, purge")
def list_preservations(
    me: ActionsRead,
    app: App,
    state: Annotated[str | None, Query(max_length=10, description="kept, held or purged")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=preserved.PAGE)] = preserved.PAGE,
) -> dict[str, Any]:
    """The end of preservation nearest first, purged last; ``hashes`` outlive a purge."""
    me.require("action.view")
    now = utcnow()
    with app.engine.connect() as connection:
        found = preserved.list_preserved(connection, state, offset=offset, limit=limit)
    return {"preservations": [p.as_dict(now) for p in found], "offset": offset, "limit": limit}


@router.post("/items/{item_id}/hold", summary="Keep a preserved item longer")
def hold_item(me: ActionsWrite, app: App, item_id: RowId, body: HoldIn) -> dict[str, Any]:
    """404 for an item that is not preserved, 409 once purged, 422 for a time without its
    offset, one not after the current end of preservation, or an empty reason."""
    me.require("action.manage")
    until = orders.parse_time(body.until, "until")
    with app.engine.begin() as connection:
        preservation.hold(connection, me.actor, item_id, until, body.reason)
        return preserved.get_preserved(connection, item_id).as_dict(utcnow())


@router.post("/cases/{case_id}/take-down", summary="Take down a confirmed case's item")
def take_down_case(me: ActionsWrite, app: App, case_id: RowId, body: TakeDownIn) -> dict[str, Any]:
    """Remove or disable the item of a case whose final decision is violating, and preserve it;
    409, changing nothing, for a case not (or no longer) confirmed or an item already down."""
    me.require("action.manage")
    now = utcnow()
    with app.engine.begin() as connection:
        takedown.take_down_case(
            connection, me.actor, case_id, body.visibility, now, body.legal_basis
        )
        return preserved.of_case(connection, case_id).as_dict(now)


# --- notices to content providers ---------------------------------------------------------------


@router.get("/notices", summary="Notices to content providers, oldest first")
def list_notices(
    me: ActionsRead,
    app: App,
    status: Annotated[str | None, Query(description="pending, withheld or sent")] = None,
    item: Annotated[RowId | None, Query(description="only this item's notices")] = None,
) -> dict[str, Any]:
    """What to tell whom: a platform collects ``status=pending``, delivers each through its
    own messaging and marks it sent. A withheld notice has no text (its order is
    confidential until ``withheld_until``)."""
    me.require("action.view")
    from redline.actions import notices

    with app.engine.connect() as connection:
        found = notices.list_notices(connection, status, item)
    return {"notices": [n.as_dict(app.settings.public_url) for n in found]}


@router.post("/notices/{notice_id}/sent", summary="Record that a notice was delivered")
def notice_sent(me: ActionsWrite, app: App, notice_id: RowId) -> dict[str, Any]:
    """The audit keeps the text as delivered; 409 for a withheld notice or one sent already."""
    me.require("action.manage")
    from redline.actions import notices

    with app.engine.begin() as connection:
        sent = notices.mark_sent(connection, me.actor, notice_id, utcnow(), app.settings.public_url)
    return sent.as_dict(app.settings.public_url)
