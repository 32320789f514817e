"""Take-downs and what they keep, in the console: the preserved items with their end of
preservation, hold and purge state and a hold form each; and the take-down of a confirmed case
from its page, for a hosting service acting on its own platform."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.actions import orders, preservation, preserved, takedown
from redline.model.base import utcnow
from redline.review.errors import ReviewError
from redline.web import App, RowId
from redline.web.auth import Checked, Me, Visitor
from redline.web.ui.render import page

router = APIRouter()
StateFilter = Annotated[str, Query(max_length=10)]


def _listing(
    app: App, request: Request, me: Visitor, state: str, status_code: int = 200, **context: object
) -> Response:
    """The preservations page; refusals of the hold form are shown on it, with their status,
    so the officer sees the list and what to correct at once."""
    with app.engine.connect() as connection:
        found = preserved.list_preserved(connection, state or None)
    return page(
        request,
        "preservations.html",
        me,
        status_code,
        preserved=found,
        state=state,
        states=preserved.STATES,
        **context,
    )


@router.get("/preservations", response_class=HTMLResponse, include_in_schema=False)
def preservations_page(me: Me, app: App, request: Request, state: StateFilter = "") -> Response:
    """Preserved items, the end of preservation nearest first; purged ones last."""
    me.reviewer.require("action.view")
    return _listing(app, request, me, state)


@router.post("/preservations/{item_id}/hold", response_class=HTMLResponse, include_in_schema=False)
def hold(
    me: Checked,
    app: App,
    request: Request,
    item_id: RowId,
    until: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Keep a preserved item longer, at an authority's or court's request; back to the list."""
    me.reviewer.require("action.manage")
    try:
        # The form says UTC; a time written with its offset keeps it.
        end = orders.parse_time(until, "keep until", assume=UTC)
        with app.engine.begin() as connection:
            preservation.hold(connection, me.reviewer.actor, item_id, end, reason)
    except ReviewError as refused:
        return _listing(
            app,
            request,
            me,
            "",
            refused.status,
            error=str(refused),
            failed_item=item_id,
            until=until,
            reason=reason,
        )
    return RedirectResponse(f"/preservations?held={item_id}#item-{item_id}", status_code=303)


@router.post("/cases/{case_id}/take-down", include_in_schema=False)
def take_down(
    me: Checked,
    app: App,
    case_id: RowId,
    visibility: Annotated[str, Form(max_length=20)],
    legal_basis: Annotated[str, Form(max_length=takedown.MAX_BASIS)] = "",
) -> RedirectResponse:
    """Remove or disable a confirmed case's item; the case page then shows it down."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        takedown.take_down_case(
            connection, me.reviewer.actor, case_id, visibility, utcnow(), legal_basis
        )
    return RedirectResponse(f"/cases/{case_id}?taken_down={visibility}", status_code=303)
