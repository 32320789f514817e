"""The quarantine: records that could not be stored, with their raw bytes, and items whose
processing kept failing (``quarantine_work``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, literal, or_, select

from redline.jsontext import jsonable_dict
from redline.model import Bank, Item, Quarantine, Source
from redline.store.engine import dialect_insert

WORK_FORMAT = "work"  # the quarantine's format for an item a stage gave up on


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined record."""

    id: int
    source: str
    format: str
    file: str
    location: str
    reason: str
    raw: bytes
    raw_size: int
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Everything but the raw bytes, as plain data."""
        return jsonable_dict(
            {
                "id": self.id,
                "source": self.source,
                "format": self.format,
                "file": self.file,
                "location": self.location,
                "reason": self.reason,
                "raw_size": self.raw_size,
                "raw_kept": len(self.raw),
                "created_at": self.created_at,
            }
        )


def _select() -> Any:
    # A record comes from a source's input or from a hash list imported into a bank.
    origin = func.coalesce(Source.name, literal("bank ") + Bank.name, literal("?"))
    return (
        select(
            Quarantine.id,
            origin,
            Quarantine.format,
            Quarantine.file,
            Quarantine.location,
            Quarantine.reason,
            Quarantine.raw,
            Quarantine.raw_size,
            Quarantine.created_at,
        )
        .outerjoin(Source, Source.id == Quarantine.source_id)
        .outerjoin(Bank, Bank.id == Quarantine.bank_id)
    )


def list_quarantine(
    engine: Engine, *, source: str | None = None, limit: int = 100
) -> list[QuarantineEntry]:
    """Quarantined records, newest first."""
    query = _select().order_by(Quarantine.id.desc()).limit(limit)
    if source is not None:
        query = query.where(or_(Source.name == source, literal("bank ") + Bank.name == source))
    with engine.connect() as connection:
        return [QuarantineEntry(*row) for row in connection.execute(query)]


def get_quarantine(engine: Engine, entry_id: int) -> QuarantineEntry | None:
    """One quarantined record, or None."""
    with engine.connect() as connection:
        row = connection.execute(_select().where(Quarantine.id == entry_id)).first()
    return QuarantineEntry(*row) if row else None


def quarantine_work(
    connection: Connection, item_id: int, stage: str, reason: str, attempts: int, now: datetime
) -> bool:
    """File an item that a processing stage failed on ``attempts`` times, under its source, with
    the stage and the last reason; False when it was filed so already (or the item is gone).

    The row is the proof that the item was not silently dropped: ``redline quarantine list``
    shows it, and a later ``redline scan`` (or a new submission) tries the item again.
    """
    source_id = connection.scalar(select(Item.source_id).where(Item.id == item_id))
    if source_id is None:
        return False
    raw = json.dumps({"item": item_id, "stage": stage, "attempts": attempts}).encode()
    # PostgreSQL text cannot hold NUL, and an exception's message may quote anything.
    reason = f"{stage} stage failed {attempts} times: {reason}".replace("\x00", "\\x00")
    statement = (
        dialect_insert(connection, Quarantine.__table__)
        .values(
            source_id=source_id,
            format=WORK_FORMAT,
            file=f"item {item_id}",
            location=f"{stage} stage"[:100],
            reason=reason[:4000],
            raw=raw,
            raw_size=len(raw),
            raw_sha256=hashlib.sha256(raw).hexdigest(),
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Quarantine.__table__.c.id)
    )
    return connection.execute(statement).first() is not None
