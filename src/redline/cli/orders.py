"""``redline order``: removal orders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, out

order_app = typer.Typer(
    help="Removal orders (Regulation 2021/784): register, act, report.", no_args_is_help=True
)


@order_app.command(
    "register",
    epilog="Example: redline order register --authority 'NCA' "
    "--reference TCO-1 --issued 2026-11-23T09:55+01:00 --received "
    "2026-11-23T10:00+01:00 --url https://host.example/p/1 "
    "--reasons '...'",
)
def order_register(
    authority: Annotated[str, typer.Option(help="The issuing competent authority.")],
    reference: Annotated[str, typer.Option(help="The order's reference number.")],
    issued: Annotated[str, typer.Option(help="Time of issue, ISO 8601 with offset.")],
    received: Annotated[str, typer.Option(help="Time of receipt, ISO 8601 with offset.")],
    url: Annotated[list[str], typer.Option(help="A URL the order names (repeat).")],
    reasons: Annotated[str, typer.Option(help="The order's statement of reasons.")],
    legal_basis: Annotated[str, typer.Option(help="Legal basis.")] = (
        "Regulation (EU) 2021/784, Article 3"
    ),
    confidential_reason: Annotated[
        str | None, typer.Option(help="The authority asked not to inform the provider: why.")
    ] = None,
    confidential_until: Annotated[
        str | None,
        typer.Option(help="Until when (ISO 8601 with offset; default six weeks from issue)."),
    ] = None,
    content_type: Annotated[
        str | None,
        typer.Option(
            help="Article 2(7): incitement, solicitation, participation, instruction or threat."
        ),
    ] = None,
    authority_contact: Annotated[str | None, typer.Option(help="Contact at the authority.")] = None,
    redress: Annotated[str | None, typer.Option(help="Redress information given.")] = None,
    signed_by: Annotated[str | None, typer.Option(help="Who signed the order.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a removal order; its one-hour deadline runs from the receipt time."""
    from redline.actions import orders
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    new = orders.OrderIn(
        authority,
        reference,
        orders.parse_time(issued, "--issued"),
        orders.parse_time(received, "--received"),
        url,
        reasons,
        legal_basis,
        confidential_reason is not None,
        confidential_reason,
        authority_contact,
        content_type,
        redress,
        signed_by,
        orders.parse_time(confidential_until, "--confidential-until")
        if confidential_until
        else None,
    )
    now = utcnow()
    with _store() as (_settings, engine), engine.begin() as connection:
        order_id = orders.register_order(connection, cli_actor(), new, now)
        view = orders.get_order(connection, order_id)
    if as_json:
        _print_json(view.as_dict(now))
        return
    out.print(
        f"Order {order_id} registered; deadline {view.deadline_at.isoformat()} "
        f"({view.seconds_left(now) // 60} min left)"
    )


@order_app.command("list")
def order_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only orders still open.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Removal orders, nearest deadline first, with the time left."""
    from redline.actions import orders
    from redline.model.base import utcnow

    now = utcnow()
    with _store() as (_settings, engine), engine.connect() as connection:
        found = orders.list_orders(connection, open_only=open_only)
    if as_json:
        _print_json([o.as_dict(now) for o in found])
        return
    table = Table("id", "authority", "reference", "received", "deadline", "left", "status")
    for o in found:
        left = o.seconds_left(now)
        shown = f"{left // 60} min" if left >= 0 else f"overdue {-left // 60} min"
        table.add_row(
            str(o.id),
            escape(o.authority),
            escape(o.reference),
            o.received_at.isoformat()[:16],
            o.deadline_at.isoformat()[:16],
            shown if o.status in ("received", "in_progress") else "-",
            o.status,
        )
    out.print(table)


@order_app.command("execute")
def order_execute(
    order_id: Annotated[int, typer.Argument(help="Order id.")],
    url: Annotated[str, typer.Argument(help="A URL of the order.")],
    action: Annotated[str, typer.Option(help="removed or disabled.")] = "removed",
) -> None:
    """Record that a URL of the order was removed or disabled (now)."""
    from redline.actions import orders
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        status = orders.execute(connection, cli_actor(), order_id, url, action, utcnow())
    out.print(f"Order {order_id}: {escape(url)} {action}; order {status.replace('_', ' ')}")


@order_app.command("not-executed")
def order_not_executed(
    order_id: Annotated[int, typer.Argument(help="Order id.")],
    url: Annotated[str, typer.Argument(help="A URL of the order.")],
    reason: Annotated[str, typer.Option(help="Why it could not be executed.")],
) -> None:
    """Record that a URL of the order could not be executed, and why."""
    from redline.actions import orders
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        status = orders.not_executed(connection, cli_actor(), order_id, url, reason, utcnow())
    out.print(f"Order {order_id}: {escape(url)} not executed; order {status.replace('_', ' ')}")


@order_app.command("report")
def order_report(
    order_id: Annotated[int, typer.Argument(help="Order id.")],
    provider: Annotated[str, typer.Option(help="Your service's name.")] = "hosting service",
) -> None:
    """The report back to the issuing authority."""
    from redline.actions import orders

    with _store() as (_settings, engine), engine.connect() as connection:
        view = orders.get_order(connection, order_id)
    out.out(orders.report(view, provider), end="")
