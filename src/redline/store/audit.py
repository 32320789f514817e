"""Appending to the audit trail, and checking it. Events are only ever inserted, never updated or
deleted, and each one is chained to the one before it by a hash.

The hashed ("canonical") form of an event is the UTF-8 (in fact ASCII) bytes of one JSON object,
keys sorted, no spaces (``separators=(",", ":")``), non-ASCII characters as ``\\u`` escapes::

    {"action": ..., "actor": ..., "after": ..., "at": "2026-12-06T13:37:39.123456+00:00",
     "before": ..., "detail": ..., "id": 42, "prev_sha256": "<64 hex>",
     "subject_id": "..." or "", "subject_type": "..." or ""}

``at`` is the event's time in UTC, ISO 8601 with microseconds and ``+00:00``; a missing subject
is ``""`` (as the CSV export shows it); ``before``/``after``/``detail`` are the JSON documents
as stored (``null`` when there is none), their keys sorted too. ``prev_sha256`` is the previous
event's ``sha256`` (64 zeros for the first event) and ``sha256`` is the SHA-256 of this form, in
lowercase hex. Events are chained in id order; ``audit_chain`` holds the newest one.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import Connection, func, select, update

from redline.errors import Invalid
from redline.jsontext import storable
from redline.model import AuditChainHead, AuditEvent
from redline.model.base import utcnow
from redline.spreadsheet import SpreadsheetSafeWriter, unquote_cell
from redline.store.engine import dialect_insert

GENESIS = "0" * 64  # the "previous hash" of the first event
HEAD_ROW = 1  # the id of audit_chain's one row
CANONICAL_FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "detail",
    "prev_sha256",
)
_BATCH = 2000


def cli_actor() -> str:
    """Who is acting when redline runs from a shell: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def canonical_form(event: Mapping[str, Any]) -> bytes:
    """The bytes of ``event`` that its hash covers (the module's docstring defines them)."""
    document = {name: event[name] for name in CANONICAL_FIELDS}
    document["at"] = event["at"].astimezone(UTC).isoformat(timespec="microseconds")
    document["subject_type"] = event["subject_type"] or ""
    document["subject_id"] = event["subject_id"] or ""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def event_sha256(event: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``event``'s canonical form."""
    return hashlib.sha256(canonical_form(event)).hexdigest()


def _stored_number(text: str) -> float | int:
    number = float(text)
    if number == 0:
        return 0.0  # PostgreSQL's numbers have no negative zero
    if number.is_integer() and abs(number) >= 1e16:
        # Python writes these with an exponent ("1e+16"); PostgreSQL gives them back as integers.
        return int(Decimal(text))
    return number


def _as_stored(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """``document`` exactly as the database will give it back (JSON on SQLite, JSONB on
    PostgreSQL), so the hash taken now matches the one ``verify`` takes later. A detail may quote
    hostile input (an ingest's problems): text the database cannot hold is stored escaped."""
    if document is None:
        return None
    text = json.dumps(storable(document))
    stored: dict[str, Any] = json.loads(text, parse_float=_stored_number)
    return stored


def hold_chain(connection: Connection) -> None:
    """Take the audit chain's lock now, until the caller's transaction ends: what the caller
    reads next is what the last writer left, so a check of the trail followed by an event (an
    alert recorded once) cannot race another process doing the same. Take it before reading."""
    _lock_head(connection)


def _lock_head(connection: Connection) -> tuple[str, int]:
    """The chain head's hash and the newest event id, the head locked until the caller's
    transaction ends.

    Writing the row (to itself) before reading it takes its lock: PostgreSQL's row lock, SQLite's
    database write lock. A second writer waits here and then reads the head the first one left.
    """
    lock = (
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ROW)
        .values(events=AuditChainHead.events)
        .returning(AuditChainHead.sha256)
    )
    head = connection.execute(lock).first()
    if head is None:  # an emptied table (tests truncate every table): start from the newest event
        last = connection.execute(
            select(AuditEvent.__table__).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        count = connection.scalar(select(func.count()).select_from(AuditEvent)) or 0
        seed = {"id": HEAD_ROW, "event_id": None, "sha256": GENESIS, "events": count}
        if last is not None:
            seed.update(event_id=last.id, sha256=event_sha256(dict(last._mapping)))
        # Two writers may both find it missing: the second one's insert does nothing.
        connection.execute(
            dialect_insert(connection, AuditChainHead).values(seed).on_conflict_do_nothing()
        )
        head = connection.execute(lock).one()
    # A statement of its own, after the lock: PostgreSQL would evaluate a subquery of the UPDATE
    # above with the snapshot taken before it waited, missing the previous writer's event.
    newest = connection.scalar(select(func.max(AuditEvent.id))) or 0
    return head.sha256, int(newest)


def record_event(
    connection: Connection,
    actor: str,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event to the audit trail, chained to the newest, inside the caller's
    transaction (which holds the chain's lock until it ends: call this last)."""
    append_events(
        connection,
        [
            {
                "actor": actor,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "before": before,
                "after": after,
                "detail": detail,
            }
        ],
    )


def append_events(connection: Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """Append ``events`` in order (each: actor, action, and optionally at, subject_type,
    subject_id, before, after, detail), chained after the newest, in the caller's transaction.
    An event without ``at`` happened now."""
    previous, newest = _lock_head(connection)
    first = newest + 1
    rows = []
    for number, given in enumerate(events, start=first):
        event = {
            "id": number,
            "at": given.get("at") or utcnow(),
            "actor": given["actor"],
            "action": given["action"],
            "subject_type": given.get("subject_type"),
            "subject_id": given.get("subject_id"),
            **{k: _as_stored(given.get(k)) for k in ("before", "after", "detail")},
            "prev_sha256": previous,
        }
        previous = event_sha256(event)
        rows.append({**event, "sha256": previous})
    if not rows:
        return
    for start in range(0, len(rows), _BATCH):
        connection.execute(AuditEvent.__table__.insert(), rows[start : start + _BATCH])
    connection.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ROW)
        .values(event_id=rows[-1]["id"], sha256=previous, events=AuditChainHead.events + len(rows))
    )


def count_recent(
    connection: Connection, actor: str, actions: Sequence[str], since: datetime
) -> int:
    """How many events ``actor`` has of ``actions`` since ``since``: the audit trail doubles as
    the memory of rate limits (failed logins, public complaints), so nothing else need keep it."""
    found = connection.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor == actor, AuditEvent.action.in_(actions), AuditEvent.at >= since)
    )
    return int(found or 0)


class AuditRow(TypedDict):
    """One audit event as stored, read back for the console and the CSV export (``before``,
    ``after`` and ``detail`` are the JSON documents recorded with it)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str | None
    subject_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any] | None
    prev_sha256: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Change:
    """One field an event changed, as a person reads it: ``before`` is None for a field the
    event added, ``after`` None for one it removed (JSON ``null`` reads "null")."""

    field: str
    before: str | None
    after: str | None


def _flat(document: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """A nested document as dotted field names, so a change deep inside reads as one line."""
    flat: dict[str, Any] = {}
    for key, value in (document or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """What an event changed, field by field (fields that stayed the same are left out), in
    the order the fields were recorded."""
    old, new = _flat(before), _flat(after)
    fields = list(old) + [name for name in new if name not in old]
    return [
        Change(
            name,
            _shown(old[name]) if name in old else None,
            _shown(new[name]) if name in new else None,
        )
        for name in fields
        if name not in old or name not in new or old[name] != new[name]
    ]


def details(detail: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """An event's detail as (field, value) lines."""
    return [(name, _shown(value)) for name, value in _flat(detail).items()]


# --- checking the chain ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place the chain does not hold: the event to look at (None: the trail as a
    whole) and why."""

    event_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What checking a trail found: how many events, its newest event and hash, the first break."""

    events: int
    head_id: int | None
    head_sha256: str
    broken: ChainBreak | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        broken = (
            None
            if self.broken is None
            else {"event_id": self.broken.event_id, "reason": self.broken.reason}
        )
        head = {"id": self.head_id, "sha256": self.head_sha256}
        return {
            "intact": self.broken is None,
            "events": self.events,
            "head": head,
            "broken": broken,
        }


