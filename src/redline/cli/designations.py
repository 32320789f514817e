"""``redline designated``: the list of designated organisations and movements a violating
verdict names (``review/designations.py``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, out

designation_app = typer.Typer(
    help="Keep the list of designated organisations and movements reviewers name.",
    no_args_is_help=True,
)


@designation_app.command(
    "add", epilog='Example: redline designated add "Example Front" --listed-by "UN 1267"'
)
def designation_add(
    name: Annotated[str, typer.Argument(help="The organisation's or movement's name.")],
    listed_by: Annotated[
        str | None, typer.Option(help="Who designates it: UN 1267, EU, a national list.")
    ] = None,
) -> None:
    """Put an organisation or movement on the list reviewers choose from (audited)."""
    from redline.model.base import utcnow
    from redline.review import designations
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        added = designations.add_designation(
            connection, name, listed_by, actor=cli_actor(), now=utcnow()
        )
    out.print(f"Added designation {added.id}: {escape(added.name)}")


def _set_enabled(name: str, enabled: bool, reason: str) -> None:
    from redline.model.base import utcnow
    from redline.review import designations
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        done = designations.set_designation_enabled(
            connection, name, enabled, actor=cli_actor(), now=utcnow(), reason=reason
        )
    out.print(f"{'Enabled' if enabled else 'Disabled'} {escape(done.name)}")


@designation_app.command("disable")
def designation_disable(
    name: Annotated[str, typer.Argument(help="Designation.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "",
) -> None:
    """Stop offering a designation to reviewers; the decisions naming it keep it."""
    _set_enabled(name, False, reason)


@designation_app.command("enable")
def designation_enable(
    name: Annotated[str, typer.Argument(help="Designation.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "",
) -> None:
    """Offer a disabled designation to reviewers again."""
    _set_enabled(name, True, reason)


@designation_app.command("list")
def designation_list(as_json: JsonFlag = False) -> None:
    """Every designation, enabled or not."""
    from redline.review import designations

    with _store() as (_settings, engine), engine.connect() as connection:
        listed = designations.list_designations(connection)
    if as_json:
        _print_json([d.as_dict() for d in listed])
        return
    table = Table("id", "name", "listed by", "state", "added by")
    for d in listed:
        table.add_row(
            str(d.id),
            escape(d.name),
            escape(d.listed_by or ""),
            "enabled" if d.enabled else "disabled",
            escape(d.created_by),
        )
    out.print(table)
