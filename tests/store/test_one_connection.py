"""OneConnection: a worker's stage call on one connection keeps an Engine's transactions, so
what a stage commits is what it committed before (each write block on its own; a failed block
undone alone), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, event, select

from redline.model import Source
from redline.model.base import utcnow
from redline.store.engine import OneConnection


def names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(Source.name)))


def add(connection: Connection, name: str) -> None:
    connection.execute(Source.__table__.insert().values(name=name, created_at=utcnow()))


def test_each_write_block_commits_and_a_failed_one_is_undone_alone(engine: Engine) -> None:
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *_: checkouts.append(1))
    with engine.connect() as connection:
        database = OneConnection(connection)
        with database.begin() as writing:
            add(writing, "first")
        # Committed, not merely flushed: another connection sees it while this one is held.
        assert names(engine) == {"first"}
        with pytest.raises(RuntimeError), database.begin() as writing:
            add(writing, "undone")
            raise RuntimeError("a stage fails half-way")
        with database.connect() as reading:
            assert set(reading.scalars(select(Source.name))) == {"first"}
            # A write block inside a read block (a stage reads, then writes) commits on its own.
            with database.begin() as writing:
                add(writing, "second")
        assert not connection.in_transaction()  # nothing held between blocks
        with database.begin() as writing:
            add(writing, "third")
            with database.connect() as inner, database.begin() as nested:
                # Inside a write block, blocks are part of its transaction.
                assert inner is nested is writing
                add(nested, "fourth")
    assert names(engine) == {"first", "second", "third", "fourth"}
    # The blocks used the one connection (the two reads of ``names`` took their own).
    assert len(checkouts) == 3


def test_a_failure_inside_a_nested_block_undoes_the_whole_write_block(engine: Engine) -> None:
    with engine.connect() as connection:
        database = OneConnection(connection)
        with pytest.raises(RuntimeError), database.begin() as writing:
            add(writing, "outer")
            with database.begin() as nested:
                add(nested, "inner")
                raise RuntimeError("the inner write fails")
    assert names(engine) == set()
