"""``redline db``: the database schema."""

from __future__ import annotations

import typer

from redline.cli.common import _database, _fail, _print_json, _safe_url, out
from redline.store import migrate

db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


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


@db_app.command("seal-secrets")
def db_seal_secrets(
    json_out: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Seal the webhook signing secrets and exchange settings (tokens, passwords) stored before
    REDLINE_SECRET_KEY was set; those written after it are sealed already. Run it once after
    setting the key (the same key on every web and worker process). Running it again seals
    nothing more. To replace the key: the new one in REDLINE_SECRET_KEY, the old one in
    REDLINE_SECRET_KEY_PREVIOUS on every process, then this command seals everything again
    with the new one, and the old one can go.

    Exit status: 0 when done; 2 when REDLINE_SECRET_KEY is not set."""
    from redline.store.sealing import seal_stored

    with _database() as (settings, engine):
        if settings.secret_key is None:
            _fail("REDLINE_SECRET_KEY is not set: there is nothing to seal with", 2)
        migrate.ensure_schema(engine)
        with engine.begin() as connection:
            done = seal_stored(connection)
    if json_out:
        _print_json(done.as_dict())
        return
    out.print(
        f"sealed {done.webhook_secrets} webhook secrets and {done.exchange_settings} exchanges'"
        f" settings ({done.already_sealed} sealed already)"
    )
