"""``redline webhooks``: the platform's endpoints subscribed to redline's events, the delivery
log, replays of failed deliveries, and a delivery round on demand."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, out

webhooks_app = typer.Typer(
    help="Webhooks: signed events to the platform's endpoints (subscriptions, deliveries).",
    no_args_is_help=True,
)


@webhooks_app.command(
    "add",
    epilog="Example: redline webhooks add https://trust.example/redline --name moderation "
    "--event decision.made --event item.taken_down",
)
def add(
    url: Annotated[str, typer.Argument(help="Where to POST the events (http:// or https://).")],
    name: Annotated[str, typer.Option(help="What the endpoint is, for the log.")],
    event: Annotated[
        list[str],
        typer.Option(
            help="An event to send (repeat): match.found, case.opened, decision.made, "
            "item.taken_down, removal_order.received, complaint.decided."
        ),
    ],
) -> None:
    """Subscribe an endpoint; its signing secret is printed once, keep it to verify."""
    from redline.actions import webhooks
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        subscription_id, secret = webhooks.add_subscription(
            connection, cli_actor(), name, url, event, utcnow()
        )
    out.print(f"Subscription {subscription_id}; its signing secret (shown once):")
    out.print(secret)


@webhooks_app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """The subscriptions (never their secrets), with deliveries pending and failed."""
    from redline.actions import webhooks

    with _store() as (_settings, engine), engine.connect() as connection:
        found = webhooks.list_subscriptions(connection)
    if as_json:
        _print_json([s.as_dict() for s in found])
        return
    table = Table("id", "name", "url", "events", "active", "pending", "failed")
    for s in found:
        table.add_row(
            str(s.id),
            escape(s.name),
            escape(s.url),
            " ".join(s.events),
            "yes" if s.active else "paused",
            str(s.pending),
            str(s.failed),
        )
    out.print(table)


@webhooks_app.command("remove")
def remove(
    subscription_id: Annotated[int, typer.Argument(help="Subscription id (see webhooks list).")],
) -> None:
    """Unsubscribe an endpoint; its pending deliveries are cancelled (the log keeps them)."""
    from redline.actions import webhooks
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        cancelled = webhooks.remove_subscription(connection, cli_actor(), subscription_id, utcnow())
    out.print(
        f"Removed subscription {subscription_id}; {cancelled} pending delivery(ies) cancelled"
    )


@webhooks_app.command("deliveries")
def deliveries(
    status: Annotated[
        str | None, typer.Option(help="pending, delivered, failed or cancelled.")
    ] = None,
    subscription: Annotated[int | None, typer.Option(help="Only this subscription's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """The delivery log, newest first: status, attempts, the last answer or error."""
    from redline.actions import webhooks

    with _store() as (_settings, engine), engine.connect() as connection:
        found = webhooks.list_deliveries(
            connection, status=status, subscription_id=subscription, limit=limit
        )
    if as_json:
        _print_json([d.as_dict() for d in found])
        return
    table = Table("id", "subscription", "event", "item", "status", "tries", "last answer")
    for d in found:
        last = str(d.last_status or "") if d.last_error is None else d.last_error
        if d.waiting_on is not None:
            last = f"waits for delivery {d.waiting_on}"
        table.add_row(
            str(d.id),
            escape(d.subscription),
            d.event,
            str(d.item_id),
            d.status,
            str(d.attempts),
            escape(last[:120]),
        )
    out.print(table)


@webhooks_app.command("replay")
def replay(
    delivery_id: Annotated[int, typer.Argument(help="A failed delivery's id (see deliveries).")],
) -> None:
    """Send a failed delivery again (same event id and body) at the next delivery round."""
    from redline.actions import webhooks
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        webhooks.replay(connection, delivery_id, cli_actor(), utcnow())
    out.print(f"Delivery {delivery_id} will be sent again")


@webhooks_app.command("deliver")
def deliver(as_json: JsonFlag = False) -> None:
    """Send what is due now (the scheduler does this every round); REDLINE_WEBHOOK_ALLOW_PRIVATE
    lets endpoints be on private addresses."""
    from redline.actions import webhooks
    from redline.model.base import utcnow

    with _store() as (settings, engine):
        done = webhooks.deliver_due(engine, utcnow(), allow_private=settings.webhook_allow_private)
    if as_json:
        _print_json(done.as_dict())
        return
    out.print(f"delivered {done.delivered}, retrying {done.retrying}, failed {done.failed}")
