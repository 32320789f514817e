"""Matches: stored once each, and read back with the items carrying the matched content
(``redline matches``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, String, literal, select, union_all

from redline.jsontext import jsonable_dict
from redline.model import Bank, BankEntry, Item, ItemMedia, Match, Source
from redline.signals.base import BankMatch
from redline.store.engine import dialect_insert


def record_match(
    connection: Connection,
    match: BankMatch,
    now: datetime,
    *,
    media_sha256: str | None = None,
    text_sha256: str | None = None,
) -> int | None:
    """Store a bank match of a media file or of a text, once: the new match's id, or None when
    the same content matched the same entry with the same signal type before."""
    table = Match.__table__
    statement = (
        dialect_insert(connection, table)
        .values(
            media_sha256=media_sha256,
            text_sha256=text_sha256,
            bank_entry_id=match.entry_id,
            signal_type=match.signal_type,
            distance=match.distance,
            detail={**match.detail, "bank": match.bank},
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    stored = connection.execute(statement).first()
    return None if stored is None else int(stored.id)


def record_matches(
    connection: Connection,
    found: Sequence[tuple[BankMatch, str | None, str | None]],
    now: datetime,
) -> list[int | None]:
    """Store bank matches, each (match, media_sha256, text_sha256), as ``record_match`` does
    one by one, in multi-row statements: for each, the new match's id, or None when the
    same content matched the same entry with the same signal type before (or earlier in
    ``found``). A chunk's matches were a round trip each."""
    table = Match.__table__
    keys: list[tuple[str | None, str | None, int, str]] = []
    rows: dict[tuple[str | None, str | None, int, str], dict[str, Any]] = {}
    for match, media_sha256, text_sha256 in found:
        key = (media_sha256, text_sha256, match.entry_id, match.signal_type)
        keys.append(key)
        rows.setdefault(
            key,
            {
                "media_sha256": media_sha256,
                "text_sha256": text_sha256,
                "bank_entry_id": match.entry_id,
                "signal_type": match.signal_type,
                "distance": match.distance,
                "detail": {**match.detail, "bank": match.bank},
                "created_at": now,
            },
        )
    new: dict[tuple[str | None, str | None, int, str], int] = {}
    if rows:
        # An executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs of one
        # statement compiled once ("insertmanyvalues"), on both databases.
        statement = (
            dialect_insert(connection, table)
            .on_conflict_do_nothing()
            .returning(
                table.c.id,
                table.c.media_sha256,
                table.c.text_sha256,
                table.c.bank_entry_id,
                table.c.signal_type,
            )
        )
        for row in connection.execute(statement, list(rows.values())):
            key = (row.media_sha256, row.text_sha256, int(row.bank_entry_id), row.signal_type)
            new[key] = int(row.id)
    # The first of repeated keys gets the id, as the first of two inserts would.
    return [new.pop(key, None) for key in keys]


@dataclass(frozen=True, slots=True)
class MatchRow:
    """One match, seen from one item that carries the matched media."""

    match_id: int
    item_id: int
    source: str
    external_id: str
    file_name: str | None
    media_sha256: str | None
    text_sha256: str | None
    bank: str
    entry_id: int
    label: str | None
    signal_type: str
    distance: float
    detail: dict[str, Any] | None
    matched_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return jsonable_dict(
            {
                "match_id": self.match_id,
                "item": {
                    "id": self.item_id,
                    "source": self.source,
                    "external_id": self.external_id,
                    "file_name": self.file_name,
                },
                "media_sha256": self.media_sha256,
                "text_sha256": self.text_sha256,
                "bank": self.bank,
                "entry_id": self.entry_id,
                "label": self.label,
                "signal_type": self.signal_type,
                "distance": self.distance,
                "detail": self.detail,
                "matched_at": self.matched_at,
            }
        )


def _columns(file_name: Any) -> Select[Any]:
    """A MatchRow's columns; only the file name differs: a text match has none."""
    return select(
        Match.id,
        Item.id,
        Source.name,
        Item.external_id,
        file_name,
        Match.media_sha256,
        Match.text_sha256,
        Bank.name,
        BankEntry.id,
        BankEntry.category,
        Match.signal_type,
        Match.distance,
        Match.detail,
        Match.created_at,
    )


def list_matches(
    engine: Engine, *, source: str | None = None, bank: str | None = None, limit: int | None = None
) -> list[MatchRow]:
    """Matches of media and of texts, newest first, one row per (match, item carrying the
    matched media or text)."""
    media = (
        _columns(ItemMedia.original_name)
        .join(ItemMedia, ItemMedia.media_sha256 == Match.media_sha256)
        .join(Item, Item.id == ItemMedia.item_id)
    )
    texts = _columns(literal(None, String)).join(Item, Item.text_sha256 == Match.text_sha256)
    parts = []
    for part in (media, texts):
        part = (
            part.join(BankEntry, BankEntry.id == Match.bank_entry_id)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .join(Source, Source.id == Item.source_id)
        )
        if source is not None:
            part = part.where(Source.name == source)
        if bank is not None:
            part = part.where(Bank.name == bank)
        parts.append(part)
    both = union_all(*parts).subquery()
    query = select(both).order_by(both.c[0].desc(), both.c[1])
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [MatchRow(*tuple(row)) for row in connection.execute(query)]
