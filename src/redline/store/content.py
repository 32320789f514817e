"""Writing ingested content: one transaction per batch, deduplicated, safe to repeat.

Every batch is written in a single transaction, and every table is keyed so that writing the same
content twice changes nothing. An ingest killed at any point and started again therefore ends
with each record stored exactly once: the batch in flight was rolled back and is written again,
the batches before it are found and skipped as duplicates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, Text, any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from redline.jsontext import storable_text
from redline.model import Item, ItemMedia, Media, Quarantine, Signal, Source
from redline.model.base import utcnow
from redline.store.audit import append_events
from redline.store.engine import dialect_insert

# The kind of a media row for a file the platform hashed itself and never sent: no bytes, no path;
# its signals are the hashes it sent. Keyed by the SHA-256 it sent, or by a hash of its hashes.
HASHES_ONLY = "hashes"
SUPPLIED = "supplied"  # in a signal's meta: the platform computed it, redline never saw the file
_LOOKUP_CHUNK = 500  # ids per IN (...) query on SQLite, well under its parameter limit


@dataclass(slots=True)
class NewSignal:
    """A signal to store on the item (or, in ``NewMedia.signals``, on the media file)."""

    signal_type: str
    value: str
    meta: dict[str, Any] | None
    quality: int | None = None


@dataclass(slots=True)
class NewMedia:
    """A stored media file and the name it had in the input.

    A file the platform hashed itself (``kind == HASHES_ONLY``) has no path and no size; the
    hashes it sent are its ``signals``.
    """

    sha256: str
    md5: str
    size: int
    kind: str
    mime: str | None
    width: int | None
    height: int | None
    path: str
    original_name: str
    signals: list[NewSignal] = field(default_factory=list)


@dataclass(slots=True)
class NewItem:
    """A validated record, hashed and ready to store."""

    external_id: str
    content_sha256: str
    text: str | None
    text_sha256: str | None
    account: str | None
    account_name: str | None
    posted_at: datetime | None
    url: str | None
    encoding: str | None
    file: str
    location: str
    extra: dict[str, Any] | None
    media: list[NewMedia] = field(default_factory=list)
    signals: list[NewSignal] = field(default_factory=list)


@dataclass(slots=True)
class NewQuarantine:
    """A rejected record for the quarantine table."""

    format: str
    file: str
    location: str
    reason: str
    raw: bytes
    raw_size: int


@dataclass(slots=True)
class BatchResult:
    """What one batch changed."""

    stored: int = 0
    revisions: int = 0
    # For each item of the batch, in order: (revision stored as, 0 for a duplicate; its id or None)
    outcomes: list[tuple[int, int | None]] = field(default_factory=list)
    # (item, (file, location) where its content was seen first)
    duplicates: list[tuple[NewItem, tuple[str, str]]] = field(default_factory=list)
    quarantined: int = 0
    # Per rejected row, in the order given: whether it was new (False: quarantined before).
    quarantined_new: list[bool] = field(default_factory=list)
    source_id: int = 0


@dataclass(frozen=True, slots=True)
class NamedSource:
    """A source by its name, created (and audited, by ``actor``) by the first batch written to
    it: the items API names its source in every request."""

    name: str
    format: str | None
    actor: str


# An audit event for a batch, made from what the batch changed: it commits with the batch.
BatchEvent = Callable[[BatchResult], dict[str, Any]]


def insert_ignoring_duplicates(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of ``rows`` (each with the same columns).

    On PostgreSQL one statement over arrays (``unnest``): an executemany is a statement per row
    on psycopg, each parsed and planned by the server (measured: most of the text stages' cost
    in PostgreSQL). Rows that leave out a column with a Python-side default (``created_at``'s
    ``utcnow``) go the executemany way, which fills it in."""
    if not rows:
        return
    names = list(rows[0])
    given = set(names)
    if connection.dialect.name != "postgresql" or any(
        column.default is not None and column.name not in given for column in table.columns
    ):
        connection.execute(dialect_insert(connection, table).on_conflict_do_nothing(), list(rows))
        return
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = [quote(name) for name in names]
    arrays: list[str] = []
    selected: list[str] = []
    values: list[list[Any]] = []
    for name, quoted in zip(names, columns, strict=True):
        column = table.columns[name]
        impl = column.type.dialect_impl(dialect)
        if isinstance(impl, postgresql.JSON):
            # As SQLAlchemy's JSON type binds it: serialised, None as JSON null (unless the
            # column says SQL NULL).
            arrays.append("%b::text[]")
            selected.append(f"{quoted}::{column.type.compile(dialect=dialect)}")
            values.append(
                [
                    None if row[name] is None and impl.none_as_null else json.dumps(row[name])
                    for row in rows
                ]
            )
            continue
        bind = column.type.bind_processor(dialect)  # UTCDateTime's check and conversion
        arrays.append(f"%b::{column.type.compile(dialect=dialect)}[]")
        selected.append(quoted)
        values.append([bind(row[name]) if bind else row[name] for row in rows])
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(columns)}) "  # noqa: S608 - the table's
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) "  # own columns
        f"AS t({', '.join(columns)}) ON CONFLICT DO NOTHING",
        tuple(values),
    )


