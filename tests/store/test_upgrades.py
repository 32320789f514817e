"""`redline db upgrade` on a SQLite database that holds data: every row survives, from every
revision, and a migration that cannot finish leaves the database as it was.

SQLite rebuilds a table for most schema changes (Alembic's batch mode: copy, drop, rename). With
foreign keys enforced, dropping the old table first deletes its rows: a database at 0011 whose
decisions had a complaint could not be upgraded (FOREIGN KEY constraint failed), and a reference
that cascades would have lost its rows. Each test fills every table with a row whose references
all hold, the way a database in use has them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, text
from sqlalchemy.exc import IntegrityError

from redline.store import make_engine
from redline.store.migrate import (
    SCHEMA_REVISION,
    BrokenReferences,
    _config,
    current_revision,
    upgrade,
)

REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(_config()).walk_revisions()))
]
# Reflected, a column is a plain DATETIME: it takes the UTC time without its zone.
WHEN = datetime(2026, 3, 14, 9, 30)
SHA = "3f" * 32  # every SHA-256 key (media, texts) and what refers to it


def _value(table: Table, column: Any) -> Any:
    """A value of the column's type; 1 for every id, so every reference finds its row."""
    kind = type(column.type).__name__.lower()
    if column.foreign_keys or column.primary_key:
        return SHA if "char" in kind or "string" in kind or "text" in kind else 1
    if "int" in kind:
        return 1
    if "bool" in kind:
        return False
    if any(word in kind for word in ("float", "real", "numeric", "double", "decimal")):
        return 0.5
    if "date" in kind or "time" in kind:
        return WHEN
    if "json" in kind:
        return "{}"
    if "binary" in kind or "blob" in kind:
        return b"\x00"
    return SHA if "sha" in column.name else f"{table.name} {column.name}"


def filled(tmp_path: Path, revision: str) -> tuple[Engine, dict[str, int]]:
    """A SQLite database at ``revision`` with a row in every table (its required columns set,
    its references to the other tables' rows), and the rows each table holds."""
    engine = make_engine(f"sqlite:///{tmp_path / 'redline.db'}")
    upgrade(engine, revision)
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        for table in tables.sorted_tables:
            if table.name == "alembic_version":
                continue
            if connection.scalar(text(f'SELECT count(*) FROM "{table.name}"')):
                continue  # a row the migration wrote (the audit chain's head)
            row = {
                column.name: _value(table, column)
                for column in table.columns
                if column.primary_key or column.foreign_keys or not column.nullable
            }
            connection.execute(table.insert().values(row))
    return engine, rows(engine)


def rows(engine: Engine) -> dict[str, int]:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {
            name: int(connection.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0)
            for name in tables.tables
            if name != "alembic_version"
        }


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_an_upgrade_from_any_revision_keeps_every_row(tmp_path: Path, revision: str) -> None:
    engine, before = filled(tmp_path, revision)
    assert all(before.values()), before  # every table had a row to lose
    upgrade(engine)
    assert current_revision(engine) == SCHEMA_REVISION
    after = rows(engine)
    assert {name: after[name] for name in before} == before
    # References are enforced again on the connections the upgrade used.
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


def test_a_migration_that_leaves_broken_references_changes_nothing(tmp_path: Path) -> None:
    """A database written by a tool that did not enforce references (a complaint whose decision
    is gone) cannot be rebuilt with its references checked: the upgrade says so, and the
    database stays at its revision with every row, for the operator to repair."""
    old = "0011"
    engine, before = filled(tmp_path, old)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("UPDATE complaints SET decision_id = 99")
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    with pytest.raises(BrokenReferences, match="complaints"):
        upgrade(engine)
    assert current_revision(engine) == old
    assert rows(engine) == before
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError):
            connection.exec_driver_sql("UPDATE decisions SET case_id = 99")
    engine.dispose()
