"""``redline formats`` and ``redline config``: what redline reads and how it is set up."""

from __future__ import annotations

from redline.cli.common import JsonFlag, _print_json, _safe_url, out
from redline.cli.root import app
from redline.config import Settings, get_settings


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
