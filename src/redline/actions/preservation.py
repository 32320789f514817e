"""Preservation of removed content (Regulation 2021/784, Article 6).

Content removed or disabled is kept, with its metadata, for six months from the removal, for
review, complaints and investigations; a competent authority or court can ask for longer (a
hold). Then it is purged: the files and text go, an audit record says so, and the manifest of
SHA-256 hashes stays, so the store can still prove exactly what it kept.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Final, TypedDict

from sqlalchemy import Connection, func, select, update

from redline.actions import notices
from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable
from redline.model import Item, ItemMedia, Media, Preservation, Source, TextBody
from redline.store import outbox
from redline.store.audit import record_event
from redline.store.media import MediaStore

KEEP_MONTHS: Final = 6
VISIBILITY: Final = ("visible", "removed", "disabled")


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months, on the last day of a shorter month (31 Aug + 6 = 28/29
    Feb): "six months" as a lawyer counts them, not 180 days."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class ManifestMedia(TypedDict):
    """A media file of a preserved item, by its hashes."""

    sha256: str
    md5: str
    size: int
    kind: str


class Manifest(TypedDict):
    """What a preservation record says the item was, frozen when it was taken down (stored as
    JSON: the time is ISO 8601 text)."""

    item: int
    source: str
    record: str
    account: str | None
    posted_at: str | None
    url: str | None
    content_sha256: str
    text_sha256: str | None
    media: list[ManifestMedia]


def _manifest(connection: Connection, item_id: int) -> Manifest:
    item = connection.execute(
        select(
            Item.id,
            Item.external_id,
            Item.account,
            Item.posted_at,
            Item.url,
            Item.text_sha256,
            Item.content_sha256,
            Source.name.label("source"),
        )
        .join(Source, Source.id == Item.source_id)
        .where(Item.id == item_id)
    ).first()
    if item is None:
        raise NotFound(f"no item {item_id}")
    media = connection.execute(
        select(Media.sha256, Media.md5, Media.size, Media.kind)
        .join(ItemMedia, ItemMedia.media_sha256 == Media.sha256)
        .where(ItemMedia.item_id == item_id)
    ).all()
    return Manifest(
        item=item.id,
        source=item.source,
        record=item.external_id,
        account=item.account,
        posted_at=jsonable(item.posted_at),
        url=item.url,
        content_sha256=item.content_sha256,
        text_sha256=item.text_sha256,
        media=[ManifestMedia(sha256=m.sha256, md5=m.md5, size=m.size, kind=m.kind) for m in media],
    )


def take_down(
    connection: Connection,
    actor: str,
    item_id: int,
    visibility: str,
    now: datetime,
    *,
    order_id: int | None = None,
    legal_basis: str = "own terms of service",
) -> int:
    """Remove or disable an item, start keeping it for six months and queue the notice to its
    provider, all in the caller's transaction; the preservation id."""
    if visibility not in ("removed", "disabled"):
        raise Invalid(f"unknown take-down {visibility!r} (removed, disabled)")
    before = connection.scalar(select(Item.visibility).where(Item.id == item_id))
    if before is None:
        raise NotFound(f"no item {item_id}")
    connection.execute(update(Item).where(Item.id == item_id).values(visibility=visibility))
    existing = connection.scalar(select(Preservation.id).where(Preservation.item_id == item_id))
    if existing is None:
        existing = connection.execute(
            Preservation.__table__.insert().returning(Preservation.id),
            {
                "item_id": item_id,
                "order_id": order_id,
                "removed_at": now,
                "keep_until": add_months(now, KEEP_MONTHS),
                "manifest": _manifest(connection, item_id),
            },
        ).scalar_one()
    outbox.emit(
        connection,
        "item.taken_down",
        item_id,
        {
            "visibility": visibility,
            "order_id": order_id,
            "legal_basis": legal_basis,
            "preservation_id": int(existing),
        },
        now,
    )
    record_event(
        connection,
        actor,
        f"item.{visibility}",
        "item",
        str(item_id),
        before={"visibility": before},
        after={"visibility": visibility},
        detail={"legal_basis": legal_basis, "order": order_id, "preservation": int(existing)},
    )
    notices.queue_notice(
        connection, actor, item_id, visibility, now, order_id=order_id, legal_basis=legal_basis
    )
    return int(existing)


