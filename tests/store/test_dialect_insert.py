"""``dialect_insert``: the one INSERT with ON CONFLICT that every store module uses, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import Engine, select

from redline.model import Counter
from redline.store.engine import dialect_insert


def test_on_conflict_does_nothing_or_updates_on_both_databases(engine: Engine) -> None:
    table = Counter.__table__
    with engine.begin() as connection:
        for value in (1, 2):
            connection.execute(
                dialect_insert(connection, table)
                .values(name="test", value=value)
                .on_conflict_do_nothing()
            )
        kept = connection.scalar(select(Counter.value).where(Counter.name == "test"))
        raised = connection.execute(
            dialect_insert(connection, Counter)
            .values(name="test", value=0)
            .on_conflict_do_update(index_elements=["name"], set_={"value": table.c.value + 10})
            .returning(table.c.value)
        ).scalar_one()
    assert (kept, raised) == (1, 11)
