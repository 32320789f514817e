"""The ``redline status`` command: what the store holds."""

from __future__ import annotations

from collections.abc import Mapping

from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _safe_url, _store, out
from redline.cli.root import app


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show what the store holds: counts per table and per source."""
    from redline.store.status import store_status

    with _store() as (settings, engine):
        found = store_status(engine)
        database = _safe_url(settings.database_url)
    if as_json:
        _print_json({**found, "database": database})
        return
    totals: Mapping[str, object] = found  # read by the names listed below
    out.print(f"Database {database} (schema {found['schema_revision']})")
    for key in (
        "sources",
        "items",
        "revisions",
        "texts",
        "reposted_texts",
        "media",
        "signals",
        "quarantined",
        "banks",
        "bank_entries",
        "matches",
        "cases_open",
        "audit_events",
    ):
        out.print(f"  {key.replace('_', ' '):<15} {totals[key]:>12,}")
    if found["per_source"]:
        table = Table(
            "source", "items", "revisions", "media", "quarantined", "first post", "last post"
        )
        for name, counts in found["per_source"].items():
            table.add_row(
                escape(name),
                f"{counts['items']:,}",
                f"{counts['revisions']:,}",
                f"{counts['media']:,}",
                f"{counts['quarantined']:,}",
                (counts["first_posted"] or "")[:10],
                (counts["last_posted"] or "")[:10],
            )
        out.print(table)
