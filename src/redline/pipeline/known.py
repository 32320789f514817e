"""Cases for items whose content redline already knows: the re-upload after a take-down.

Matches and classifier scores belong to the content (a media file, a distinct text), and the
stages open cases when they record one: every item carrying the content then gets its case. An
item that arrives later with the same content finds its media already matched at the current
``banks`` counter and its text already processed at the current version, so the stages record
nothing new and would route nothing: the re-upload redline exists to catch would slip through.

Routing here gives such an item the case it would have got had it come first. For the items of
a scope, each recorded reason of their content that the item has no case for, or that outranks
its case, opens or raises the case, with the reasons' own priorities and wording
(``pipeline/route.py``). What counts is what would fire now: matches to enabled entries of
enabled banks, ranked by the bank's ``confirmed`` as it is; flags of the scoring version the
stage runs (none when it does not score). A decided case of an earlier item changes nothing:
the new item is new content on the platform and gets its own case.

Set-based: one query per kind of reason over the whole scope returns only the rows that would
change a case, so a scan that finds everything routed reads next to nothing, and the writes go
a batch of items per transaction. Safe beside another worker routing the same item
(``route.write_cases``): one case per item, each change made and told of once.

The platform hears of it as of a first match: ``match.found`` for the new item with each match
that opened or raised its case (a subscriber keyed on item ids, which holds or removes what
matched, must hear that its new item matched: it was told for the first item only), then
``case.opened``. A match weaker than the case the item already has is not told again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, or_, select
from sqlalchemy import case as when

from redline.model import Bank, BankEntry, Case, Item, ItemMedia, Match, Score
from redline.model.base import utcnow
from redline.pipeline.match import match_found
from redline.pipeline.route import (
    CaseReason,
    classifier_reason,
    keep_strongest,
    media_match_reason,
    tell_opened,
    text_match_reason,
    write_cases,
)
from redline.review.rules import (
    PRIORITY_CLASSIFIER_BASE,
    PRIORITY_CLASSIFIER_SPAN,
    bank_match_priority,
)
from redline.signals.base import BankMatch
from redline.store import outbox
from redline.store.engine import Database

BATCH = 500  # items per transaction


@dataclass(frozen=True, slots=True)
class Known:
    """One recorded reason of an item's content, and the match behind it (None: a flag)."""

    item_id: int
    reason: CaseReason
    found: dict[str, Any] | None  # as ``match.found`` tells of it


@dataclass(slots=True)
class Routed:
    """Cases that routing known content opened and raised."""

    opened: int = 0
    raised: int = 0


def route_known_media(engine: Database, items: Select[Any]) -> Routed:
    """Open or raise the cases of ``items`` (a query of item ids) for their media's matches."""
    with engine.connect() as connection:
        rows = connection.execute(_media_matches(items)).all()
    known = []
    for row in rows:
        match = _bank_match(row)
        found = match_found(row.match_id, match, media_sha256=row.media_sha256)
        known.append(Known(int(row.item_id), media_match_reason(match), found))
    return _route(engine, known)


def route_known_texts(engine: Database, items: Select[Any], scoring_version: str | None) -> Routed:
    """Open or raise the cases of ``items`` for their texts' bank matches and for the flags of
    ``scoring_version`` (None: the stage did not score, flags are left out as it leaves them)."""
    with engine.connect() as connection:
        matches = connection.execute(_text_matches(items)).all()
        flags = (
            []
            if scoring_version is None
            else connection.execute(_flags(items, scoring_version)).all()
        )
    known = []
    for row in matches:
        match = _bank_match(row)
        found = match_found(row.match_id, match, text_sha256=row.text_sha256)
        known.append(Known(int(row.item_id), text_match_reason(match), found))
    for row in flags:
        reason = classifier_reason(row.model, row.score, row.category, row.lang)
        known.append(Known(int(row.item_id), reason, None))
    return _route(engine, known)


