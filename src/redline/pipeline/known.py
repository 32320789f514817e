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
enabled banks, ranked by the bank's ``confirmed`` as it is, that ``protect.screen`` lets open a
case (not vetoed by a negative bank, not held, not only an untrusted exchange's); flags of the
scoring version the stage runs (none when it does not score). A decided case of an earlier item
changes nothing: the new item is new content on the platform and gets its own case.

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
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, SQLColumnExpression, or_, select
from sqlalchemy import case as when

from redline.model import Bank, BankEntry, Case, Item, ItemMedia, Match, Score
from redline.model.base import utcnow
from redline.pipeline.match import match_found
from redline.pipeline.protect import Found, screen
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
    match: Found | None = None  # what ``protect.screen`` is asked about (None: a flag)


@dataclass(slots=True)
class Routed:
    """Cases that routing known content opened and raised."""

    opened: int = 0
    raised: int = 0


def route_known_media(engine: Database, items: Select[Any]) -> Routed:
    """Open or raise the cases of ``items`` (a query of item ids) for their media's matches."""
    with engine.connect() as connection:
        rows = connection.execute(_media_matches(items)).all()
    return _route(engine, _known_media(rows))


def _known_media(rows: Sequence[Any]) -> list[Known]:
    known = []
    for row in rows:
        match = _bank_match(row)
        found = match_found(row.match_id, match, media_sha256=row.media_sha256)
        screened = Found(row.media_sha256, None, match, int(row.match_id))
        known.append(Known(int(row.item_id), media_match_reason(match), found, screened))
    return known


def _known_texts(rows: Sequence[Any]) -> list[Known]:
    known = []
    for row in rows:
        match = _bank_match(row)
        found = match_found(row.match_id, match, text_sha256=row.text_sha256)
        screened = Found(None, row.text_sha256, match, int(row.match_id))
        known.append(Known(int(row.item_id), text_match_reason(match), found, screened))
    return known


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
    known = _known_texts(matches)
    for row in flags:
        reason = classifier_reason(row.model, row.score, row.category, row.lang)
        known.append(Known(int(row.item_id), reason, None))
    return _route(engine, known)


def route_entry(connection: Connection, entry_id: int, now: datetime) -> Routed:
    """Open or raise the cases of every item carrying content bank entry ``entry_id`` matched,
    as if the matches were new (a lead released the entry from flood quarantine), in the
    caller's transaction; the matches are screened again (``protect.screen``)."""
    media_items = (
        select(ItemMedia.item_id)
        .join(Match, Match.media_sha256 == ItemMedia.media_sha256)
        .where(Match.bank_entry_id == entry_id)
    )
    text_items = (
        select(Item.id)
        .join(Match, Match.text_sha256 == Item.text_sha256)
        .where(Match.bank_entry_id == entry_id)
    )
    of_entry = Match.bank_entry_id == entry_id
    known = _known_media(connection.execute(_media_matches(media_items).where(of_entry)).all())
    known += _known_texts(connection.execute(_text_matches(text_items).where(of_entry)).all())
    by_item = _by_item(known)
    return Routed(*_route_items(connection, by_item, sorted(by_item), now))


def _by_item(known: Sequence[Known]) -> dict[int, list[Known]]:
    by_item: dict[int, list[Known]] = defaultdict(list)
    for one in known:
        by_item[one.item_id].append(one)
    return by_item


def _route(engine: Database, known: Sequence[Known]) -> Routed:
    by_item = _by_item(known)
    routed = Routed()
    item_ids = sorted(by_item)
    for start in range(0, len(item_ids), BATCH):
        chunk = item_ids[start : start + BATCH]
        with engine.begin() as connection:
            opened, raised = _route_items(connection, by_item, chunk, utcnow())
        routed.opened += opened
        routed.raised += raised
    return routed


def _route_items(
    connection: Connection, by_item: dict[int, list[Known]], chunk: list[int], now: datetime
) -> tuple[int, int]:
    """Route the known reasons of the ``chunk`` of items: the matches among them that
    ``protect.screen`` lets open a case, and the flags; (opened, raised)."""
    screened = [one for item_id in chunk for one in by_item[item_id] if one.match is not None]
    why = screen(connection, [one.match for one in screened if one.match is not None], now)
    refused = {id(one) for one, reason in zip(screened, why, strict=True) if reason is not None}
    usable = {item_id: [o for o in by_item[item_id] if id(o) not in refused] for item_id in chunk}
    reasons: dict[int, CaseReason] = {}
    for item_id in chunk:
        for one in usable[item_id]:
            keep_strongest(reasons, item_id, one.reason)
    written = write_cases(connection, reasons, now, touch=False)
    before: dict[int, int | None] = {item_id: None for item_id in written.opened}
    before.update(written.raised)
    told = [
        (item_id, one.found)
        for item_id in sorted(before)
        for one in usable[item_id]
        if one.found is not None and _outranks(one.reason, before[item_id])
    ]
    outbox.emit_many(connection, "match.found", told, now)  # before the case, per item
    tell_opened(connection, written.opened, now)
    return len(written.opened), len(written.raised)


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
