"""Removal orders in the console: registering one, the open orders with a live one-hour
countdown, acting on each URL, one order's page and its report to the authority."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from redline.actions import orders
from redline.errors import Conflict, Invalid
from redline.model.base import utcnow
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()
# A form's times come from date-time fields, which send no offset: the form says they are UTC.
FORM_ZONE = UTC


@router.get("/orders", response_class=HTMLResponse, include_in_schema=False)
def orders_page(me: Me, app: App, request: Request) -> Response:
    """Orders, nearest deadline first, each with its countdown and its URLs."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        found = orders.list_orders(connection)
        items = orders.ordered_items(connection, found)
    return page(request, "orders.html", me, orders=found, items=items)


@router.get("/orders/new", response_class=HTMLResponse, include_in_schema=False)
def new_order_page(me: Me, request: Request) -> Response:
    """The form a lead registers a received removal order with."""
    me.reviewer.require("action.manage")
    return page(
        request,
        "order_new.html",
        me,
        form={},
        problem=None,
        content_types=orders.CONTENT_TYPES,
    )


@router.post("/orders", include_in_schema=False)
def register_order(
    me: Checked,
    app: App,
    request: Request,
    authority: Annotated[str, Form(max_length=300)],
    reference: Annotated[str, Form(max_length=200)],
    issued_at: Annotated[str, Form(max_length=40)],
    received_at: Annotated[str, Form(max_length=40)],
    urls: Annotated[str, Form(max_length=400_000)],
    reasons: Annotated[str, Form(max_length=20_000)],
    legal_basis: Annotated[str, Form(max_length=2_000)] = "Regulation (EU) 2021/784, Article 3",
    content_type: Annotated[str, Form(max_length=40)] = "",
    confidential_reason: Annotated[str, Form(max_length=5_000)] = "",
    confidential_until: Annotated[str, Form(max_length=40)] = "",
    authority_contact: Annotated[str, Form(max_length=5_000)] = "",
    redress: Annotated[str, Form(max_length=5_000)] = "",
    signed_by: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    """Register a removal order (leads); the form comes back with what is wrong, keeping what
    was typed, when the order is refused."""
    me.reviewer.require("action.manage")
    typed = {
        "authority": authority,
        "reference": reference,
        "issued_at": issued_at,
        "received_at": received_at,
        "urls": urls,
        "reasons": reasons,
        "legal_basis": legal_basis,
        "content_type": content_type,
        "confidential_reason": confidential_reason,
        "confidential_until": confidential_until,
        "authority_contact": authority_contact,
        "redress": redress,
        "signed_by": signed_by,
    }
    try:
        secret = confidential_reason.strip() or None
        new = orders.OrderIn(
            authority,
            reference,
            orders.parse_time(issued_at, "time of issue", FORM_ZONE),
            orders.parse_time(received_at, "time of receipt", FORM_ZONE),
            [line.strip() for line in urls.splitlines() if line.strip()],
            reasons,
            legal_basis,
            secret is not None,
            secret,
            authority_contact.strip() or None,
            content_type or None,
            redress.strip() or None,
            signed_by.strip() or None,
            orders.parse_time(confidential_until, "confidential until", FORM_ZONE)
            if confidential_until.strip()
            else None,
        )
        with app.engine.begin() as connection:
            order_id = orders.register_order(connection, me.reviewer.actor, new, utcnow())
    except (Invalid, Conflict) as refused:
        return page(
            request,
            "order_new.html",
            me,
            status_code=refused.status,
            form=typed,
            problem=str(refused),
            content_types=orders.CONTENT_TYPES,
        )
    return RedirectResponse(f"/orders/{order_id}?registered=1", status_code=303)


@router.get("/orders/{order_id}", response_class=HTMLResponse, include_in_schema=False)
def order_page(me: Me, app: App, request: Request, order_id: RowId) -> Response:
    """One order: the Annex I fields, its URLs with their items, and what was done."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        found = orders.get_order(connection, order_id)
        items = orders.ordered_items(connection, [found])
    return page(
        request, "order.html", me, order=found, items=items, content_types=orders.CONTENT_TYPES
    )


@router.get("/orders/{order_id}/report", include_in_schema=False)
def order_report(
    me: Me,
    app: App,
    order_id: RowId,
    provider: Annotated[str, Query(min_length=1, max_length=200)] = "hosting service",
) -> Response:
    """The report back to the issuing authority (Article 3(6)), as text to send."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        found = orders.get_order(connection, order_id)
    return PlainTextResponse(
        orders.report(found, provider),
        headers={
            "content-disposition": f'inline; filename="removal-order-{order_id}-report.txt"',
            "cache-control": "private",
        },
    )


@router.post("/orders/{order_id}/steps", include_in_schema=False)
def order_step(
    me: Checked,
    app: App,
    order_id: RowId,
    url: Annotated[str, Form(max_length=4000)],
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
    back: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Record that a URL was removed or disabled, or why it could not be."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        if reason.strip():
            orders.not_executed(connection, me.reviewer.actor, order_id, url, reason, utcnow())
        else:
            orders.execute(connection, me.reviewer.actor, order_id, url, action, utcnow())
    # The order's own page sends ``back=order``; the list is where steps are usually taken.
    target = f"/orders/{order_id}" if back == "order" else "/orders"
    return RedirectResponse(target, status_code=303)
