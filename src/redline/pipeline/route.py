"""Routing: turning fired signals into Cases for review, one Case per item.

A new reason opens a Case; on an item that already has one, it raises the Case's priority when
stronger and marks it updated. Priorities: a match to a bank of confirmed content (100) ranks
above a match to other banks (50-60) and classifier flags (40 + 30 x score). The reasons are
made here (``media_match_reason`` ...) for every path that opens cases, so an item routed when
its content is first matched and one routed later for the same content (``pipeline/known.py``)
get the same priority and wording.

Cases are written so that two transactions routing the same item at once (two workers, a scan
beside a worker) end with one Case: the insert skips an item whose Case another transaction
made, and a raise only happens while the Case is still weaker than the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import InstrumentedAttribute

from redline.model import Case, Item, ItemMedia, Signal
from redline.review.rules import (
    OPEN_STATUSES,
    CaseStatus,
    bank_match_priority,
    classifier_priority,
)
from redline.signals import excerpt
from redline.signals.base import BankMatch
from redline.signals.textnorm import NEAR_IDENTICAL
from redline.store import outbox
from redline.store.engine import dialect_insert, one_of

K = TypeVar("K")
CHUNK = 500


@dataclass(frozen=True, slots=True)
class CaseReason:
    """Why an item needs review, and how urgently."""

    priority: int
    text: str
    signal: str = "bank"  # what fired: bank | classifier (the queue filters on it)
    category: str | None = None
    lang: str | None = None


def media_match_reason(match: BankMatch) -> CaseReason:
    """Why an item carrying a media file matched to a bank entry is reviewed."""
    return CaseReason(
        priority=bank_match_priority(match.confirmed, text=False),
        text=f"matches bank {match.bank} entry {match.entry_id} "
        f"({match.signal_type} distance {match.distance:g})",
    )


def text_match_reason(match: BankMatch) -> CaseReason:
    """Why an item whose text matched a text-bank entry is reviewed: the whole text (Jaccard)
    or a quoted part of it (containment, ``signals.excerpt``)."""
    if match.signal_type == excerpt.SIGNAL_NAME:
        said = f"text quotes bank {match.bank} entry {match.entry_id}"
        measure = f"containment {1 - match.distance:.2f}"
    else:
        said = f"text matches bank {match.bank} entry {match.entry_id}"
        measure = f"Jaccard {1 - match.distance:.2f}"
    return CaseReason(bank_match_priority(match.confirmed, text=True), f"{said} ({measure})")


def classifier_reason(version: str, score: float, category: str, lang: str | None) -> CaseReason:
    """Why an item whose text the classifier (scoring ``version``) flagged is reviewed."""
    return CaseReason(
        classifier_priority(score),
        f"classifier {version}: {category} (score {score:.2f})",
        signal="classifier",
        category=category,
        lang=lang,
    )


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
    """Open or update the Case of every item with one of the given texts or a near-identical
    twin of one (``near_identical_texts``): a re-post that differs by an HTML entity or its
    spacing is the same post, so it is reviewed for the same reason, in the same cluster, as
    an identical re-post is; (opened, updated)."""
    with_twins = dict(by_text)
    for sha, twins in near_identical_texts(connection, list(by_text)).items():
        for twin in twins:
            keep_strongest(with_twins, twin, by_text[sha])
    return _open_by(connection, Item.id, Item.text_sha256, with_twins, now)


def near_identical_texts(connection: Connection, shas: list[str]) -> dict[str, set[str]]:
    """The other texts that read the same as each of ``shas`` once entities are decoded and
    whitespace collapsed (their ``text_key`` signals agree; texts not keyed yet have none)."""
    keys: dict[str, str] = {}
    for start in range(0, len(shas), CHUNK):
        for sha, value in connection.execute(
            select(Signal.text_sha256, Signal.value).where(
                Signal.signal_type == NEAR_IDENTICAL,
                one_of(Signal.text_sha256, shas[start : start + CHUNK], connection.dialect),
            )
        ):
            keys[str(sha)] = value
    by_key: dict[str, set[str]] = {}
    values = sorted(set(keys.values()))
    for start in range(0, len(values), CHUNK):
        for sha, value in connection.execute(
            select(Signal.text_sha256, Signal.value).where(
                Signal.signal_type == NEAR_IDENTICAL,
                one_of(Signal.value, values[start : start + CHUNK], connection.dialect),
            )
        ):
            by_key.setdefault(value, set()).add(str(sha))
    return {sha: by_key.get(key, set()) - {sha} for sha, key in keys.items()}


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
    for start in range(0, len(keys), CHUNK):
        rows = connection.execute(
            select(item_id, content).where(
                one_of(content, keys[start : start + CHUNK], connection.dialect)
            )
        )
        for item, key in rows:
            keep_strongest(by_item, item, reasons[str(key)])
    return open_item_cases(connection, by_item, now)


def open_item_cases(
    connection: Connection, reasons: Mapping[int, CaseReason], now: datetime
) -> tuple[int, int]:
    """Open or update the Case of each item id, telling of the opened ones; (opened, updated)."""
    written = write_cases(connection, reasons, now, touch=True)
    tell_opened(connection, written.opened, now)
    return len(written.opened), len(written.raised) + len(written.touched)


def open_twin_cases(connection: Connection, shas: list[str], now: datetime) -> int:
    """Open a Case for each item of ``shas`` that has none while a near-identical twin of its
    text has one, for the twin's reason: a re-post that arrives after the first one was
    flagged joins it, as an identical re-post does (``pipeline/known.py``). Only a twin still
    under review lends its category: a decided case's category is a reviewer's verdict, and a
    new reviewer decides blind. The number of cases opened."""
    twins = near_identical_texts(connection, shas)
    others = sorted({twin for found in twins.values() for twin in found})
    lent: dict[str, CaseReason] = {}
    for start in range(0, len(others), CHUNK):
        for row in connection.execute(
            select(
                Item.text_sha256,
                Case.status,
                Case.priority,
                Case.reason,
                Case.signal,
                Case.category,
                Case.lang,
            )
            .join(Case, Case.item_id == Item.id)
            .where(one_of(Item.text_sha256, others[start : start + CHUNK], connection.dialect))
        ):
            under_review = row.status in OPEN_STATUSES
            reason = CaseReason(
                row.priority,
                row.reason,
                row.signal or "bank",
                row.category if under_review else None,
                row.lang,
            )
            keep_strongest(lent, str(row.text_sha256), reason)
    by_text: dict[str, CaseReason] = {}
    for sha, found in twins.items():
        for twin in found & set(lent):
            keep_strongest(by_text, sha, lent[twin])
    if not by_text:
        return 0
    by_item: dict[int, CaseReason] = {}
    keys = sorted(by_text)
    for start in range(0, len(keys), CHUNK):
        for item, text in connection.execute(
            select(Item.id, Item.text_sha256).where(
                one_of(Item.text_sha256, keys[start : start + CHUNK], connection.dialect)
            )
        ):
            by_item[int(item)] = by_text[str(text)]
    # A missing case is opened, a weaker one raised to the twin's reason; nothing else touched.
    written = write_cases(connection, by_item, now, touch=False)
    tell_opened(connection, written.opened, now)
    return len(written.opened)


@dataclass(slots=True)
class CaseWrites:
    """What ``write_cases`` did, item by item."""

    opened: list[int] = field(default_factory=list)
    # Items whose Case this transaction raised, with the priority it had before.
    raised: dict[int, int] = field(default_factory=dict)
    touched: list[int] = field(default_factory=list)  # stronger already: marked updated only


def write_cases(
    connection: Connection, reasons: Mapping[int, CaseReason], now: datetime, *, touch: bool
) -> CaseWrites:
    """Open the Case of each item that has none; raise to the reason the Case of each item whose
    Case is weaker; with ``touch``, mark the others updated (a new match on a reviewed item).

    Safe beside another transaction doing the same: an item whose Case appeared since it was
    read is treated as one that had it, and a raise is conditional on the Case being weaker
    still, so each item gets one Case and each change is made (and told of) by one writer."""
    written = CaseWrites()
    item_ids = sorted(reasons)  # one order for every writer: no deadlock between two of them
    existing = _priorities(connection, item_ids)
    missing = [item_id for item_id in item_ids if item_id not in existing]
    if missing:
        # One statement, run for many rows: SQLAlchemy batches it ("insertmanyvalues") and
        # collects what each batch returned.
        statement = (
            dialect_insert(connection, Case.__table__)
            .on_conflict_do_nothing(index_elements=["item_id"])
            .returning(Case.item_id)
        )
        rows = [_new_case(item_id, reasons[item_id], now) for item_id in missing]
        written.opened.extend(sorted(int(i) for i in connection.scalars(statement, rows)))
    lost = sorted(set(missing) - set(written.opened))  # another writer opened it meanwhile
    existing.update(_priorities(connection, lost))
    for item_id in sorted(existing):
        reason = reasons[item_id]
        if reason.priority > existing[item_id] and _raise(connection, item_id, reason, now):
            written.raised[item_id] = existing[item_id]
        elif touch:
            written.touched.append(item_id)
    for start in range(0, len(written.touched), CHUNK):
        connection.execute(
            update(Case)
            .where(Case.item_id.in_(written.touched[start : start + CHUNK]))
            .values(updated_at=now)
        )
    return written


def _priorities(connection: Connection, item_ids: list[int]) -> dict[int, int]:
    """The priority of each item's Case, for the items that have one."""
    found: dict[int, int] = {}
    for start in range(0, len(item_ids), CHUNK):
        for item_id, priority in connection.execute(
            select(Case.item_id, Case.priority).where(
                one_of(Case.item_id, item_ids[start : start + CHUNK], connection.dialect)
            )
        ):
            found[int(item_id)] = int(priority)
    return found


def _new_case(item_id: int, reason: CaseReason, now: datetime) -> dict[str, Any]:
    return {
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


def _raise(connection: Connection, item_id: int, reason: CaseReason, now: datetime) -> bool:
    """Raise the item's Case to ``reason`` if it is still weaker; whether it was."""
    done = connection.execute(
        update(Case)
        .where(Case.item_id == item_id, Case.priority < reason.priority)
        .values(
            priority=reason.priority,
            reason=reason.text[:300],
            signal=reason.signal,
            category=reason.category,
            lang=reason.lang,
            updated_at=now,
        )
    )
    return bool(done.rowcount)


def tell_opened(connection: Connection, item_ids: list[int], now: datetime) -> None:
    """``case.opened`` for each new case (nothing to read when no subscription wants it)."""
    if not item_ids or not outbox.listening(connection, "case.opened"):
        return
    opened: list[Any] = []
    for start in range(0, len(item_ids), CHUNK):
        opened.extend(
            connection.execute(
                select(
                    Case.id, Case.item_id, Case.priority, Case.reason, Case.signal, Case.category
                )
                .where(Case.item_id.in_(item_ids[start : start + CHUNK]))
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
