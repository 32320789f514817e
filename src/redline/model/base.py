"""Declarative base and the column types every table shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key for scale.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# JSONB on PostgreSQL (indexable), JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as timezone-aware UTC.

    SQLite has no timezone type; without this a naive value would come back and comparisons with
    aware values would fail or, worse, silently shift by the server's offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: redline stores UTC-aware timestamps only")
        value = value.astimezone(UTC)
        # SQLite keeps the text as given; dropping the offset keeps its ordering lexicographic.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class clock_hour(FunctionElement[str]):  # noqa: N801 (a SQL function, named as one)
    """The UTC clock hour a ``UTCDateTime`` column falls in, as a value the database can group
    and count by (distinct hours of work, without reading every timestamp into Python)."""

    type = String()
    inherit_cache = True


@compiles(clock_hour, "sqlite")
def _clock_hour_sqlite(element: clock_hour, compiler: Any, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC (see UTCDateTime): the hour is its prefix.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


@compiles(clock_hour)
def _clock_hour_default(element: clock_hour, compiler: Any, **kw: Any) -> str:
    # In UTC whatever the session's time zone (a half-hour zone would shift the hours).
    return f"date_trunc('hour', ({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC')"


class elapsed_hours(FunctionElement[float]):  # noqa: N801 (a SQL function, named as one)
    """Hours from one ``UTCDateTime`` column to another, computed by the database: a report
    over ten thousand decided cases reads ten thousand numbers, not twenty thousand timestamps
    parsed in Python."""

    type = Float()
    inherit_cache = True


@compiles(elapsed_hours, "sqlite")
def _elapsed_hours_sqlite(element: elapsed_hours, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


@compiles(elapsed_hours)
def _elapsed_hours_default(element: elapsed_hours, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 3600.0)"


# How far the clock of this context is set back (None: the real time). Only the demo sets it,
# to play a past week through the same functions production runs (see ``clock_from``).
_set_back: ContextVar[timedelta | None] = ContextVar("redline_clock_set_back", default=None)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (set back inside ``clock_from``)."""
    now = datetime.now(UTC)
    back = _set_back.get()
    return now if back is None else now - back


@contextmanager
def clock_from(moment: datetime) -> Iterator[None]:
    """Inside, ``utcnow()`` starts at ``moment`` and runs at real speed.

    The demo plays a week of work that ended now: ingest, scan, decisions and actions stamp their
    rows and audit events with ``utcnow()`` deep inside, and a week that reads as one (a case
    opened before it is decided, an audit event at the time of its step) needs them all to agree.
    A context variable, so only the code running inside sees the week's time.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the clock runs in UTC")
    token = _set_back.set(datetime.now(UTC) - moment)
    try:
        yield
    finally:
        _set_back.reset(token)


class Base(DeclarativeBase):
    """Base class of every redline table."""

    # Every model here maps one Table; saying so lets Core code use Model.__table__ typed.
    __table__: ClassVar[Table]

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JsonDoc}
