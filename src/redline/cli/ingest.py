"""The ``redline ingest`` command: read an export into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.cli.root import app
from redline.config import get_settings
from redline.ingest.records import CsvColumns, UsageProblem
from redline.terminal import printable

if TYPE_CHECKING:
    from redline.ingest.run import IngestSummary


@app.command(epilog="Example: redline ingest export/result.json --source channel-a")
def ingest(
    path: Annotated[Path, typer.Argument(help="File or folder to read.", show_default=False)],
    source: Annotated[
        str, typer.Option("--source", "-s", help="Name of the source these records come from.")
    ],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="auto, twitter-csv, telegram-json, jsonl, csv, media-dir or url-list.",
        ),
    ] = "auto",
    text_column: Annotated[str | None, typer.Option(help="CSV column holding the text.")] = None,
    id_column: Annotated[str | None, typer.Option(help="CSV column holding record ids.")] = None,
    time_column: Annotated[str | None, typer.Option(help="CSV column holding post times.")] = None,
    time_format: Annotated[
        str | None, typer.Option(help="strptime format of the time column, e.g. %d/%m/%Y.")
    ] = None,
    account_column: Annotated[
        str | None, typer.Option(help="CSV column naming the posting account.")
    ] = None,
    as_json: JsonFlag = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every duplicate and problem.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 when anything was quarantined or dropped from a record."
        ),
    ] = False,
) -> None:
    """Read an export, CSV, JSONL, media folder or URL list into the store.

    Records are validated and deduplicated: running the same ingest twice stores nothing new, a
    known id with changed content is kept as a new revision, and records that cannot be read go
    to quarantine (see `redline quarantine list`) without stopping the run. A record with a bad
    optional field (a time, a missing media file) is stored without it, with a warning. Files an
    export names outside its own folder are never read: the reference goes to quarantine.

    Exit status: 0 when the run stored (or had already stored) something; 1 when it stored
    nothing and quarantined something, or the input is an empty file, or, with --strict,
    anything was quarantined or dropped; 2 for a usage error (no such file, unknown format).
    """
    from redline.ingest.run import EmptyInput

    if not path.exists():
        raise UsageProblem(f"{path}: no such file or directory")
    columns = CsvColumns(text_column, id_column, time_column, time_format, account_column)
    try:
        summary = _run_ingest(path, source, format, columns)
    except EmptyInput as error:
        err.print(f"redline: error: {escape(printable(str(error)))}", soft_wrap=True)
        raise typer.Exit(1) from None
    failed = summary.failed(strict)
    queued = _queue(summary.item_ids)
    if as_json:
        data = summary.as_dict()
        data["queued"] = queued
        data["duplicates_seen"] = [str(p) for p in summary.duplicate_examples]
        _print_json(data)
        if failed:
            raise typer.Exit(1)
        return
    _print_ingest_summary(path, source, summary, verbose)
    if queued:
        out.print(f"Sent {queued:,} stored items to the workers to hash, match and score.")
    if failed:
        refused = summary.quarantined + summary.already_quarantined + summary.media_refused
        why = (
            f"--strict, and {refused:,} quarantined, {summary.warned:,} stored with warnings"
            if strict
            else f"nothing was stored and {refused:,} quarantined"
        )
        err.print(f"redline: ingest failed: {why}")
        raise typer.Exit(1)


def _queue(item_ids: list[int]) -> int:
    """With a broker, send the stored items to the workers (as the items API does); without one,
    nothing: ``redline scan`` processes them, in one process, when it is run."""
    from redline.tasks.work import submit

    settings = get_settings()
    if not settings.broker_url or not item_ids:
        return 0
    return submit(settings, item_ids).items


def _run_ingest(path: Path, source: str, format: str, columns: CsvColumns) -> IngestSummary:
    """The ingest run behind a progress bar on the terminal."""
    from redline.ingest.run import ingest as run_ingest
    from redline.ingest.run import input_size
    from redline.store.audit import cli_actor

    with _store() as (settings, engine):
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        with progress:
            task = progress.add_task(f"ingest {path.name}", total=input_size(path), records=0)
            return run_ingest(
                path,
                source,
                engine=engine,
                settings=settings,
                actor=cli_actor(),
                format_name=format,
                columns=columns,
                on_bytes=lambda n: progress.advance(task, n),
                on_records=lambda n: progress.update(
                    task, records=progress.tasks[task].fields["records"] + n
                ),
            )


def _print_ingest_summary(path: Path, source: str, summary: IngestSummary, verbose: bool) -> None:
    out.print(
        f"Ingested [bold]{escape(printable(str(path)))}[/] into source "
        f"[bold]{escape(printable(source))}[/] as {summary.format}"
    )
    out.print(
        f"  {summary.records:,} records: {summary.stored:,} stored"
        f" ({summary.revisions:,} as new revisions), {summary.duplicates:,} duplicates,"
        f" {summary.quarantined + summary.already_quarantined:,} quarantined"
        + (f" ({summary.already_quarantined:,} already)" if summary.already_quarantined else "")
        + (f", {summary.skipped:,} skipped (not content)" if summary.skipped else "")
        + (f", {summary.media_refused:,} media files refused" if summary.media_refused else "")
        + (f", {summary.warned:,} stored with warnings" if summary.warned else "")
    )
    out.print(f"  {summary.elapsed:.2f} s, {summary.rate:,.0f} records/s")
    limit = None if verbose else 10
    if summary.problems:
        out.print("[bold red]Quarantined:[/]")
        for problem in summary.problems[:limit]:
            out.print(f"  {escape(printable(str(problem)))}")
        shown = len(summary.problems[:limit])
        hidden = summary.quarantined + summary.already_quarantined + summary.media_refused - shown
        if hidden > 0:
            out.print(f"  ... and {hidden:,} more: see `redline quarantine list`")
    if summary.warnings:
        out.print("[bold yellow]Stored with warnings:[/]")
        for problem in summary.warnings[:limit]:
            out.print(f"  {escape(printable(str(problem)))}")
        hidden = summary.warned - len(summary.warnings[:limit])
        if hidden > 0:
            out.print(f"  ... and {hidden:,} more (in each item's ingest_warnings)")
    if verbose and summary.duplicate_examples:
        out.print("[bold]Duplicates:[/]")
        for problem in summary.duplicate_examples:
            out.print(f"  {escape(printable(str(problem)))}")
