"""``redline statements``: statements of reasons."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from redline.cli.common import JsonFlag, _period, _print_json, _store, err, out
from redline.ingest.records import UsageProblem

statements_app = typer.Typer(
    help="Statements of reasons in the DSA Transparency Database's format.", no_args_is_help=True
)


@statements_app.command("export")
def statements_export(
    start: Annotated[str, typer.Option("--from", help="First day (ISO date, UTC).")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (ISO date, UTC).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
) -> None:
    """The statements of reasons of the period's take-downs, as the database's JSON; items
    whose statement is not valid are listed on stderr with every problem (exit code 1)."""
    from redline.actions import statements

    first, last = _period(start, end)
    with _store() as (_settings, engine), engine.connect() as connection:
        made, problems = statements.statements_between(connection, first, last)
    data = json.dumps({"statements": [s.payload() for s in made]}, indent=2, ensure_ascii=False)
    if output is None:
        out.out(data)
    else:
        output.write_text(data + "\n", encoding="utf-8")
        err.print(f"{len(made)} statement(s) written to {output}")
    for item_id, problem in problems:
        err.print(f"item {item_id}: {escape(problem)}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@statements_app.command("submit")
def statements_submit(
    start: Annotated[str, typer.Option("--from", help="First day (ISO date, UTC).")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (ISO date, UTC).")],
    endpoint: Annotated[
        str, typer.Option(help="The database's base URL.")
    ] = "https://transparency.dsa.ec.europa.eu",
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the API token.")
    ] = "REDLINE_SOR_TOKEN",  # noqa: S107 (the name of a variable, not a secret)
    as_json: JsonFlag = False,
) -> None:
    """Submit the period's statements in batches of 100; one line per statement's outcome."""
    from redline.actions import sor, statements

    token = os.environ.get(token_env, "")
    if not token:
        raise UsageProblem(f"no API token: set {token_env}")
    first, last = _period(start, end)
    with _store() as (_settings, engine), engine.connect() as connection:
        made, problems = statements.statements_between(connection, first, last)
    client = sor.SorClient(endpoint, token)
    try:
        result = client.submit(made)
    finally:
        client.close()
    outcomes = [
        {
            "puid": o.puid,
            "status": o.status,
            "uuid": o.uuid,
            "errors": o.errors,
            "message": o.message,
        }
        for o in result.outcomes
    ]
    if as_json:
        _print_json(
            {"outcomes": outcomes, "invalid": [{"item": i, "problem": p} for i, p in problems]}
        )
    else:
        for o in outcomes:
            out.print(f"{o['puid']}: {o['status']} {o['uuid'] or o['message'] or o['errors']}")
    if problems or not result.ok:
        raise typer.Exit(1)
