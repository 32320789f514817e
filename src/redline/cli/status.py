"""The ``redline status`` command: what the store holds."""

from __future__ import annotations

from collections.abc import Mapping

from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _safe_url, _store, out
from redline.cli.root import app

# The human-readable lines, in the order shown, with what each is called: every count of the
# --json output (the per-source table follows).
_LINES = {
    "sources": "sources",
    "items": "items",
    "revisions": "revisions",
    "texts": "texts",
    "reposted_texts": "reposted texts",
    "media": "media",
    "signals": "signals",
    "quarantined": "quarantined",
    "banks": "banks",
    "bank_entries": "bank entries",
    "matches": "matches",
    "scores": "texts scored",
    "flagged": "flagged texts",
    "outlinks": "outlinks",
    "cases_open": "cases open",
    "audit_events": "audit events",
}


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
    for key, label in _LINES.items():
        out.print(f"  {label:<15} {totals[key]:>12,}")
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
