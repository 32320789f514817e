"""``redline hold`` and ``redline take-down``: preservation and own-initiative take-downs."""

from __future__ import annotations

from typing import Annotated

import typer

from redline.cli.common import _store, out
from redline.cli.root import app
from redline.ingest.records import UsageProblem


@app.command(
    epilog="Example: redline hold 42 --until 2027-12-31T00:00:00Z --reason 'court order 12/2027'"
)
def hold(
    item_id: Annotated[int, typer.Argument(help="A taken-down, preserved item.")],
    until: Annotated[str, typer.Option(help="Keep it until (ISO 8601 with offset).")],
    reason: Annotated[str, typer.Option(help="Who asked, and their reference.")],
) -> None:
    """Keep a preserved item longer than six months, at an authority's or court's request."""
    from redline.actions import orders, preservation
    from redline.store.audit import cli_actor

    end = orders.parse_time(until, "--until")
    with _store() as (_settings, engine), engine.begin() as connection:
        preservation.hold(connection, cli_actor(), item_id, end, reason)
    out.print(f"Item {item_id} kept until {end.isoformat()}")


@app.command(
    "take-down",
    epilog="Example: redline take-down 42 --remove --basis "
    "'Regulation (EU) 2021/784, Article 5; terms of service 4.2'",
)
def take_down(
    case_id: Annotated[int, typer.Argument(help="A case confirmed as violating.")],
    disable: Annotated[
        bool | None,
        typer.Option("--disable/--remove", help="Disable access to the item, or remove it."),
    ] = None,
    basis: Annotated[str, typer.Option(help="The legal basis of the take-down.")] = "",
) -> None:
    """Take down, on this platform's own initiative, the item of a case whose final decision
    is violating; it is kept as evidence for six months."""
    from redline.actions import takedown
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    if disable is None:
        raise UsageProblem("say what to do: --remove or --disable")
    if not basis.strip():
        raise UsageProblem("say on what legal basis: --basis TEXT")
    visibility = "disabled" if disable else "removed"
    with _store() as (_settings, engine), engine.begin() as connection:
        kept = takedown.take_down_case(
            connection, cli_actor(), case_id, visibility, utcnow(), basis
        )
    out.print(f"Case {case_id}: item {visibility}; preservation {kept}")
