"""``dialect_insert``: the one INSERT with ON CONFLICT that every store module uses, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from redline.model import Counter
from redline.store.engine import dialect_insert, one_of


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


def test_one_of_selects_the_rows_whose_value_is_listed_on_both_databases(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, Counter),
            [{"name": f"counter-{n}", "value": n} for n in range(1, 8)],
        )

    def names(column: Any, values: list[Any]) -> list[str]:
        with engine.connect() as connection:
            where = one_of(column, values, connection.dialect)
            return list(
                connection.scalars(select(Counter.name).where(where).order_by(Counter.name))
            )

    assert names(Counter.value, [2, 5, 5, 99]) == ["counter-2", "counter-5"]
    assert names(Counter.name, ["counter-7", "counter-1", "nothing"]) == ["counter-1", "counter-7"]
    assert names(Counter.value, []) == []
    assert names(Counter.name, []) == []
