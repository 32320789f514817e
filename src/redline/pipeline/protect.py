"""Protection against bad shared hashes: which matches may open a case, decided in one place.

Every path that routes matches (``redline scan`` and the workers' media and text stages through
``scan._store_matches`` and ``text_scan.match_text_banks``, re-uploads through ``known``, a
lead's release of a held entry) asks ``screen`` before it turns a match into a case reason. A
match is kept whatever ``screen`` says; it opens no case when:

- its bank is **negative** (known benign content: logos, memes, blank and near-uniform images):
  such a match never opens a case, and it **vetoes** the same media file's or text's matches to
  every other bank (each is marked with the negative entry that vetoed it, ``Match.vetoed_by``);
- its entry came from an exchange only beyond that exchange's **PDQ threshold** (an override
  that can only tighten the bank's: the matcher drops such a hit before it is stored, and this
  keeps a re-upload from routing on a match stored before the threshold was tightened);
- its entry came only from **untrusted** exchanges: such a match is supporting signal, shown
  beside a case something else opened, and never opens one on its own;
- its entry is **held** by flood quarantine: an entry that matched more than its bank's
  ``flood_items`` distinct media files or texts within ``flood_minutes`` (counted from its last
  release). The match is kept (``Match.held``), the scheduler alerts the leads, and a lead
  releases the entry (``banks.flood``: cases then open for what it matched) or disables it.

The flood count is exact under concurrency: a transaction that stored new matches of an entry
locks the entry's row (in entry order, so two never deadlock; ``FOR NO KEY UPDATE``, which the
key-share lock its match rows' foreign key took does not block, or two workers would each wait
for the other) before counting, and keeps the
lock to its commit; a second worker matching the same entry at once waits, then counts the
first one's matches too. So the batch that crosses the limit is held whole, and no ordering of
two workers lets more than ``flood_items`` contents open cases before the hold. SQLite has one
writer at a time, which gives the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, func, select, update

from redline.model import Bank, BankEntry, Exchange, ExchangeEntry, Match
from redline.signals.base import BankMatch
from redline.store.audit import record_event

CHUNK: Final = 500
ACTOR: Final = "pipeline"
# Signal types whose match distance is a Hamming distance an exchange's threshold applies to.
DISTANCE_TYPES: Final = frozenset({"pdq", "pdq_crop"})

# Why a match opened no case (``screen``'s answers; None: it may open one).
NEGATIVE: Final = "negative"
VETOED: Final = "vetoed"
BEYOND_THRESHOLD: Final = "beyond exchange threshold"
UNTRUSTED: Final = "untrusted"
HELD: Final = "held"


@dataclass(frozen=True, slots=True)
class Found:
    """A match as routing sees it: the media file or text matched, the match, its stored id
    and whether this transaction stored it (a new match counts towards its entry's flood)."""

    media_sha256: str | None
    text_sha256: str | None
    match: BankMatch
    match_id: int | None = None
    new: bool = False

    @property
    def content(self) -> tuple[str | None, str | None]:
        """The matched content's key."""
        return (self.media_sha256, self.text_sha256)


@dataclass(frozen=True, slots=True)
class EntryRules:
    """What ``screen`` needs to know of a bank entry."""

    negative: bool
    held: bool
    trusted: bool  # a local entry, or one at least one trusted exchange shares
    pdq_threshold: int | None  # the tightest threshold of the exchanges sharing it


def beyond_threshold(match: BankMatch, threshold: int | None) -> bool:
    """Whether a match is farther than an exchange's own PDQ threshold (None: no override)."""
    return (
        threshold is not None and match.signal_type in DISTANCE_TYPES and match.distance > threshold
    )


def exchange_thresholds(connection: Connection, entry_ids: Iterable[int]) -> dict[int, int]:
    """The tightest PDQ threshold an exchange sharing it sets, for the entries that have one."""
    wanted = sorted(set(entry_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = connection.execute(
            select(ExchangeEntry.entry_id, func.min(Exchange.pdq_threshold))
            .join(Exchange, Exchange.id == ExchangeEntry.exchange_id)
            .where(
                ExchangeEntry.entry_id.in_(wanted[start : start + CHUNK]),
                Exchange.pdq_threshold.is_not(None),
            )
            .group_by(ExchangeEntry.entry_id)
        )
        found.update({int(entry): int(limit) for entry, limit in rows if limit is not None})
    return found


def screen(connection: Connection, found: Sequence[Found], now: datetime) -> list[str | None]:
    """For each match, why it may not open a case (None: it may), in the caller's transaction.

    New matches first count towards their entries' floods (an entry over its limit is held
    here, audited); vetoed matches are marked with the negative entry, held new ones as held.
    """
    if not found:
        return []
    _count_floods(connection, found, now)
    rules = entry_rules(connection, [f.match.entry_id for f in found])
    vetoes = negative_matches(connection, [f.content for f in found])
    why: list[str | None] = []
    for one in found:
        rule = rules[one.match.entry_id]
        if rule.negative:
            why.append(NEGATIVE)
        elif one.content in vetoes:
            why.append(VETOED)
        elif beyond_threshold(one.match, rule.pdq_threshold):
            why.append(BEYOND_THRESHOLD)
        elif not rule.trusted:
            why.append(UNTRUSTED)
        elif rule.held:
            why.append(HELD)
        else:
            why.append(None)
    _mark(connection, found, why, vetoes)
    return why


def entry_rules(connection: Connection, entry_ids: Iterable[int]) -> dict[int, EntryRules]:
    """What ``screen`` needs to know of each entry, by id (one query a chunk: the entry, its
    bank, and each exchange that shares it)."""
    wanted = sorted(set(entry_ids))
    bank: dict[int, tuple[bool, bool]] = {}
    trust: dict[int, bool] = {}
    limits: dict[int, int] = {}
    for start in range(0, len(wanted), CHUNK):
        for row in connection.execute(
            select(
                BankEntry.id,
                Bank.negative,
                BankEntry.held_at,
                Exchange.trusted,
                Exchange.pdq_threshold,
            )
            .join(Bank, Bank.id == BankEntry.bank_id)
            .outerjoin(ExchangeEntry, ExchangeEntry.entry_id == BankEntry.id)
            .outerjoin(Exchange, Exchange.id == ExchangeEntry.exchange_id)
            .where(BankEntry.id.in_(wanted[start : start + CHUNK]))
        ):
            entry_id = int(row.id)
            bank[entry_id] = (bool(row.negative), row.held_at is not None)
            if row.trusted is not None:  # shared by an exchange
                trust[entry_id] = trust.get(entry_id, False) or bool(row.trusted)
            if row.pdq_threshold is not None:
                known = limits.get(entry_id)
                limits[entry_id] = min(int(row.pdq_threshold), known if known is not None else 63)
    return {
        # An entry deleted meanwhile (its matches go with it) opens nothing: held.
        entry_id: EntryRules(
            negative=bank.get(entry_id, (False, True))[0],
            held=bank.get(entry_id, (False, True))[1],
            trusted=trust.get(entry_id, True),
            pdq_threshold=limits.get(entry_id),
        )
        for entry_id in wanted
    }


def negative_matches(
    connection: Connection, contents: Iterable[tuple[str | None, str | None]]
) -> dict[tuple[str | None, str | None], int]:
    """The media files and texts among ``contents`` that match an enabled entry of an enabled
    negative bank, with that entry (the lowest id when several do)."""
    media = sorted({m for m, _ in contents if m is not None})
    texts = sorted({t for m, t in contents if m is None and t is not None})
    found: dict[tuple[str | None, str | None], int] = {}
    for column, keys in ((Match.media_sha256, media), (Match.text_sha256, texts)):
        for start in range(0, len(keys), CHUNK):
            rows = connection.execute(
                select(Match.media_sha256, Match.text_sha256, func.min(BankEntry.id))
                .join(BankEntry, BankEntry.id == Match.bank_entry_id)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(Bank.negative.is_(True), Bank.enabled.is_(True))
                .where(BankEntry.enabled.is_(True))
                .where(column.in_(keys[start : start + CHUNK]))
                .group_by(Match.media_sha256, Match.text_sha256)
            )
            for media_sha, text_sha, entry_id in rows:
                found[(media_sha, text_sha)] = int(entry_id)
    return found


def _count_floods(connection: Connection, found: Sequence[Found], now: datetime) -> None:
    """Hold each entry with new matches in ``found`` that is now over its bank's flood limit.

    Each entry's row is locked (in id order) before its matches are counted and stays locked
    to the commit, so the count includes every other transaction's committed matches of it."""
    entry_ids = sorted({f.match.entry_id for f in found if f.new})
    if not entry_ids:
        return
    rows = connection.execute(
        select(
            BankEntry.id,
            BankEntry.held_at,
            BankEntry.released_at,
            Bank.negative,
            Bank.flood_items,
            Bank.flood_minutes,
        )
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.id.in_(entry_ids))
        .order_by(BankEntry.id)
        .with_for_update(of=BankEntry, key_share=True)
    ).all()
    # Entries of one bank share a window (unless one was released within it): one count each.
    by_since: dict[datetime, list[Any]] = {}
    for row in rows:
        if row.held_at is not None or row.negative or row.flood_items <= 0:
            continue  # held already; a negative bank's entries are meant to match widely
        since = now - timedelta(minutes=row.flood_minutes)
        if row.released_at is not None and row.released_at > since:
            since = row.released_at
        by_since.setdefault(since, []).append(row)
    for since, over in by_since.items():
        matched = _contents_matched(connection, [int(row.id) for row in over], since)
        for row in over:
            count = matched.get(int(row.id), 0)
            if count > row.flood_items:
                _hold(connection, row, count, since, now)


def _hold(connection: Connection, row: Any, matched: int, since: datetime, now: datetime) -> None:
    connection.execute(update(BankEntry).where(BankEntry.id == row.id).values(held_at=now))
    record_event(
        connection,
        ACTOR,
        "bank_entry.hold",
        "bank_entry",
        str(row.id),
        before={"held": False},
        after={"held": True},
        detail={
            "matched": matched,
            "limit": row.flood_items,
            "minutes": row.flood_minutes,
            "since": since.isoformat(),
        },
    )


def _contents_matched(
    connection: Connection, entry_ids: list[int], since: datetime
) -> dict[int, int]:
    """How many distinct media files and texts matched each entry since ``since`` (read off
    the index of an entry's matches by time: only the window's rows)."""
    found: dict[int, int] = {}
    for start in range(0, len(entry_ids), CHUNK):
        contents = (
            select(Match.bank_entry_id, Match.media_sha256, Match.text_sha256)
            .where(Match.bank_entry_id.in_(entry_ids[start : start + CHUNK]))
            .where(Match.created_at >= since)
            .distinct()
            .subquery()
        )
        for entry_id, count in connection.execute(
            select(contents.c.bank_entry_id, func.count()).group_by(contents.c.bank_entry_id)
        ):
            found[int(entry_id)] = int(count)
    return found


def _mark(
    connection: Connection,
    found: Sequence[Found],
    why: Sequence[str | None],
    vetoes: dict[tuple[str | None, str | None], int],
) -> None:
    """Record on the stored matches which were vetoed (by which negative entry) and which new
    ones were made while their entry was held."""
    by_veto: dict[int, list[int]] = {}
    held: list[int] = []
    for one, reason in zip(found, why, strict=True):
        if one.match_id is None:
            continue
        if reason == VETOED:
            by_veto.setdefault(vetoes[one.content], []).append(one.match_id)
        elif reason == HELD and one.new:
            held.append(one.match_id)
    for entry_id, match_ids in by_veto.items():
        for start in range(0, len(match_ids), CHUNK):
            connection.execute(
                update(Match)
                .where(Match.id.in_(match_ids[start : start + CHUNK]))
                .where(Match.vetoed_by.is_(None))
                .values(vetoed_by=entry_id)
            )
    for start in range(0, len(held), CHUNK):
        connection.execute(
            update(Match).where(Match.id.in_(held[start : start + CHUNK])).values(held=True)
        )


@dataclass(frozen=True, slots=True)
class HeldEntry:
    """An entry flood quarantine holds, for the leads' alert and the banks page."""

    entry_id: int
    bank: str
    held_at: datetime
    matches: int  # kept since it was held


def held_entries(connection: Connection) -> list[HeldEntry]:
    """Every entry flood quarantine holds, oldest hold first."""
    rows = connection.execute(
        select(BankEntry.id, Bank.name, BankEntry.held_at)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.held_at.is_not(None))
        .order_by(BankEntry.held_at, BankEntry.id)
    ).all()
    counts: dict[int, int] = {}
    ids = [int(r.id) for r in rows]
    for start in range(0, len(ids), CHUNK):
        for entry_id, count in connection.execute(
            select(Match.bank_entry_id, func.count())
            .join(BankEntry, BankEntry.id == Match.bank_entry_id)
            .where(Match.bank_entry_id.in_(ids[start : start + CHUNK]), Match.held.is_(True))
            .where(Match.created_at >= BankEntry.held_at)  # this hold's, not an earlier one's
            .group_by(Match.bank_entry_id)
        ):
            counts[int(entry_id)] = int(count)
    return [HeldEntry(int(r.id), r.name, r.held_at, counts.get(int(r.id), 0)) for r in rows]


def routable(found: Sequence[Any], why: Sequence[str | None]) -> list[Any]:
    """The items of ``found`` whose screening let them open a case."""
    return [one for one, reason in zip(found, why, strict=True) if reason is None]
