"""The root ``redline`` command: its help and ``--version``."""

from __future__ import annotations

from typing import Annotated

import typer

from redline import __version__
from redline.cli.common import out

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
