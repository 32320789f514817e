"""``redline audit``: the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from redline.cli.common import JsonFlag, _fail, _print_json, _store, err, out
from redline.ingest.records import UsageProblem

audit_app = typer.Typer(
    help="The audit trail: check that no event was altered, removed or added.", no_args_is_help=True
)


@audit_app.command("verify", epilog="Example: redline audit verify --export audit.csv")
def audit_verify(
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Check this copy of /audit.csv instead of the database.",
            show_default=False,
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            metavar="ID:SHA256",
            show_default=False,
            help="Also check the live trail still has this head of an earlier copy.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the audit trail's hash chain; name the first broken link. Exit 1 when broken."""
    from redline.store import audit

    if export is not None and head is not None:
        raise UsageProblem("--head compares with the live trail: not with --export")
    if export is not None:
        try:
            check = audit.verify_export(export.read_text(encoding="utf-8", errors="replace"))
        except audit.BadExport as error:
            _fail(f"error: {export}: {error}", 2)
    else:
        expected = audit.parse_head(head) if head is not None else None
        with _store() as (_settings, engine), engine.connect() as connection:
            check = audit.verify(connection)
            if check.broken is None and expected is not None:
                check = audit.check_head(connection, check, *expected)
    if as_json:
        _print_json(check.as_dict())
    elif check.broken is None:
        what = f"copy {escape(str(export))}" if export is not None else "audit trail"
        out.print(
            f"The {what} is intact: {check.events:,} events, head event "
            f"{check.head_id} sha256 {check.head_sha256}"
        )
    else:
        where = f"event {check.broken.event_id}" if check.broken.event_id is not None else "the end"
        err.print(
            f"redline: the chain is broken at {where}: {escape(check.broken.reason)}",
            soft_wrap=True,
        )
    if check.broken is not None:
        raise typer.Exit(1)