@dataclass(slots=True)
class _Walk:
    """The chain as read so far, in id order."""

    events: int = 0
    last_id: int | None = None
    last_sha256: str = GENESIS
    recent: dict[str, int] | None = None  # the last events' hashes -> ids, to name insertions


def _link_break(
    walk: _Walk, event: Mapping[str, Any], after: Mapping[str, Any] | None
) -> ChainBreak:
    """Why ``event`` does not follow the last event read (``after``: the event after it)."""
    previous, here = walk.last_id, event["id"]
    recent = walk.recent or {}
    if event["prev_sha256"] in recent:
        order = [*recent.values(), previous]
        anchor = recent[event["prev_sha256"]]
        first = order[order.index(anchor) + 1]
        return ChainBreak(
            first,
            f"event {first} is not in the chain: event {here} follows event "
            f"{anchor}, so the events from {first} to {previous} were inserted",
        )
    if after is not None and after["prev_sha256"] == walk.last_sha256:
        return ChainBreak(
            here,
            f"event {here} is not in the chain: event {after['id']} follows "
            f"event {previous} directly, so event {here} was inserted",
        )
    if previous is not None and here == previous + 1:
        return ChainBreak(
            previous,
            f"event {here} was chained to another version of event "
            f"{previous}: event {previous} was rewritten (content and hash)",
        )
    return ChainBreak(
        here,
        f"event {here} was chained to an event that is no longer in the "
        f"trail: events between event {previous} and event {here} were deleted",
    )


