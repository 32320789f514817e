"""``redline exchange``: hash lists shared between organisations, fetched into banks; and this
instance's key for the bank feeds it publishes to other redline instances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


@exchange_app.command("sign")
def sign(
    file: Annotated[
        Path, typer.Argument(help="A signed-list JSON file to publish.", dir_okay=False)
    ],
) -> None:
    """Sign a hash list file with this instance's key (`redline exchange key`), for subscribers
    of the signed-list kind: writes FILE.sig beside it. The file is checked first: a list that
    subscribers would refuse is not signed."""
    from redline.exchanges import signedlist, signing

    with _store() as (settings, _engine), _as_usage_errors():
        try:
            private = signing.load_key(settings.data_dir)
        except FileNotFoundError:
            raise UsageProblem("no signing key yet: run `redline exchange key` first") from None
        try:
            body = file.read_bytes()
        except OSError as error:
            raise UsageProblem(f"{file}: {error.strerror or error}") from None
        problem = signedlist.problem(body)
        if problem is not None:
            raise UsageProblem(f"{file}: {problem}")
        signature = file.with_name(file.name + signedlist.SIGNATURE_SUFFIX)
        signature.write_text(signing.sign(private, body) + "\n", encoding="ascii")
    err.print(f"Signed {file} -> {signature}")


@exchange_app.command(
    "add",
    epilog="Examples: redline exchange add partner-tvec --bank shared --kind redline "
    "--url https://redline.partner.example/api/v1/feeds/tvec --token rl_... "
    "--public-key ed25519:... · redline exchange add te-tvec --bank te --kind threatexchange "
    "--privacy-group 1234567890 --token 'APP_ID|SECRET' · redline exchange add tat --bank tat "
    "--kind tat --username me@example.org --password ... (or --path /srv/lists/tat.json)",
)
def add(
    name: Annotated[str, typer.Argument(help="A name for the exchange: letters, digits, _ . -")],
    bank: Annotated[str, typer.Option(help="The bank its entries go into (must exist).")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            "--type",
            help="Which exchange: redline (another redline's feed), threatexchange (a "
            "ThreatExchange privacy group), tat (Tech Against Terrorism's hash list), "
            "signed-list (a hash list file signed with its publisher's key).",
        ),
    ] = "redline",
    url: Annotated[
        str | None,
        typer.Option(help="redline: the publisher's feed URL; signed-list: the list's URL."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="REDLINE_EXCHANGE_TOKEN",
            help="redline: the publisher's API token; threatexchange: the app's access token "
            "(APP_ID|SECRET).",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="redline, signed-list: the publisher's public key (ed25519:...)."),
    ] = None,
    privacy_group: Annotated[
        str | None, typer.Option(help="threatexchange: the privacy group's id.")
    ] = None,
    graph_url: Annotated[
        str | None,
        typer.Option(help="threatexchange: Graph API's base URL (default v21.0 at Facebook)."),
    ] = None,
    username: Annotated[str | None, typer.Option(help="tat: the hash list API's username.")] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="REDLINE_EXCHANGE_PASSWORD", help="tat: the API's password."),
    ] = None,
    api_url: Annotated[
        str | None, typer.Option(help="tat: the API's base URL (default TAT's).")
    ] = None,
    path: Annotated[
        str | None,
        typer.Option(help="tat, signed-list: a file of the hash list instead of a URL."),
    ] = None,
    allow_private: Annotated[
        bool, typer.Option(help="The source is on a private network address.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Subscribe a bank to an exchange; nothing is fetched until `redline exchange fetch` or the
    scheduler's next round. Each kind takes its own options (see the README's Exchanges)."""
    from redline.exchanges.run import add_exchange
    from redline.model.base import utcnow
    from redline.store.audit import cli_actor

    given = {
        "url": url,
        "token": token,
        "public_key": public_key,
        "privacy_group": privacy_group,
        "graph_url": graph_url,
        "username": username,
        "password": password,
        "api_url": api_url,
        "path": path,
    }
    settings: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
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
            for reason, count in d.skipped.items():
                out.print(f"{escape(d.exchange)}: skipped {count} of {escape(reason)}")
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
