"""``redline service`` and ``redline referral``: referrals to hosting services."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, out
from redline.ingest.records import UsageProblem

service_app = typer.Typer(
    help="The registry of hosting services referrals go to.", no_args_is_help=True
)
referral_app = typer.Typer(
    help="Referrals of confirmed content to hosting services.", no_args_is_help=True
)


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
