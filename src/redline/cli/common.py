"""What every ``redline`` command shares: its consoles, its store, its failures."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from redline.config import Settings, get_settings
from redline.ingest.records import UsageProblem
from redline.store import ensure_schema, make_engine
from redline.terminal import printable

# Piped output gets room for whole tables instead of rich's 80-column guess.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


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
    from redline.store.sealing import check_key

    with _database() as (settings, engine):
        if ensure_schema(engine):
            err.print(f"Created a new redline database at {_safe_url(settings.database_url)}")
        with engine.connect() as connection:
            check_key(connection)  # a process without the secrets' key stops here, saying so
        yield settings, engine


def _print_json(data: Any) -> None:
    out.out(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _fail(message: str, code: int) -> None:
    err.print(f"redline: {escape(printable(message))}", soft_wrap=True)
    raise SystemExit(code)


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