def source_id(engine: Engine, name: str, fmt: str | None, actor: str) -> int:
    """The id of the source called ``name``, created (and audited) on first use."""
    with engine.begin() as connection:
        found = connection.scalar(select(Source.id).where(Source.name == name))
        if found is not None:
            return int(found)
        created, event = _create_source(connection, NamedSource(name, fmt, actor))
        if event is not None:
            append_events(connection, [event])
        return created


def _create_source(
    connection: Connection, source: NamedSource
) -> tuple[int, dict[str, Any] | None]:
    """The id of the source, inserted unless another transaction just did, and the audit event
    of its creation (None when it was not ours); the caller appends the event last."""
    table = Source.__table__
    statement = dialect_insert(connection, table).on_conflict_do_nothing().returning(table.c.id)
    row = {"name": source.name, "format": source.format, "created_at": utcnow()}
    inserted = connection.execute(statement, row).scalar()
    if inserted is not None:
        created = int(inserted)
    else:  # another transaction made it since our look-up (and has audited it)
        created = int(connection.scalar(select(Source.id).where(Source.name == source.name)) or 0)
    event = {
        "actor": source.actor,
        "action": "source.create",
        "subject_type": "source",
        "subject_id": source.name,
        "after": {"name": source.name, "format": source.format},
    }
    return created, (event if inserted is not None else None)


def _lock_source(
    connection: Connection, source: int | NamedSource
) -> tuple[int, dict[str, Any] | None]:
    """Take the source's row lock (concurrent writes to one source go in turn), creating a named
    source not there yet; its id, and the audit event of its creation if this made it."""
    where = Source.id == source if isinstance(source, int) else Source.name == source.name
    lock = update(Source).where(where).values(format=Source.format).returning(Source.id)
    found = connection.scalar(lock)
    if found is not None:
        return int(found), None
    if isinstance(source, int):
        raise LookupError(f"no source with id {source}")
    created, event = _create_source(connection, source)
    connection.execute(lock)
    return created, event


