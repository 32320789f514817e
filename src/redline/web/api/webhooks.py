"""/api/v1/webhooks: the platform's webhook subscriptions, the delivery log and replays; for
admins (``webhook.manage``), with a ``webhooks:read`` or ``webhooks:write`` token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from redline.actions import webhooks
from redline.model.base import utcnow
from redline.review.accounts import Reviewer
from redline.web import App, RowId
from redline.web.auth import api_user

router = APIRouter(tags=["webhooks"])
HooksRead = Annotated[Reviewer, api_user("webhooks:read")]
HooksWrite = Annotated[Reviewer, api_user("webhooks:write")]


class SubscriptionIn(BaseModel):
    """A new subscription: where, and which events (see the README's list)."""

    name: str = Field(max_length=100)
    url: str = Field(max_length=2000)
    events: list[str] = Field(max_length=20)


class SubscriptionChange(BaseModel):
    """What to change of a subscription; ``active: false`` pauses it."""

    name: str | None = Field(None, max_length=100)
    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, max_length=20)
    active: bool | None = None


@router.get("/webhooks", summary="Webhook subscriptions")
def list_subscriptions(me: HooksRead, app: App) -> dict[str, Any]:
    """Every subscription (never its secret), with its pending and failed deliveries."""
    me.require("webhook.manage")
    with app.engine.connect() as connection:
        found = webhooks.list_subscriptions(connection)
    return {"subscriptions": [s.as_dict() for s in found]}


@router.post("/webhooks", status_code=201, summary="Subscribe an endpoint")
def subscribe(me: HooksWrite, app: App, body: SubscriptionIn) -> dict[str, Any]:
    """The subscription and its signing ``secret``: shown in this answer only."""
    me.require("webhook.manage")
    with app.engine.begin() as connection:
        subscription_id, secret = webhooks.add_subscription(
            connection, me.actor, body.name, body.url, body.events, utcnow()
        )
        made = webhooks.get_subscription(connection, subscription_id)
    return {**made.as_dict(), "secret": secret}


@router.get("/webhooks/deliveries", summary="The delivery log")
def list_deliveries(
    me: HooksRead,
    app: App,
    status: Annotated[str | None, Query(max_length=10)] = None,
    subscription: Annotated[RowId | None, Query()] = None,
    item: Annotated[RowId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Deliveries, newest first, each with its attempts (status code or error, duration)."""
    me.require("webhook.manage")
    with app.engine.connect() as connection:
        found = webhooks.list_deliveries(
            connection, status=status, subscription_id=subscription, item_id=item, limit=limit
        )
    return {"deliveries": [d.as_dict() for d in found]}


@router.get("/webhooks/deliveries/{delivery_id}", summary="One delivery and its attempts")
def get_delivery(me: HooksRead, app: App, delivery_id: RowId) -> dict[str, Any]:
    """The delivery with every attempt."""
    me.require("webhook.manage")
    with app.engine.connect() as connection:
        return webhooks.get_delivery(connection, delivery_id).as_dict()


@router.post("/webhooks/deliveries/{delivery_id}/replay", summary="Send a failed delivery again")
def replay(me: HooksWrite, app: App, delivery_id: RowId) -> dict[str, Any]:
    """Back to pending, sent at the next delivery round; 409 unless it failed."""
    me.require("webhook.manage")
    with app.engine.begin() as connection:
        webhooks.replay(connection, delivery_id, me.actor, utcnow())
        return webhooks.get_delivery(connection, delivery_id).as_dict()


@router.get("/webhooks/{subscription_id}", summary="One subscription")
def get_subscription(me: HooksRead, app: App, subscription_id: RowId) -> dict[str, Any]:
    """The subscription (never its secret)."""
    me.require("webhook.manage")
    with app.engine.connect() as connection:
        return webhooks.get_subscription(connection, subscription_id).as_dict()


@router.patch("/webhooks/{subscription_id}", summary="Change or pause a subscription")
def change(
    me: HooksWrite, app: App, subscription_id: RowId, body: SubscriptionChange
) -> dict[str, Any]:
    """Only the fields given change."""
    me.require("webhook.manage")
    with app.engine.begin() as connection:
        webhooks.update_subscription(
            connection,
            me.actor,
            subscription_id,
            name=body.name,
            url=body.url,
            events=body.events,
            active=body.active,
        )
        return webhooks.get_subscription(connection, subscription_id).as_dict()


@router.delete("/webhooks/{subscription_id}", status_code=204, summary="Remove a subscription")
def remove(me: HooksWrite, app: App, subscription_id: RowId) -> Response:
    """No more events; its pending deliveries are cancelled (the log keeps them)."""
    me.require("webhook.manage")
    with app.engine.begin() as connection:
        webhooks.remove_subscription(connection, me.actor, subscription_id, utcnow())
    return Response(status_code=204)
