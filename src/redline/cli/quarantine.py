"""``redline quarantine``: records that could not be stored."""

from __future__ import annotations

import base64
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, out
from redline.ingest.records import UsageProblem
from redline.terminal import printable

quarantine_app = typer.Typer(help="Inspect records that could not be stored.", no_args_is_help=True)


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List quarantined records: file, place in the file, and why each was refused."""
    from redline.store.quarantine import list_quarantine

    with _store() as (_settings, engine):
        entries = list_quarantine(engine, source=source, limit=limit)
    if as_json:
        _print_json([e.as_dict() for e in entries])
        return
    if not entries:
        out.print("Nothing in quarantine.")
        return
    table = Table("id", "source", "file", "where", "reason", "bytes")
    for e in entries:
        table.add_row(
            str(e.id),
            escape(printable(e.source)),
            escape(printable(e.file)),
            escape(printable(e.location)),
            escape(printable(e.reason)),
            f"{e.raw_size:,}",
        )
    out.print(table)


@quarantine_app.command("show")
def quarantine_show(
    entry_id: Annotated[int, typer.Argument(help="Quarantine id (from `quarantine list`).")],
    raw: Annotated[bool, typer.Option("--raw", help="Write only the raw bytes to stdout.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show one quarantined record with its raw bytes."""
    from redline.store.quarantine import get_quarantine

    with _store() as (_settings, engine):
        entry = get_quarantine(engine, entry_id)
    if entry is None:
        raise UsageProblem(f"no quarantined record with id {entry_id}")
    if raw:
        sys.stdout.buffer.write(entry.raw)
        return
    if as_json:
        data = entry.as_dict()
        data["raw_base64"] = base64.b64encode(entry.raw).decode("ascii")
        _print_json(data)
        return
    for key, value in entry.as_dict().items():
        out.print(f"{key:>12}: {escape(printable(str(value)))}")
    raw_text = entry.raw[:2000].decode("utf-8", "backslashreplace")
    out.print(f"{'raw':>12}: {escape(printable(raw_text))}")
