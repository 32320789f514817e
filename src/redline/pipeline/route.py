"""Routing: turning fired signals into Cases for review, one Case per item.

A new reason opens a Case; on an item that already has one, it raises the Case's priority when
stronger and marks it updated. Priorities: a match to a bank of confirmed content (100) ranks
above a match to other banks (50-60) and classifier flags (40 + 30 x score).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from redline.model import Case, ItemMedia
from redline.review.rules import CaseStatus
from redline.store import outbox


@dataclass(frozen=True, slots=True)
class CaseReason:
    """Why an item needs review, and how urgently."""

    priority: int
    text: str
    signal: str = "bank"  # what fired: bank | classifier (the queue filters on it)
    category: str | None = None
    lang: str | None = None


def open_cases(
    connection: Connection, by_media: Mapping[str, CaseReason], now: datetime
) -> tuple[int, int]:
    """Open or update the Case of every item carrying the given media; (opened, updated)."""
    if not by_media:
        return 0, 0
    reasons: dict[int, CaseReason] = {}
    hashes = list(by_media)
    for start in range(0, len(hashes), 500):
        rows = connection.execute(
            select(ItemMedia.item_id, ItemMedia.media_sha256).where(
                ItemMedia.media_sha256.in_(hashes[start : start + 500])
            )
        )
        for item_id, media_sha256 in rows:
            reason = by_media[media_sha256]
            if item_id not in reasons or reason.priority > reasons[item_id].priority:
                reasons[item_id] = reason
    return open_item_cases(connection, reasons, now)


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
