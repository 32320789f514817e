"""The schema: migrations build what the models describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from redline.model import AuditEvent, Base
from redline.store import SchemaOutOfDate, ensure_schema, make_engine
from redline.store.migrate import SCHEMA_REVISION, _config, current_revision

UNCHAINED = {"prev_sha256": "0" * 64, "sha256": "0" * 64}


def test_schema_revision_constant_is_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(_config()).get_current_head() == SCHEMA_REVISION


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        alembic_says = context.get_current_revision()
    assert differences == []
    # redline reads Alembic's version table itself (not importing Alembic at start-up).
    assert current_revision(engine) == alembic_says == SCHEMA_REVISION
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'r.db'}")
    ensure_schema(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_timestamps_come_back_as_the_same_utc_instant(engine: Engine) -> None:
    local = datetime(2024, 3, 31, 2, 30, tzinfo=timezone(timedelta(hours=2)))
    with Session(engine) as session:
        # Written directly, not through the chain: only the timestamp matters here.
        session.add(AuditEvent(actor="t", action="check", at=local, **UNCHAINED))
        session.commit()
        stored = session.scalars(select(AuditEvent.at)).one()
    assert stored == local and stored.tzinfo == UTC


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(Exception, match="naive datetime"):
        session.add(AuditEvent(actor="t", action="check", at=datetime(2024, 1, 1), **UNCHAINED))
        session.commit()


def test_an_outdated_or_foreign_database_is_refused(tmp_path: Path) -> None:
    foreign = make_engine(f"sqlite:///{tmp_path / 'foreign.db'}")
    assert current_revision(foreign) is None
    with foreign.begin() as connection:
        connection.execute(text("CREATE TABLE something_else (x INTEGER)"))
    with pytest.raises(SchemaOutOfDate, match="no redline schema revision"):
        ensure_schema(foreign)
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    ensure_schema(old)
    with old.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    assert current_revision(old) == "0000"
    with pytest.raises(SchemaOutOfDate, match="run `redline db upgrade`"):
        ensure_schema(old)
