"""Reading the quarantine: records that could not be stored, with their raw bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, literal, or_, select

from redline.jsontext import jsonable_dict
from redline.model import Bank, Quarantine, Source


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