def _walk(
    events: Iterable[Mapping[str, Any]],
    from_genesis: bool,
    head: tuple[int | None, str] | None,
    walk: _Walk | None = None,
) -> tuple[_Walk, ChainBreak | None]:
    """Follow ``events`` (in id order) link by link, on from ``walk``; the first break, if any.
    ``head``: the newest event's id and hash as recorded, when known (no event comes after it)."""
    walk = walk or _Walk(recent={})
    recent = walk.recent if walk.recent is not None else {}
    iterator = iter(events)
    event = next(iterator, None)
    while event is not None:
        after = next(iterator, None)
        if head is not None and (head[0] is None or event["id"] > head[0]):
            return walk, ChainBreak(
                event["id"],
                f"event {event['id']} comes after the chain head (event {head[0]}): it was "
                "added outside redline's audit writer",
            )
        if event_sha256(event) != event["sha256"]:
            return walk, ChainBreak(
                event["id"],
                "its content does not match its recorded hash: "
                "the row was altered after it was written",
            )
        if walk.last_id is None and not from_genesis:
            pass  # a copy of the newest events: its first one's predecessor is not in it
        elif walk.last_id is None and event["prev_sha256"] != GENESIS:
            return walk, ChainBreak(
                event["id"],
                "the first event does not start the chain: events before it were deleted",
            )
        elif walk.last_id is not None and event["prev_sha256"] != walk.last_sha256:
            return walk, _link_break(walk, event, after)
        if walk.last_id is not None:
            recent[walk.last_sha256] = walk.last_id
            if len(recent) > 64:
                del recent[next(iter(recent))]
        walk.events += 1
        walk.last_id, walk.last_sha256 = event["id"], event["sha256"]
        event = after
    return walk, None


