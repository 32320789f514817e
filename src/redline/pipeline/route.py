"""Routing: turning fired signals into Cases for review, one Case per item.

A new reason opens a Case; on an item that already has one, it raises the Case's priority when
stronger and marks it updated. Priorities: a match to a bank of confirmed content (100) ranks
above a match to other banks (50-60) and classifier flags (40 + 30 x score).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import InstrumentedAttribute

from redline.model import Case, Item, ItemMedia
from redline.review.rules import CaseStatus
from redline.store import outbox

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class CaseReason:
    """Why an item needs review, and how urgently."""

    priority: int
    text: str
    signal: str = "bank"  # what fired: bank | classifier (the queue filters on it)
    category: str | None = None
    lang: str | None = None


def keep_strongest(reasons: dict[K, CaseReason], key: K, reason: CaseReason) -> None:
    """Keep ``reason`` for ``key`` unless a reason of higher or equal priority is there: one
    item, media file or text that fires several times is reviewed for the gravest reason."""
    kept = reasons.get(key)
    if kept is None or reason.priority > kept.priority:
        reasons[key] = reason


def open_cases(
    connection: Connection, by_media: Mapping[str, CaseReason], now: datetime
) -> tuple[int, int]:
    """Open or update the Case of every item carrying the given media; (opened, updated)."""
    return _open_by(connection, ItemMedia.item_id, ItemMedia.media_sha256, by_media, now)


def open_text_cases(
    connection: Connection, by_text: Mapping[str, CaseReason], now: datetime
) -> tuple[int, int]:
    """Open or update the Case of every item with one of the given texts; (opened, updated)."""
    return _open_by(connection, Item.id, Item.text_sha256, by_text, now)


def _open_by(
    connection: Connection,
    item_id: InstrumentedAttribute[int],
    content: InstrumentedAttribute[str | None],
    reasons: Mapping[str, CaseReason],
    now: datetime,
) -> tuple[int, int]:
    """The cases of the items whose ``content`` column holds a key of ``reasons``, each with the
    strongest reason among its contents."""
    if not reasons:
        return 0, 0
    by_item: dict[int, CaseReason] = {}
    keys = list(reasons)
    for start in range(0, len(keys), 500):
        rows = connection.execute(
            select(item_id, content).where(content.in_(keys[start : start + 500]))
        )
        for item, key in rows:
            keep_strongest(by_item, item, reasons[str(key)])
    return open_item_cases(connection, by_item, now)


def open_item_cases(
    connection: Connection, reasons: Mapping[int, CaseReason], now: datetime
) -> tuple[int, int]:
    """Open or update the Case of each item id; (opened, updated)."""
    item_ids = list(reasons)
    existing: dict[int, tuple[int, int]] = {}
    for start in range(0, len(item_ids), 500):
        for case_id, item_id, priority in connection.execute(
            select(Case.id, Case.item_id, Case.priority).where(
                Case.item_id.in_(item_ids[start : start + 500])
            )
        ):
            existing[item_id] = (case_id, priority)
    new_rows = [
        {
            "item_id": item_id,
            "status": CaseStatus.OPEN,
            "priority": reason.priority,
            "reason": reason.text[:300],
            "signal": reason.signal,
            "category": reason.category,
            "lang": reason.lang,
            "opened_at": now,
            "updated_at": now,
        }
        for item_id, reason in reasons.items()
        if item_id not in existing
    ]
    if new_rows:
        connection.execute(Case.__table__.insert(), new_rows)
        _tell_opened(connection, [int(str(row["item_id"])) for row in new_rows], now)
    for item_id, (case_id, priority) in existing.items():
        reason = reasons[item_id]
        values: dict[str, object] = {"updated_at": now}
        if reason.priority > priority:
            values.update(
                priority=reason.priority,
                reason=reason.text[:300],
                signal=reason.signal,
                category=reason.category,
                lang=reason.lang,
            )
        connection.execute(update(Case).where(Case.id == case_id).values(**values))
    return len(new_rows), len(existing)


def _tell_opened(connection: Connection, item_ids: list[int], now: datetime) -> None:
    """``case.opened`` for each new case (nothing to read when no subscription wants it)."""
    if not outbox.listening(connection, "case.opened"):
        return
    opened: list[Any] = []
    for start in range(0, len(item_ids), 500):
        opened.extend(
            connection.execute(
                select(
                    Case.id, Case.item_id, Case.priority, Case.reason, Case.signal, Case.category
                )
                .where(Case.item_id.in_(item_ids[start : start + 500]))
                .order_by(Case.id)
            )
        )
    outbox.emit_many(
        connection,
        "case.opened",
        [
            (
                int(row.item_id),
                {
                    "case_id": int(row.id),
                    "priority": row.priority,
                    "reason": row.reason,
                    "signal": row.signal,
                    "category": row.category,
                },
            )
            for row in opened
        ],
        now,
    )