class KnownContents:
    """Which contents each external id of one source already has, and its newest revision.

    Looked up from the database per batch, and remembered for the rest of the run so that a file
    read into an empty source (the common case) needs no look-ups at all.
    """

    MAX_REMEMBERED = 2_000_000  # ids; past this the run falls back to database look-ups

    def __init__(self, source_was_empty: bool) -> None:
        # external id -> ({content hash: (file, location) first seen}, newest revision)
        self._seen: dict[str, tuple[dict[str, tuple[str, str]], int]] = {}
        self._complete = source_was_empty  # True while _seen holds every stored id of the source

    def load(self, connection: Connection, source: int, external_ids: Iterable[str]) -> None:
        """Fetch what the database knows about ``external_ids`` (unless the run already knows)."""
        if self._complete:
            return
        wanted = [i for i in dict.fromkeys(external_ids) if i not in self._seen]
        postgres = connection.dialect.name == "postgresql"
        step = len(wanted) or 1 if postgres else _LOOKUP_CHUNK
        for start in range(0, len(wanted), step):
            chunk = wanted[start : start + step]
            # On PostgreSQL one array parameter, not an IN list: psycopg prepares repeated
            # statements, and the generic plan of a 500-parameter IN list scans the whole source
            # (measured: 1 s per batch at 40,000 items, against 3 ms for = ANY(array)).
            matches = (
                Item.external_id == any_(bindparam("ids", chunk, type_=postgresql.ARRAY(Text)))
                if postgres
                else Item.external_id.in_(chunk)
            )
            rows = connection.execute(
                select(
                    Item.external_id, Item.content_sha256, Item.revision, Item.file, Item.location
                ).where(Item.source_id == source, matches)
            )
            for external_id, digest, revision, file, location in rows:
                contents, newest = self._seen.setdefault(external_id, ({}, 0))
                contents[digest] = (file or "", location or "")
                self._seen[external_id] = (contents, max(newest, revision))

    def classify(self, item: NewItem) -> tuple[int, tuple[str, str] | None]:
        """(revision to store the item as, 0 for a duplicate; (file, location) seen first)."""
        known = self._seen.get(item.external_id)
        if known is None:  # the common case: an id never seen
            self._seen[item.external_id] = ({item.content_sha256: (item.file, item.location)}, 1)
            return 1, None
        contents, newest = known
        first = contents.get(item.content_sha256)
        if first is not None:
            return 0, first
        contents[item.content_sha256] = (item.file, item.location)
        self._seen[item.external_id] = (contents, newest + 1)
        return newest + 1, None

    def forget(self) -> None:
        """Drop what the run remembers; later batches look up the database."""
        self._seen.clear()
        self._complete = False

    def forget_if_large(self) -> None:
        """Bound memory on very large runs."""
        if len(self._seen) > self.MAX_REMEMBERED:
            self.forget()


def source_is_empty(engine: Engine, source: int) -> bool:
    """True when the source has no items yet."""
    with engine.connect() as connection:
        return connection.scalar(select(Item.id).where(Item.source_id == source).limit(1)) is None


_ITEM_COLUMNS = (
    "id",
    "source_id",
    "external_id",
    "revision",
    "content_sha256",
    "text_sha256",
    "account",
    "account_name",
    "posted_at",
    "url",
    "encoding",
    "file",
    "location",
    "extra",
    "ingested_at",
)


def _sqlite_time(value: datetime | None) -> str | None:
    # The text form SQLAlchemy's SQLite DATETIME reads back (UTCDateTime stores naive UTC).
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _as_is(value: datetime | None) -> datetime | None:
    return value


def _item_rows(
    source: int,
    fresh: list[tuple[NewItem, int]],
    ids: Sequence[int],
    now: datetime,
    time: Callable[[datetime | None], Any],
) -> list[tuple[Any, ...]]:
    """The batch's items as rows in ``_ITEM_COLUMNS`` order, times as ``time`` hands them to
    the driver."""
    ingested_at = time(now)
    return [
        (
            item_id,
            source,
            i.external_id,
            revision,
            i.content_sha256,
            i.text_sha256,
            i.account,
            i.account_name,
            time(i.posted_at),
            i.url,
            i.encoding,
            i.file,
            i.location,
            _json(i.extra),
            ingested_at,
        )
        for item_id, (i, revision) in zip(ids, fresh, strict=True)
    ]


