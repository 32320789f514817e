"""Counts of what the store holds, overall and per source (``redline status``)."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy import Engine, case, distinct, func, select

from redline.model import (
    AuditEvent,
    Bank,
    BankEntry,
    Case,
    Item,
    ItemMedia,
    Match,
    Media,
    Quarantine,
    Score,
    Signal,
    Source,
    TextBody,
)
from redline.store.content import count_rows
from redline.store.migrate import current_revision


class SourceCounts(TypedDict):
    """What the store holds of one source; times of the first and last post as ISO 8601."""

    items: int
    revisions: int
    media: int
    quarantined: int
    first_posted: str | None
    last_posted: str | None


class StoreStatus(TypedDict):
    """Row counts of the store and per source (``redline status --json``)."""

    schema_revision: str | None
    sources: int
    items: int
    revisions: int
    texts: int
    reposted_texts: int
    media: int
    signals: int
    quarantined: int
    audit_events: int
    banks: int
    bank_entries: int
    matches: int
    scores: int
    flagged: int
    outlinks: int
    cases_open: int
    per_source: dict[str, SourceCounts]


def store_status(engine: Engine) -> StoreStatus:
    """Table counts and per-source counts.

    ``items`` counts records (source, external id); ``revisions`` counts the later versions kept
    when a record's content changed under the same id.
    """
    first_revision = case((Item.revision == 1, 1), else_=0)
    later_revision = case((Item.revision > 1, 1), else_=0)
    with engine.connect() as connection:
        items, revisions = connection.execute(
            select(
                func.coalesce(func.sum(first_revision), 0),
                func.coalesce(func.sum(later_revision), 0),
            )
        ).one()
        reposted = connection.scalar(
            select(func.count()).select_from(
                select(Item.text_sha256)
                .where(Item.text_sha256.is_not(None))
                .group_by(Item.text_sha256)
                .having(func.count() > 1)
                .subquery()
            )
        )
        per_source: dict[str, SourceCounts] = {}
        for (name,) in connection.execute(select(Source.name).order_by(Source.name)):
            per_source[name] = SourceCounts(
                items=0, revisions=0, media=0, quarantined=0, first_posted=None, last_posted=None
            )
        rows = connection.execute(
            select(
                Source.name,
                func.sum(first_revision),
                func.sum(later_revision),
                func.min(Item.posted_at),
                func.max(Item.posted_at),
            )
            .join(Item, Item.source_id == Source.id)
            .group_by(Source.name)
        )
        for name, source_items, source_revisions, first, last in rows:
            counts = per_source[name]
            counts["items"] = int(source_items or 0)
            counts["revisions"] = int(source_revisions or 0)
            counts["first_posted"] = _iso(first)
            counts["last_posted"] = _iso(last)
        media_rows = connection.execute(
            select(Source.name, func.count(distinct(ItemMedia.media_sha256)))
            .join(Item, Item.source_id == Source.id)
            .join(ItemMedia, ItemMedia.item_id == Item.id)
            .group_by(Source.name)
        )
        for name, count in media_rows:
            per_source[name]["media"] = int(count)
        quarantine_rows = connection.execute(
            select(Source.name, func.count(Quarantine.id))
            .join(Quarantine, Quarantine.source_id == Source.id)
            .group_by(Source.name)
        )
        for name, count in quarantine_rows:
            per_source[name]["quarantined"] = int(count)
        return StoreStatus(
            schema_revision=current_revision(engine),
            sources=len(per_source),
            items=int(items),
            revisions=int(revisions),
            texts=count_rows(connection, TextBody.__table__),
            reposted_texts=int(reposted or 0),
            media=count_rows(connection, Media.__table__),
            signals=count_rows(connection, Signal.__table__),
            quarantined=count_rows(connection, Quarantine.__table__),
            audit_events=count_rows(connection, AuditEvent.__table__),
            banks=count_rows(connection, Bank.__table__),
            bank_entries=count_rows(connection, BankEntry.__table__),
            matches=count_rows(connection, Match.__table__),
            scores=count_rows(connection, Score.__table__),
            flagged=int(
                connection.scalar(select(func.count()).where(Score.flagged.is_(True))) or 0
            ),
            outlinks=int(
                connection.scalar(
                    select(func.count(Signal.value.distinct())).where(Signal.signal_type == "url")
                )
                or 0
            ),
            cases_open=int(
                connection.scalar(select(func.count()).where(Case.status == "open")) or 0
            ),
            per_source=per_source,
        )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.isoformat()) if hasattr(value, "isoformat") else str(value)
