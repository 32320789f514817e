"""Removal orders in the console: the open orders with a live one-hour countdown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.actions import orders
from redline.model.base import utcnow
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()


@router.get("/orders", response_class=HTMLResponse, include_in_schema=False)
def orders_page(me: Me, app: App, request: Request) -> Response:
    """Orders, nearest deadline first, each with its countdown and its URLs."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        found = orders.list_orders(connection)
    return page(request, "orders.html", me, orders=found)


@router.post("/orders/{order_id}/steps", include_in_schema=False)
def order_step(
    me: Checked,
    app: App,
    order_id: RowId,
    url: Annotated[str, Form(max_length=4000)],
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> RedirectResponse:
    """Record that a URL was removed or disabled, or why it could not be."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        if reason.strip():
            orders.not_executed(connection, me.reviewer.actor, order_id, url, reason, utcnow())
        else:
            orders.execute(connection, me.reviewer.actor, order_id, url, action, utcnow())
    return RedirectResponse("/orders", status_code=303)