def _write_texts_and_items(
    connection: Connection, source: int, fresh: list[tuple[NewItem, int]], now: datetime
) -> list[int]:
    """Bulk-insert the batch's texts and items with the driver's fastest form; returns item ids.

    This is the ingest hot path: building SQLAlchemy parameters per row costs more than SQLite
    takes to store it, so rows go to the driver as tuples (SQLite) or arrays (PostgreSQL).
    """
    texts: dict[str, str] = {}
    for item, _ in fresh:
        if item.text_sha256 is not None and item.text is not None:
            texts[item.text_sha256] = item.text
    if connection.dialect.name == "postgresql":
        if texts:
            connection.exec_driver_sql(
                "INSERT INTO texts (sha256, body) SELECT * FROM unnest(%b::text[], %b::text[]) "
                "ON CONFLICT DO NOTHING",
                (list(texts), list(texts.values())),
            )
        ids = list(
            connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('items', 'id')) FROM generate_series(1, %s)",
                (len(fresh),),
            ).scalars()
        )
        columns = list(zip(*_item_rows(source, fresh, ids, now, _as_is), strict=True))
        types = (
            "bigint",
            "bigint",
            "text",
            "int",
            "text",
            "text",
            "text",
            "text",
            "timestamptz",
            "text",
            "text",
            "text",
            "text",
            "jsonb",
            "timestamptz",
        )
        # %b: arrays go in binary; psycopg escapes text-format array elements one by one in
        # Python, which made sending them cost more than PostgreSQL took to store the rows.
        casts = ", ".join(f"%b::{t if t != 'jsonb' else 'text'}[]" for t in types)
        connection.exec_driver_sql(
            f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}) "  # noqa: S608 - fixed column names
            f"SELECT id, source_id, external_id, revision, content_sha256, text_sha256, account, "
            f"account_name, posted_at, url, encoding, file, location, extra::jsonb, ingested_at "
            f"FROM unnest({casts}) AS t({', '.join(_ITEM_COLUMNS)})",
            tuple(list(c) for c in columns),
        )
        return ids
    if texts:
        connection.exec_driver_sql(
            "INSERT OR IGNORE INTO texts (sha256, body) VALUES (?, ?)", list(texts.items())
        )
    # The transaction holds SQLite's write lock (taken in write_batch), so these ids are ours.
    first = int(connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM items").scalar() or 0)
    ids = list(range(first + 1, first + 1 + len(fresh)))
    connection.exec_driver_sql(
        f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}) "  # noqa: S608 - fixed column names
        f"VALUES ({', '.join('?' * len(_ITEM_COLUMNS))})",
        _item_rows(source, fresh, ids, now, _sqlite_time),
    )
    return ids


def write_batch(
    engine: Engine,
    source: int | NamedSource,
    items: Sequence[NewItem],
    rejected: Sequence[NewQuarantine],
    known: KnownContents,
    *,
    event: BatchEvent | None = None,
) -> BatchResult:
    """Store one batch of items and quarantined records atomically, with the audit ``event``
    made from what it changed (and a named source's creation, on its first batch)."""
    for attempt in range(3):
        try:
            return _write_batch_once(engine, source, items, rejected, known, event)
        except IntegrityError:
            # Another ingest wrote to this source since our look-ups: forget them and redo.
            if attempt == 2:
                raise
            known.forget()
    raise AssertionError("unreachable")


def _write_batch_once(
    engine: Engine,
    given: int | NamedSource,
    items: Sequence[NewItem],
    rejected: Sequence[NewQuarantine],
    known: KnownContents,
    event: BatchEvent | None,
) -> BatchResult:
    result = BatchResult()
    now = utcnow()
    with engine.begin() as connection:
        # Take the source's row lock first: concurrent ingests into one source write their
        # batches in turn, so look-ups, revision numbers and SQLite's id range below are ours.
        source, created = _lock_source(connection, given)
        result.source_id = source
        known.load(connection, source, (item.external_id for item in items))
        fresh: list[tuple[NewItem, int]] = []
        revisions: list[int] = []
        for item in items:
            revision, first_seen = known.classify(item)
            revisions.append(revision)
            if first_seen is not None:
                result.duplicates.append((item, first_seen))
                continue
            fresh.append((item, revision))
            if revision > 1:
                result.revisions += 1
        result.stored = len(fresh)
        media = {m.sha256: m for i, _ in fresh for m in i.media}
        insert_ignoring_duplicates(
            connection,
            Media.__table__,
            [
                {
                    "sha256": m.sha256,
                    "md5": m.md5,
                    "size": m.size,
                    "kind": m.kind,
                    "mime": m.mime,
                    "width": m.width,
                    "height": m.height,
                    "path": m.path,
                    "created_at": now,
                }
                for m in media.values()
            ],
        )
        insert_ignoring_duplicates(
            connection,
            Signal.__table__,
            [
                {
                    "media_sha256": m.sha256,
                    "signal_type": s.signal_type,
                    "value": s.value,
                    "quality": s.quality,
                    "meta": s.meta,
                    "created_at": now,
                }
                for m in media.values()
                for s in m.signals
            ],
        )
        ids: list[int] = []
        if fresh:
            ids = _write_texts_and_items(connection, source, fresh, now)
            _write_links(connection, [i for i, _ in fresh], ids, now)
        stored_ids = iter(ids)
        result.outcomes = [(r, next(stored_ids) if r else None) for r in revisions]
        result.quarantined_new = _quarantine(connection, source, rejected, now)
        result.quarantined = sum(result.quarantined_new)
        # Last: the audit chain's lock is held until the commit.
        events = [e for e in (created, event(result) if event else None) if e is not None]
        if events:
            append_events(connection, events)
    known.forget_if_large()
    return result


