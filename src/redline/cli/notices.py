"""``redline notice``: notices to content providers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, out

notice_app = typer.Typer(
    help="Notices to content providers about take-downs.", no_args_is_help=True
)


@notice_app.command("list", epilog="Example: redline notice list --status pending --json")
def notice_list(
    status: Annotated[
        str | None, typer.Option(help="pending, withheld or sent (default: all).")
    ] = None,
    item: Annotated[int | None, typer.Option(help="Only this item's notices.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Notices to content providers, oldest first, with their text (none while withheld)."""
    from redline.actions import notices

    with _store() as (settings, engine), engine.connect() as connection:
        found = notices.list_notices(connection, status, item)
    if as_json:
        _print_json([n.as_dict(settings.public_url) for n in found])
        return
    table = Table("id", "item", "order", "lang", "status", "created", "withheld because, until")
    for n in found:
        why = f"{n.withheld_reason}, {n.withheld_until:%Y-%m-%d}" if n.withheld_until else ""
        table.add_row(
            str(n.id),
            str(n.item_id),
            str(n.order_id or ""),
            n.lang,
            n.status,
            f"{n.created_at:%Y-%m-%d %H:%M}",
            escape(why),
        )
    out.print(table)


@notice_app.command("show")
def notice_show(notice_id: Annotated[int, typer.Argument(help="The notice.")]) -> None:
    """A notice's text as the provider reads it (refused while its order is confidential)."""
    from redline.actions import notices
    from redline.review.errors import Conflict

    with _store() as (settings, engine), engine.connect() as connection:
        found = notices.get_notice(connection, notice_id)
    if found.status == "withheld":
        raise Conflict(
            f"notice {notice_id} is withheld until {found.withheld_until:%Y-%m-%d}: "
            f"{found.withheld_reason}"
        )
    out.out(found.text(settings.public_url), end="")


@notice_app.command("sent")
def notice_sent(notice_id: Annotated[int, typer.Argument(help="The notice.")]) -> None:
    """Record that a notice reached its provider (the audit keeps the text they got)."""
    from redline.actions import notices
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (settings, engine), engine.begin() as connection:
        notices.mark_sent(connection, cli_actor(), notice_id, utcnow(), settings.public_url)
    out.print(f"Notice {notice_id} sent")
