"""Named counters that only go up: how stages know whether what they computed is current."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from redline.model import Counter
from redline.store.engine import dialect_insert

BANKS = "banks"  # moves on every change to any bank or its entries


def bump(connection: Connection, name: str) -> int:
    """Add one to the counter (creating it at 1) inside the caller's transaction."""
    connection.execute(
        dialect_insert(connection, Counter.__table__)
        .values(name=name, value=0)
        .on_conflict_do_nothing()
    )
    connection.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
    return current(connection, name)


def current(connection: Connection, name: str) -> int:
    """The counter's value; 0 when it was never bumped."""
    return int(connection.scalar(select(Counter.value).where(Counter.name == name)) or 0)
