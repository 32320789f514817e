"""``redline bank``: hash banks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.ingest.records import UsageProblem

bank_app = typer.Typer(
    help="Manage hash banks: lists of known content's hashes.", no_args_is_help=True
)


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
    extras = [
        f"pdq<={info.pdq_threshold}",
        f"text>={info.text_threshold:g}",
        f"excerpt>={info.containment_threshold:g}",
    ]
    if info.dihedral:
        extras.append("dihedral")
    if info.negative:
        extras.append("negative: vetoes other banks' matches")
    elif not info.confirmed:
        extras.append("unconfirmed")
    if info.flood_items:
        extras.append(f"held past {info.flood_items} files or texts in {info.flood_minutes} min")
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
    negative: Annotated[
        bool,
        typer.Option(
            help="Known benign content (logos, memes, blank images): a match to it vetoes the"
            " same file's or text's matches to every other bank."
        ),
    ] = False,
    flood_items: Annotated[
        int,
        typer.Option(
            min=0,
            max=1_000_000,
            help="Hold an entry that matches more distinct files or texts than this within"
            " --flood-minutes (0: never, the default; an exchange sets 50 on the bank it feeds).",
        ),
    ] = 0,
    flood_minutes: Annotated[int, typer.Option(min=1, max=10_080)] = 60,
    containment_threshold: Annotated[
        float,
        typer.Option(
            min=0.5,
            max=1.0,
            help="Text excerpt match: least share of the post that is banked text, or of the"
            " banked text in the post (at least 25 words).",
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
            negative=negative,
            flood_items=flood_items,
            flood_minutes=flood_minutes,
            containment_threshold=containment_threshold,
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
    from redline.store.media import media_store

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
            media_store(settings), list(files or []), max_bytes=settings.max_media_bytes
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


@bank_app.command("held")
def bank_held(as_json: JsonFlag = False) -> None:
    """List the entries flood quarantine holds: their matches are kept, no case opens from them
    until a lead releases them (`redline bank release`) or disables them."""
    from redline.banks.flood import held_entries

    with _store() as (_settings, engine), engine.connect() as connection:
        held = held_entries(connection)
    if as_json:
        _print_json(
            [
                {
                    "entry_id": h.entry_id,
                    "bank": h.bank,
                    "held_at": h.held_at.isoformat(),
                    "matches": h.matches,
                }
                for h in held
            ]
        )
        return
    if not held:
        out.print("No entry is held.")
    for h in held:
        out.print(
            f"entry {h.entry_id} of {escape(h.bank)}: held since {h.held_at:%Y-%m-%d %H:%M} UTC,"
            f" {h.matches:,} matches kept"
        )


@bank_app.command("release")
def bank_release(entry: Annotated[int, typer.Argument(help="A held entry's id.")]) -> None:
    """Release an entry flood quarantine holds: the cases its kept matches would have opened
    open now. (To stop it instead: `redline bank disable BANK --entry ID`.)"""
    from redline.banks.flood import release_entry
    from redline.errors import Conflict
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        try:
            routed = release_entry(connection, entry, actor=cli_actor(), now=utcnow())
        except Conflict as error:
            raise UsageProblem(str(error)) from None
    out.print(f"entry {entry} released: {routed.opened} cases opened, {routed.raised} raised")


@bank_app.command("set")
def bank_set(
    name: Annotated[str, typer.Argument(help="Bank.")],
    negative: Annotated[
        bool | None,
        typer.Option(
            "--negative/--not-negative",
            help="Known benign content whose matches veto other banks' (not with --confirmed).",
        ),
    ] = None,
    confirmed: Annotated[bool | None, typer.Option("--confirmed/--unconfirmed")] = None,
    flood_items: Annotated[int | None, typer.Option(min=0, max=1_000_000)] = None,
    flood_minutes: Annotated[int | None, typer.Option(min=1, max=10_080)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change what a bank holds (negative, confirmed) and its flood limit."""
    from redline.banks import update_bank
    from redline.errors import Invalid
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    given = {
        "negative": negative,
        "confirmed": confirmed,
        "flood_items": flood_items,
        "flood_minutes": flood_minutes,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise UsageProblem("nothing to change: give at least one option")
    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        try:
            info = update_bank(connection, name, changes, actor=cli_actor(), now=utcnow())
        except Invalid as error:
            raise UsageProblem(str(error)) from None
    if as_json:
        _print_json(info.as_dict())
    else:
        _print_bank(info)
