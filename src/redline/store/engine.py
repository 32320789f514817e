"""Engines and sessions: the one place redline connects to its database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Table,
    Text,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker

# Both dialects' INSERT: the same ON CONFLICT methods, with the same arguments redline uses.
Insert: TypeAlias = postgresql.Insert | sqlite.Insert


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers (status, the web console) run while an ingest writes; NORMAL sync is
    # durable against a killed process (only a power cut can lose the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (the default is 2 MiB): hash-keyed indexes take inserts in random
    # order, and a small cache turns each one into disk reads once the store outgrows it.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``, with SQLite set up for concurrent readers and one writer."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No server-side prepared statements: psycopg prepares a query after five runs, and
    # PostgreSQL's generic plan, fixed while a table is still unanalysed, stays bad as the table
    # grows during an ingest (measured: ingest look-ups 600 ms each instead of 10 ms).
    return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})


class Database(Protocol):
    """What the scan's stages ask of the database: a connection to read on (``connect``) and a
    transaction to write in (``begin``). An Engine, or ``OneConnection``."""

    def connect(self) -> AbstractContextManager[Connection]: ...

    def begin(self) -> AbstractContextManager[Connection]: ...

    @property
    def dialect(self) -> Dialect: ...


class OneConnection:
    """A Database on one connection: the stages of a worker's task ask for a connection a dozen
    times a call, and on PostgreSQL each pool check-out costs a ping and each return a rollback
    (measured: most of a text chunk's fixed cost). Blocks behave as an Engine's: a ``connect``
    block ends its (read) transaction as closing the connection would, a ``begin`` block commits
    or rolls back on its own; a block opened inside a ``begin`` block is part of its transaction
    (an Engine would give it a second connection, which the stages never need)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._writing = False
        self._reading = False

    @property
    def dialect(self) -> Dialect:
        """The connection's dialect, as an Engine's."""
        return self.connection.dialect

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """The connection; what was read in the block is not held (its transaction ends)."""
        if self._writing or self._reading:
            yield self.connection
            return
        self._reading = True
        try:
            yield self.connection
        finally:
            self._reading = False
            if self.connection.in_transaction():
                self.connection.rollback()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """The connection in a transaction of its own, committed at the end of the block."""
        if self._writing:
            yield self.connection
            return
        if self.connection.in_transaction():  # a read block's, around this one: reads only
            self.connection.rollback()
        self._writing = True
        try:
            with self.connection.begin():
                yield self.connection
        finally:
            self._writing = False


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the CLI prints them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)


def dialect_insert(connection: Connection, table: Table | type[Any]) -> Insert:
    """An INSERT into ``table`` (a Table or a mapped class) in the connection's own dialect, the
    one that has ``on_conflict_do_nothing`` and ``on_conflict_do_update``: SQLite's and
    PostgreSQL's spell ON CONFLICT alike, SQLAlchemy's generic ``insert`` has neither."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def one_of(
    column: Any, values: Sequence[int] | Sequence[str], dialect: Dialect
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter: an IN list is
    a parameter per value, rendered into the statement at each run (SQLAlchemy's "expanding"
    parameters) and parsed again by the server (measured on 500 item ids: 4.7 ms a query
    against 0.9)."""
    items = list(values)
    if dialect.name != "postgresql" or not items:  # none: no array to take a type from
        return column.in_(items)  # type: ignore[no-any-return]
    element = Text if isinstance(items[0], str) else BigInteger
    return column == any_(bindparam(None, items, type_=postgresql.ARRAY(element)))  # type: ignore[no-any-return]
