"""What the store keeps of removed content, as a compliance officer reviews it: for each
preserved item, when it was removed, when its preservation ends (six months, or the hold's end),
whether it is kept, held or purged, and the hashes that prove what was kept.

Reading only; ``redline.actions.preservation`` takes down, holds and purges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, func, select

from redline.errors import Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import Case, Item, Preservation

# kept: within its six months; held: kept longer at an authority's or court's request;
# purged: files and text gone, the manifest of hashes kept.
STATES: Final = ("kept", "held", "purged")
PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class Preserved:
    """One preserved item with its preservation's dates and state."""

    item_id: int
    case_id: int | None
    order_id: int | None
    source: str
    record: str
    url: str | None
    visibility: str
    removed_at: datetime
    keep_until: datetime
    hold_until: datetime | None
    hold_reason: str | None
    purged_at: datetime | None
    hashes: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """kept, held or purged."""
        if self.purged_at is not None:
            return "purged"
        return "held" if self.hold_until is not None else "kept"

    @property
    def ends_at(self) -> datetime:
        """The end of preservation: the hold's end when there is one (always the later)."""
        return self.hold_until or self.keep_until

    def due(self, now: datetime) -> bool:
        """Whether the scheduler purges it at its next round (a reinstated item is kept)."""
        return self.purged_at is None and self.visibility != "visible" and self.ends_at <= now

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """Plain JSON-able data, times as ISO 8601."""
        return jsonable_dict(
            {
                "item": self.item_id,
                "case": self.case_id,
                "order": self.order_id,
                "source": self.source,
                "record": self.record,
                "url": self.url,
                "visibility": self.visibility,
                "state": self.state,
                "removed_at": self.removed_at,
                "keep_until": self.keep_until,
                "hold_until": self.hold_until,
                "hold_reason": self.hold_reason,
                "ends_at": self.ends_at,
                "purged_at": self.purged_at,
                "purge_due": self.due(now),
                "hashes": self.hashes,
            }
        )


def _query() -> Select[Any]:
    columns = (
        Preservation.item_id,
        Case.id.label("case_id"),
        Preservation.order_id,
        Item.url,
        Item.visibility,
        Preservation.removed_at,
        Preservation.keep_until,
        Preservation.hold_until,
        Preservation.hold_reason,
        Preservation.purged_at,
        Preservation.manifest,
    )
    return (
        select(*columns)
        .join(Item, Item.id == Preservation.item_id)
        .outerjoin(Case, Case.item_id == Preservation.item_id)
    )


def _preserved(row: Any) -> Preserved:
    manifest: dict[str, Any] = row.manifest
    hashes = {
        "content_sha256": manifest.get("content_sha256"),
        "text_sha256": manifest.get("text_sha256"),
        "media": [
            {"sha256": m["sha256"], "md5": m.get("md5"), "kind": m.get("kind")}
            for m in manifest.get("media", [])
        ],
    }
    return Preserved(
        item_id=int(row.item_id),
        case_id=row.case_id,
        order_id=row.order_id,
        source=str(manifest.get("source", "")),
        record=str(manifest.get("record", "")),
        url=row.url,
        visibility=row.visibility,
        removed_at=row.removed_at,
        keep_until=row.keep_until,
        hold_until=row.hold_until,
        hold_reason=row.hold_reason,
        purged_at=row.purged_at,
        hashes=hashes,
    )


def list_preserved(
    connection: Connection, state: str | None = None, *, offset: int = 0, limit: int = PAGE
) -> list[Preserved]:
    """Preserved items, the end of preservation nearest first and the purged ones last, so what
    is about to go (and might need a hold) is on top."""
    query = _query()
    if state:
        if state not in STATES:
            raise Invalid(f"unknown state {state!r} (states: {', '.join(STATES)})")
        if state == "purged":
            query = query.where(Preservation.purged_at.is_not(None))
        else:
            query = query.where(Preservation.purged_at.is_(None)).where(
                Preservation.hold_until.is_not(None)
                if state == "held"
                else Preservation.hold_until.is_(None)
            )
    ends = func.coalesce(Preservation.hold_until, Preservation.keep_until)
    rows = connection.execute(
        query.order_by(Preservation.purged_at.is_not(None), ends, Preservation.item_id)
        .offset(offset)
        .limit(limit)
    )
    return [_preserved(r) for r in rows]


def get_preserved(connection: Connection, item_id: int) -> Preserved:
    """One preserved item; NotFound when the item was never taken down."""
    row = connection.execute(_query().where(Preservation.item_id == item_id)).first()
    if row is None:
        raise NotFound(f"item {item_id} is not preserved")
    return _preserved(row)


def of_case(connection: Connection, case_id: int) -> Preserved:
    """The preservation of a case's item; NotFound when the case or its preservation is not."""
    row = connection.execute(_query().where(Case.id == case_id)).first()
    if row is None:
        raise NotFound(f"the item of case {case_id} is not preserved")
    return _preserved(row)