def _stored_events(connection: Connection, after: int, upto: int) -> Iterator[Mapping[str, Any]]:
    """The events with ids in (``after``, ``upto``], in id order, read in batches."""
    table = AuditEvent.__table__
    while True:
        rows = connection.execute(
            select(table)
            .where(table.c.id > after, table.c.id <= upto)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            yield dict(row._mapping)
        after = rows[-1].id


def _head_break(
    walk: _Walk, head_id: int | None, head_sha256: str, events: int
) -> ChainBreak | None:
    """Whether the intact chain (which has no event after ``head_id``) ends where the recorded
    head says it does."""
    if walk.last_id == head_id and walk.last_sha256 == head_sha256 and walk.events == events:
        return None
    if head_id is not None and (walk.last_id is None or walk.last_id < head_id):
        return ChainBreak(
            head_id,
            f"the trail ends at event {walk.last_id} but the chain head "
            f"records event {head_id}: the newest events were deleted",
        )
    if walk.last_sha256 != head_sha256:
        return ChainBreak(
            head_id,
            f"event {head_id} does not match the chain head's hash: the newest event was rewritten",
        )
    return ChainBreak(
        None,
        f"the chain head counts {events} events, the trail has {walk.events}: "
        "events were deleted or added outside redline's audit writer",
    )


def verify(connection: Connection) -> ChainCheck:
    """Check the stored audit trail: every event's hash, every link, and the recorded head."""
    walk = _Walk(recent={})
    while True:
        head = chain_head(connection)
        # Events up to the head read are all committed (the head moves in the same transaction).
        upto = head[0] if head[0] is not None else 0
        walk, broken = _walk(_stored_events(connection, walk.last_id or 0, upto), True, None, walk)
        if broken is not None:
            return ChainCheck(walk.events, walk.last_id, walk.last_sha256, broken)
        beyond = connection.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.id > upto))
        if beyond is None:
            broken = _head_break(walk, *head)
            return ChainCheck(walk.events, walk.last_id, walk.last_sha256, broken)
        if chain_head(connection) == head:  # not appended meanwhile: written around the chain
            after_what = (
                "the chain head, which records no event"
                if head[0] is None
                else (f"the chain head (event {head[0]})")
            )
            broken = ChainBreak(
                beyond,
                f"event {beyond} comes after {after_what}: it was added "
                "outside redline's audit writer",
            )
            return ChainCheck(walk.events, walk.last_id, walk.last_sha256, broken)


def parse_head(text: str) -> tuple[int, str]:
    """``ID:SHA256`` (a head printed by ``audit verify``) as (id, sha256); Invalid otherwise."""
    ident, _, digest = text.partition(":")
    digest = digest.strip().lower()
    if not ident.strip().isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        raise Invalid(f"--head {text!r}: expected ID:SHA256 (an event id and 64 hex digits)")
    return int(ident), digest


def check_head(connection: Connection, check: ChainCheck, event_id: int, sha256: str) -> ChainCheck:
    """``check`` (of an intact trail), broken unless event ``event_id`` has hash ``sha256``: the
    head of an earlier copy must still be in the live chain, unchanged."""
    found = connection.scalar(select(AuditEvent.sha256).where(AuditEvent.id == event_id))
    if found == sha256:
        return check
    reason = (
        f"event {event_id} is no longer in the trail"
        if found is None
        else f"event {event_id} now hashes to {found}, not {sha256} as in the earlier copy"
    )
    return ChainCheck(
        check.events,
        check.head_id,
        check.head_sha256,
        ChainBreak(event_id, f"{reason}: the trail was rewritten since that copy was made"),
    )


# --- the CSV export, and checking a copy of it ----------------------------------------------------

EXPORT_COLUMNS = (*CANONICAL_FIELDS, "sha256")  # what is hashed, then the hash
TRAILER = "# chain head"
_DOCUMENTS = ("before", "after", "detail")


def chain_head(connection: Connection) -> tuple[int | None, str, int]:
    """The newest event's id and hash, and how many events the chain has (as recorded)."""
    head = connection.execute(
        select(AuditChainHead.event_id, AuditChainHead.sha256, AuditChainHead.events).where(
            AuditChainHead.id == HEAD_ROW
        )
    ).first()
    return (None, GENESIS, 0) if head is None else (head.event_id, head.sha256, int(head.events))