def _write_links(
    connection: Connection, items: list[NewItem], ids: Sequence[int], now: datetime
) -> None:
    links = [
        {
            "item_id": item_id,
            "position": position,
            "media_sha256": m.sha256,
            "original_name": m.original_name,
        }
        for item, item_id in zip(items, ids, strict=True)
        for position, m in enumerate(item.media)
    ]
    if links:
        connection.execute(ItemMedia.__table__.insert(), links)
    signals = [
        {
            "item_id": item_id,
            "signal_type": s.signal_type,
            "value": s.value,
            "meta": s.meta,
            "created_at": now,
        }
        for item, item_id in zip(items, ids, strict=True)
        for s in item.signals
    ]
    insert_ignoring_duplicates(connection, Signal.__table__, signals)


def _quarantine(
    connection: Connection, source: int, rejected: Sequence[NewQuarantine], now: datetime
) -> list[bool]:
    """Insert quarantine rows not already there; returns, per row, whether it was new."""
    return [quarantine_record(connection, q, now, source_id=source) for q in rejected]


def quarantine_record(
    connection: Connection,
    record: NewQuarantine,
    now: datetime,
    *,
    source_id: int | None = None,
    bank_id: int | None = None,
) -> bool:
    """File a record that could not be accepted under the source (an input, a scan) or the bank
    (a hash list, a media file) it came from; the same record (file, place, bytes) is filed once.
    True when it was new."""
    table = Quarantine.__table__
    statement = (
        dialect_insert(connection, table)
        .values(
            source_id=source_id,
            bank_id=bank_id,
            format=record.format,
            # A reason or place may quote the input: the quarantine row, the one place a bad
            # record must always land, holds what PostgreSQL cannot as an escape.
            file=storable_text(record.file),
            location=storable_text(record.location),
            reason=storable_text(record.reason),
            raw=record.raw,
            raw_size=record.raw_size,
            raw_sha256=hashlib.sha256(record.raw).hexdigest(),
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    return connection.execute(statement).first() is not None


def count_rows(connection: Connection, table: Table) -> int:
    """Rows in ``table``."""
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)


class Duplicate(Protocol):
    """What ``name_duplicates`` fills in: the id and revision of the item a record repeats."""

    item_id: int | None
    revision: int | None


def name_duplicates(
    engine: Engine, source: int, duplicates: Sequence[tuple[Duplicate, NewItem]]
) -> None:
    """Set, on each duplicate's outcome, the stored item with the same id and content."""
    if not duplicates:
        return
    with engine.connect() as connection:
        for outcome, item in duplicates:
            found = connection.execute(
                select(Item.id, Item.revision)
                .where(
                    Item.source_id == source,
                    Item.external_id == item.external_id,
                    Item.content_sha256 == item.content_sha256,
                )
                .order_by(Item.revision)
                .limit(1)
            ).first()
            if found is not None:
                outcome.item_id, outcome.revision = found.id, found.revision
