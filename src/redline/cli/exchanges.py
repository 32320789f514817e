"""``redline exchange``: hash lists shared between organisations, fetched into banks; and this
instance's key for the bank feeds it publishes to other redline instances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.ingest.records import UsageProblem

exchange_app = typer.Typer(
    help="Exchanges: hash lists other organisations share, fetched into banks.",
    no_args_is_help=True,
)


@contextmanager
def _as_usage_errors() -> Iterator[None]:
    """No such bank or exchange, a name taken, bad settings: the user's to fix, exit code 2."""
    from redline.errors import Conflict, Invalid, NotFound

    try:
        yield
    except (NotFound, Conflict, Invalid) as error:
        raise UsageProblem(str(error)) from None


@exchange_app.command("key")
def key() -> None:
    """Make this instance's feed signing key (once; kept in the data dir, owner-only) and print
    its public key, which subscribers give to `redline exchange add --public-key`."""
    from redline.exchanges import signing

    with _store() as (settings, _engine):
        made, new = signing.create_key(settings.data_dir)
    if new:
        err.print(f"Made the feed signing key {signing.key_path(settings.data_dir)}")
    out.print(signing.public_text(made))


@exchange_app.command(
    "add",
    epilog="Example: redline exchange add partner-tvec --bank shared --type redline "
    "--url https://redline.partner.example/api/v1/feeds/tvec --token rl_... "
    "--public-key ed25519:...",
)
def add(
    name: Annotated[str, typer.Argument(help="A name for the exchange: letters, digits, _ . -")],
    bank: Annotated[str, typer.Option(help="The bank its entries go into (must exist).")],
    url: Annotated[str, typer.Option(help="The publisher's feed URL.")],
    token: Annotated[str, typer.Option(help="The publisher's API token for it.")],
    public_key: Annotated[
        str, typer.Option(help="The publisher's public key (ed25519:...), to check signatures.")
    ],
    kind: Annotated[
        str, typer.Option("--type", help="Which exchange: redline (another redline's feed).")
    ] = "redline",
    allow_private: Annotated[
        bool, typer.Option(help="The publisher is on a private network address.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Subscribe a bank to an exchange; nothing is fetched until `redline exchange fetch` or the
    scheduler's next round."""
    from redline.exchanges.run import add_exchange
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    settings: dict[str, Any] = {"url": url, "token": token, "public_key": public_key}
    if allow_private:
        settings["allow_private"] = True
    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        info = add_exchange(connection, name, bank, kind, settings, actor=cli_actor(), now=utcnow())
    if as_json:
        _print_json(info.as_dict())
    else:
        out.print(f"Exchange {escape(info.name)} ({info.kind}) fills bank {escape(info.bank)}")


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "never"


@exchange_app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every exchange with its bank, last fetch and last error (never its token)."""
    from redline.exchanges.run import list_exchanges

    with _store() as (_settings, engine), engine.connect() as connection:
        found = list_exchanges(connection)
    if as_json:
        _print_json([e.as_dict() for e in found])
        return
    table = Table("name", "type", "bank", "fetched", "added", "relabelled", "removed", "error")
    for e in found:
        table.add_row(
            escape(e.name),
            e.kind,
            escape(e.bank),
            _when(e.fetched_at),
            str(e.added),
            str(e.relabelled),
            str(e.removed),
            escape(e.last_error or ""),
        )
    out.print(table)


@exchange_app.command("status")
def status(
    name: Annotated[str, typer.Argument(help="The exchange (see exchange list).")],
    as_json: JsonFlag = False,
) -> None:
    """One exchange: its settings (the token hidden), checkpoint, fetches and last error."""
    from redline.exchanges.run import get_exchange

    with _store() as (_settings, engine), _as_usage_errors(), engine.connect() as connection:
        info = get_exchange(connection, name)
    if as_json:
        _print_json(info.as_dict())
        return
    for label, value in info.as_dict().items():
        out.print(f"{label:<11} {escape(str(value))}")


@exchange_app.command("fetch")
def fetch(
    name: Annotated[
        str | None, typer.Argument(help="The exchange; every enabled one when left out.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch what changed since the last fetch and store it; exit code 1 when a fetch was
    refused (its reason is recorded as the exchange's last error, and nothing of it stored)."""
    from redline.exchanges import run
    from redline.model.base import utcnow

    with _store() as (_settings, engine):
        if name is None:
            done = run.fetch_all(engine, utcnow())
        else:
            with _as_usage_errors(), engine.begin() as connection:
                done = [run.fetch(connection, name, utcnow())]
    if as_json:
        _print_json([d.as_dict() for d in done])
    for d in done:
        for problem in d.problems:
            err.print(f"{escape(d.exchange)}: quarantined {escape(problem)}")
        if d.error is not None:
            err.print(f"{escape(d.exchange)}: refused, nothing stored: {escape(d.error)}")
        elif not as_json:
            out.print(
                f"{escape(d.exchange)}: added {d.added}, relabelled {d.relabelled}, removed "
                f"{d.removed}, quarantined {d.quarantined} (checkpoint {d.checkpoint})"
            )
    if any(d.error is not None for d in done):
        raise typer.Exit(1)


@exchange_app.command("trust")
def trust(
    name: Annotated[str, typer.Argument(help="The exchange.")],
    trusted: Annotated[
        bool | None,
        typer.Option(
            "--trusted/--untrusted",
            help="An untrusted exchange's entries never open a case on their own: their"
            " matches are kept and shown beside cases other signals open.",
        ),
    ] = None,
    pdq_threshold: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=63,
            help="Its entries match a PDQ hash only this close (tighter than the bank's).",
        ),
    ] = None,
    bank_threshold: Annotated[
        bool, typer.Option("--bank-threshold", help="Drop its own PDQ threshold.")
    ] = False,
) -> None:
    """Set how far an exchange's entries are trusted: trusted or not, and its own PDQ
    threshold."""
    from redline.exchanges import run
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    threshold: int | run.Unset | None = run.UNSET
    if bank_threshold:
        threshold = None
    elif pdq_threshold is not None:
        threshold = pdq_threshold
    with _store() as (_settings, engine), _as_usage_errors(), engine.begin() as connection:
        run.set_trust(
            connection,
            name,
            trusted=trusted,
            pdq_threshold=threshold,
            actor=cli_actor(),
            now=utcnow(),
        )
        info = run.get_exchange(connection, name)
    limit = "the bank's" if info.pdq_threshold is None else str(info.pdq_threshold)
    out.print(
        f"exchange {escape(name)}: {'trusted' if info.trusted else 'untrusted'},"
        f" PDQ threshold {limit}"
    )
