"""The ``redline report`` command: the transparency report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from redline.cli.common import _period, _store, err, out
from redline.cli.root import app
from redline.ingest.records import UsageProblem


@app.command(
    epilog="Example: redline report --from 2026-01-01 --to 2026-07-01 --format pdf "
    "--output report.pdf"
)
def report(
    start: Annotated[str, typer.Option("--from", help="First day (ISO date or time, UTC).")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (ISO date or time, UTC).")],
    format: Annotated[str, typer.Option(help="json, csv, html or pdf.")] = "html",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
) -> None:
    """The transparency report for a period: what was found, decided, removed and reinstated,
    how fast, referral acceptance per hosting service, and re-uploads after removal."""
    from redline.metrics import outcomes
    from redline.metrics import report as render

    period = outcomes.Period(*_period(start, end))
    if format not in render.FORMATS:
        raise UsageProblem(f"unknown format {format!r} ({', '.join(render.FORMATS)})")
    if format == "pdf" and output is None:
        raise UsageProblem("a PDF needs --output FILE")
    with _store() as (_settings, engine), engine.connect() as connection:
        data = render.render(outcomes.figures(connection, period), format)
    if output is None:
        out.out(data.decode(), end="")
    else:
        output.write_bytes(data)
        err.print(f"Report written to {output}")
