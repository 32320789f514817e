"""A lead settling a flood hold (``pipeline/protect.py`` holds an entry that matched more
distinct media files or texts than its bank's flood limit allows): release it, and the cases its
kept matches would have opened open now; or disable it (``manage.disable_entry``), and its
matches stay kept and open nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from redline.banks.manage import UnknownEntry
from redline.errors import Conflict
from redline.model import BankEntry
from redline.pipeline.known import Routed, route_entry
from redline.pipeline.protect import HeldEntry, held_entries
from redline.store.audit import record_event

__all__ = ["HeldEntry", "held_entries", "release_entry"]


def release_entry(connection: Connection, entry_id: int, *, actor: str, now: datetime) -> Routed:
    """Release a held entry: its matches route as new ones would (screened again: a veto or an
    untrusted exchange still stops them), and its flood count starts again now; audited.
    UnknownEntry when there is no such entry, Conflict when it is not held."""
    # The row lock a matching worker takes before it counts: release and hold never interleave.
    row = connection.execute(
        select(BankEntry.id, BankEntry.held_at, BankEntry.enabled)
        .where(BankEntry.id == entry_id)
        .with_for_update(key_share=True)
    ).first()
    if row is None:
        raise UnknownEntry(f"no bank entry {entry_id}")
    if row.held_at is None:
        raise Conflict(f"bank entry {entry_id} is not held")
    connection.execute(
        update(BankEntry).where(BankEntry.id == entry_id).values(held_at=None, released_at=now)
    )
    routed = route_entry(connection, entry_id, now)
    record_event(
        connection,
        actor,
        "bank_entry.release",
        "bank_entry",
        str(entry_id),
        before={"held": True, "held_at": row.held_at.isoformat()},
        after={"held": False},
        detail={"cases_opened": routed.opened, "cases_raised": routed.raised},
    )
    return routed
