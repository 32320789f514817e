"""Alembic environment: runs migrations on the connection that redline.store.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from redline.model import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `redline db upgrade`, not the alembic command")
run_migrations(connection)