def reinstate(connection: Connection, actor: str, item_id: int, reason: str, now: datetime) -> None:
    """Show a removed item again (a complaint upheld, an error found); audited."""
    before = connection.scalar(select(Item.visibility).where(Item.id == item_id))
    if before is None:
        raise NotFound(f"no item {item_id}")
    if before == "visible":
        raise Conflict(f"item {item_id} is visible already")
    kept = connection.execute(
        select(Preservation.purged_at).where(Preservation.item_id == item_id)
    ).first()
    if kept is not None and kept.purged_at is not None:
        raise Conflict(f"item {item_id} was purged on {kept.purged_at:%Y-%m-%d}: it cannot return")
    connection.execute(update(Item).where(Item.id == item_id).values(visibility="visible"))
    record_event(
        connection,
        actor,
        "item.reinstate",
        "item",
        str(item_id),
        before={"visibility": before},
        after={"visibility": "visible"},
        detail={"reason": reason, "at": now.isoformat()},
    )


def hold(connection: Connection, actor: str, item_id: int, until: datetime, reason: str) -> None:
    """Keep a preserved item longer, at a competent authority's or court's request."""
    row = connection.execute(
        select(Preservation.__table__).where(Preservation.item_id == item_id)
    ).first()
    if row is None:
        raise NotFound(f"item {item_id} is not preserved")
    if row.purged_at is not None:
        raise Conflict(f"item {item_id} was purged already")
    if not reason.strip():
        raise Invalid("a hold needs its reason (who asked, and their reference)")
    if until <= max(row.keep_until, row.hold_until or row.keep_until):
        raise Invalid("a hold must end after the current end of preservation")
    connection.execute(
        update(Preservation)
        .where(Preservation.id == row.id)
        .values(hold_until=until, hold_reason=reason.strip())
    )
    record_event(
        connection,
        actor,
        "preservation.hold",
        "item",
        str(item_id),
        before={"until": (row.hold_until or row.keep_until).isoformat()},
        after={"until": until.isoformat()},
        detail={"reason": reason},
    )


def due_purges(connection: Connection, now: datetime) -> list[int]:
    """Items whose preservation (and any hold) has run out and which are still removed."""
    end = func.coalesce(Preservation.hold_until, Preservation.keep_until)
    rows = connection.execute(
        select(Preservation.item_id)
        .join(Item, Item.id == Preservation.item_id)
        .where(Preservation.purged_at.is_(None), Item.visibility != "visible")
        .where(Preservation.keep_until <= now)
        .where((Preservation.hold_until.is_(None)) | (end <= now))
        .order_by(Preservation.item_id)
    )
    return [int(r.item_id) for r in rows]


def purge(
    connection: Connection, actor: str, item_id: int, files: MediaStore, now: datetime
) -> None:
    """Delete a preserved item's text and files that nothing visible still uses; keep the
    manifest of hashes; audit it."""
    row = connection.execute(
        select(Preservation.__table__).where(Preservation.item_id == item_id)
    ).first()
    if row is None or row.purged_at is not None:
        raise Conflict(f"item {item_id} has nothing left to purge")
    if item_id not in due_purges(connection, now):
        raise Conflict(f"item {item_id} is still within its preservation period or hold")
    manifest = row.manifest
    deleted_files = []
    for entry in manifest["media"]:
        still_shown = connection.scalar(
            select(func.count())
            .select_from(ItemMedia)
            .join(Item, Item.id == ItemMedia.item_id)
            .where(ItemMedia.media_sha256 == entry["sha256"], Item.visibility == "visible")
        )
        if still_shown:
            continue  # the same file is still posted elsewhere: not ours to delete
        path = connection.scalar(select(Media.path).where(Media.sha256 == entry["sha256"]))
        if path and files.delete(path):
            deleted_files.append(entry["sha256"])
    text = manifest["text_sha256"]
    if text is not None:
        shared = connection.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.text_sha256 == text, Item.visibility == "visible")
        )
        if not shared:
            connection.execute(update(TextBody).where(TextBody.sha256 == text).values(body=""))
    connection.execute(update(Preservation).where(Preservation.id == row.id).values(purged_at=now))
    record_event(
        connection,
        actor,
        "preservation.purge",
        "item",
        str(item_id),
        detail={
            "manifest": manifest,
            "deleted_files": deleted_files,
            "kept_until": row.keep_until.isoformat(),
        },
    )