def export_csv(rows: Sequence[AuditRow], head: tuple[int | None, str, int], filtered: bool) -> str:
    """Events as CSV (safe to open in a spreadsheet), with a last line naming the chain's head
    when it was exported, so the copy can be checked later (``verify_export``) and its head
    compared with the live trail's."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r["id"],
                r["at"].isoformat(),
                r["actor"],
                r["action"],
                r["subject_type"] or "",
                r["subject_id"] or "",
                *(
                    json.dumps(document, sort_keys=True) if document is not None else ""
                    for document in (r["before"], r["after"], r["detail"])
                ),
                r["prev_sha256"],
                r["sha256"],
            ]
        )
    head_id, head_sha256, events = head
    writer.writerow(
        [
            TRAILER,
            f"id={head_id or ''}",
            f"sha256={head_sha256}",
            f"events={events}",
            f"rows={len(rows)}",
            f"filtered={'yes' if filtered else 'no'}",
        ]
    )
    return out.getvalue()


class BadExport(ValueError):
    """A file that is not an audit export redline wrote."""


def _exported_event(number: int, cells: dict[str, str]) -> AuditRow:
    values = {k: unquote_cell(v) for k, v in cells.items()}
    try:
        documents = {k: json.loads(values[k]) if values[k] else None for k in _DOCUMENTS}
        event = AuditRow(
            id=int(values["id"]),
            at=datetime.fromisoformat(values["at"]),
            actor=values["actor"],
            action=values["action"],
            subject_type=values["subject_type"] or None,
            subject_id=values["subject_id"] or None,
            before=documents["before"],
            after=documents["after"],
            detail=documents["detail"],
            prev_sha256=values["prev_sha256"],
            sha256=values["sha256"],
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BadExport(f"line {number}: not an audit event ({error})") from None
    if event["at"].tzinfo is None:
        raise BadExport(f"line {number}: time {values['at']!r} has no UTC offset")
    return event


def _trailer(number: int, cells: list[str]) -> dict[str, str]:
    fields = dict(cell.partition("=")[::2] for cell in cells[1:])
    needed = {"id", "sha256", "events", "rows", "filtered"}
    if not needed <= set(fields):
        raise BadExport(f"line {number}: the chain head line lacks {sorted(needed - set(fields))}")
    return fields


def verify_export(text: str) -> ChainCheck:
    """Check a copy of the CSV export against itself: each event's hash, the links between its
    events, that none was removed or added (the last line's count), and that it ends at the head
    named there. A filtered export is checked event by event, and linked where ids are adjacent."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != EXPORT_COLUMNS:
        raise BadExport("line 1: not redline's audit export (its columns differ)")
    events: list[AuditRow] = []
    trailer: dict[str, str] | None = None
    for cells in reader:
        number = reader.line_num
        if trailer is not None:
            raise BadExport(f"line {number}: text after the chain head line")
        if cells and cells[0] == TRAILER:
            trailer = _trailer(number, cells)
        elif len(cells) != len(EXPORT_COLUMNS):
            raise BadExport(f"line {number}: {len(cells)} fields, expected {len(EXPORT_COLUMNS)}")
        else:
            events.append(_exported_event(number, dict(zip(EXPORT_COLUMNS, cells, strict=True))))
    if trailer is None:
        raise BadExport("the chain head line (the last line) is missing: the copy was cut short")
    try:
        head_id = int(trailer["id"]) if trailer["id"] else None
        head_sha256, count, rows = trailer["sha256"], int(trailer["events"]), int(trailer["rows"])
    except ValueError as error:
        raise BadExport(f"the chain head line: {error}") from None
    events.sort(key=lambda e: e["id"])
    recorded = (head_id, head_sha256)
    broken: ChainBreak | None = None
    if trailer["filtered"] == "no":
        # The whole trail, or (past the export's limit) its newest events.
        walk, broken = _walk(events, rows == count, recorded)
        if broken is None:
            broken = _head_break(walk, head_id, head_sha256, count if rows == count else rows)
    else:
        for previous, event in zip([None, *events], events, strict=False):
            pair = [previous, event] if previous and event["id"] == previous["id"] + 1 else [event]
            _, broken = _walk(pair, False, recorded)
            if broken is None and event["id"] == head_id and event["sha256"] != head_sha256:
                broken = ChainBreak(head_id, f"event {head_id} does not match the head line")
            if broken is not None:
                break
    if broken is None and len(events) != rows:
        broken = ChainBreak(
            None,
            f"the copy has {len(events)} events but was exported with "
            f"{rows}: events were deleted from or added to it",
        )
    return ChainCheck(len(events), head_id, head_sha256, broken)
