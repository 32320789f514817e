"""``redline db``: the database schema."""

from __future__ import annotations

import typer

from redline.cli.common import _database, _safe_url, out
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
