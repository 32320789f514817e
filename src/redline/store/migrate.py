"""Schema migrations (Alembic), run from redline itself: ``redline db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, column, inspect, select, table

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Where Alembic records the revision a database is at (its default table, one row).
VERSION_TABLE = "alembic_version"

# The revision this code expects. tests/store/test_schema.py checks it is Alembic's head, so
# start-up can compare one string instead of loading every migration script.
SCHEMA_REVISION = "0019"


class SchemaOutOfDate(RuntimeError):
    """The database is at an older (or unknown) schema revision than this code needs."""


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


class BrokenReferences(RuntimeError):
    """After a migration on SQLite, rows refer to rows that are not there."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest).

    On SQLite, a migration that changes a table more than ALTER TABLE can rebuilds it (Alembic's
    batch mode: a copy, the old one dropped, the copy renamed). With foreign keys enforced, as
    redline's connections have them, dropping a table first deletes its rows, which fails when
    another table refers to them (a complaint to its decision) or, where the reference cascades,
    deletes those rows too. So the checks are off while migrating, as SQLite's own procedure for
    such changes says, and every reference is checked before the migration is committed.
    """
    from alembic import command

    config = _config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Outside any transaction: SQLite ignores the pragma inside one.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if sqlite:
                    # Python's sqlite3 opens a transaction only before a data change, so a
                    # migration's first CREATE or DROP would commit on its own: one failing
                    # half-way would leave the schema half-changed. SQLite's DDL is
                    # transactional once a transaction is open.
                    connection.exec_driver_sql("BEGIN")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        tables = sorted({str(row[0]) for row in broken})
                        raise BrokenReferences(
                            f"the migration left {len(broken)} rows referring to missing rows"
                            f" (in {', '.join(tables)}); nothing was committed"
                        )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for a database redline never touched.

    Read from Alembic's version table directly: every command, server and worker checks it at
    start-up, and importing Alembic to read one row cost each of them 80 ms.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        version = table(VERSION_TABLE, column("version_num"))
        revisions = list(connection.scalars(select(version.c.version_num)))
    if len(revisions) > 1:  # Alembic's branches, which redline's migrations never make
        raise SchemaOutOfDate(f"the database is at several schema revisions: {revisions}")
    return str(revisions[0]) if revisions else None


def ensure_schema(engine: Engine) -> bool:
    """Create the schema in an empty database; refuse to run against an outdated one.

    Returns True when the schema was just created. An existing database is never upgraded behind
    the user's back: that is ``redline db upgrade``'s job, run deliberately (and backed up first).
    """
    revision = current_revision(engine)
    if revision == SCHEMA_REVISION:
        return False
    if revision is None:
        if inspect(engine).get_table_names():
            raise SchemaOutOfDate(
                "the database has tables but no redline schema revision; "
                "point REDLINE_DATABASE_URL at an empty database or a redline one"
            )
        upgrade(engine)
        return True
    raise SchemaOutOfDate(
        f"the database schema is at revision {revision}, this redline needs {SCHEMA_REVISION}: "
        "run `redline db upgrade`"
    )