def _route(engine: Database, known: Sequence[Known]) -> Routed:
    by_item: dict[int, list[Known]] = defaultdict(list)
    for one in known:
        by_item[one.item_id].append(one)
    routed = Routed()
    item_ids = sorted(by_item)
    for start in range(0, len(item_ids), BATCH):
        chunk = item_ids[start : start + BATCH]
        reasons: dict[int, CaseReason] = {}
        for item_id in chunk:
            for one in by_item[item_id]:
                keep_strongest(reasons, item_id, one.reason)
        now = utcnow()
        with engine.begin() as connection:
            written = write_cases(connection, reasons, now, touch=False)
            before: dict[int, int | None] = {item_id: None for item_id in written.opened}
            before.update(written.raised)
            told = [
                (item_id, one.found)
                for item_id in sorted(before)
                for one in by_item[item_id]
                if one.found is not None and _outranks(one.reason, before[item_id])
            ]
            outbox.emit_many(connection, "match.found", told, now)  # before the case, per item
            tell_opened(connection, written.opened, now)
        routed.opened += len(written.opened)
        routed.raised += len(written.raised)
    return routed


def _outranks(reason: CaseReason, priority: int | None) -> bool:
    return priority is None or reason.priority > priority


def _bank_match(row: Any) -> BankMatch:
    return BankMatch(
        bank=row.bank,
        bank_id=row.bank_id,
        entry_id=row.entry_id,
        signal_type=row.signal_type,
        distance=row.distance,
        category=row.category,
        confirmed=bool(row.confirmed),
    )


def _bank_priority(*, text: bool) -> ColumnElement[int]:
    """A match's case priority in SQL: ``bank_match_priority`` by its bank's ``confirmed``."""
    return when(
        (Bank.confirmed.is_(True), bank_match_priority(True, text=text)),
        else_=bank_match_priority(False, text=text),
    )


def _matches(carrier: Any, item_id: Any, on: ColumnElement[bool], *, text: bool) -> Select[Any]:
    """The usable matches of the content the ``carrier`` rows (joined ``on``) hold, one row per
    item and match, for the items with no case or a case the match outranks."""
    return (
        select(
            item_id.label("item_id"),
            Match.id.label("match_id"),
            Match.media_sha256,
            Match.text_sha256,
            Match.signal_type,
            Match.distance,
            BankEntry.id.label("entry_id"),
            BankEntry.category,
            Bank.id.label("bank_id"),
            Bank.name.label("bank"),
            Bank.confirmed,
        )
        .select_from(Match)
        .join(carrier, on)
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .outerjoin(Case, Case.item_id == item_id)
        .where(BankEntry.enabled.is_(True), Bank.enabled.is_(True))
        .where(or_(Case.id.is_(None), Case.priority < _bank_priority(text=text)))
        .order_by(item_id, Match.id)
    )


def _media_matches(items: Select[Any]) -> Select[Any]:
    on = ItemMedia.media_sha256 == Match.media_sha256
    return (
        _matches(ItemMedia, ItemMedia.item_id, on, text=False)
        .where(ItemMedia.item_id.in_(items))
        .distinct()  # an item carrying the same file twice
    )


def _text_matches(items: Select[Any]) -> Select[Any]:
    on = Item.text_sha256 == Match.text_sha256
    return _matches(Item, Item.id, on, text=True).where(Item.id.in_(items))


def flag_may_outrank(
    priority: SQLColumnExpression[int], score: SQLColumnExpression[float]
) -> ColumnElement[bool]:
    """SQL: whether a classifier flag of ``score`` may outrank a case of ``priority``.

    ``classifier_priority`` rounds BASE + SPAN x score, which moves it by at most 0.5; so a case
    a flag outranks (an integer below its priority) is at most BASE + SPAN x score - 0.5. This
    lets through every such case and next to no other (``write_cases`` compares exactly)."""
    return priority < PRIORITY_CLASSIFIER_BASE - 0.49 + PRIORITY_CLASSIFIER_SPAN * score


def _flags(items: Select[Any], scoring_version: str) -> Select[Any]:
    """The flags of ``scoring_version`` on the items' texts, for items with no case or a case a
    flag may outrank."""
    columns: tuple[Any, ...] = (
        Item.id.label("item_id"),
        Score.model,
        Score.score,
        Score.category,
        Score.lang,
    )
    return (
        select(*columns)
        .join(Score, Score.text_sha256 == Item.text_sha256)
        .outerjoin(Case, Case.item_id == Item.id)
        .where(Item.id.in_(items), Score.model == scoring_version, Score.flagged.is_(True))
        .where(or_(Case.id.is_(None), flag_may_outrank(Case.priority, Score.score)))
        .order_by(Item.id)
    )
