"""Webhooks in the console: the subscriptions and the delivery log, with a replay of a failed
delivery; for leads and admins (auditors read it)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.actions import webhooks
from redline.errors import Invalid
from redline.model.base import utcnow
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()
TABS: Final = ("all", *webhooks.STATUSES)


@router.get("/webhooks", response_class=HTMLResponse, include_in_schema=False)
def webhooks_page(
    me: Me, app: App, request: Request, status: Annotated[str, Query(max_length=10)] = "all"
) -> Response:
    """The subscriptions, then the deliveries (newest first) with their attempts."""
    me.reviewer.require("webhook.view")
    if status not in TABS:
        raise Invalid(f"unknown delivery status {status!r} ({', '.join(TABS)})")
    with app.engine.connect() as connection:
        subscriptions = webhooks.list_subscriptions(connection)
        found = webhooks.list_deliveries(
            connection, status=None if status == "all" else status, limit=200
        )
    return page(
        request,
        "webhooks.html",
        me,
        subscriptions=subscriptions,
        deliveries=found,
        status=status,
        tabs=TABS,
        max_attempts=webhooks.MAX_ATTEMPTS,
    )


@router.post("/webhooks/deliveries/{delivery_id}/replay", include_in_schema=False)
def replay(me: Checked, app: App, delivery_id: RowId) -> RedirectResponse:
    """Send a failed delivery again at the next delivery round."""
    me.reviewer.require("webhook.replay")
    with app.engine.begin() as connection:
        webhooks.replay(connection, delivery_id, me.reviewer.actor, utcnow())
    return RedirectResponse("/webhooks?status=pending", status_code=303)
