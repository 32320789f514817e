"""Looking hashes up in the banks: the one matcher, for scans and the HMA-compatible API alike.

``Matcher.match(signal_type, queries)`` asks the signal type how to match (its ``match``, as
python-threatexchange's ``get_index_cls``); the Matcher answers what that needs of the banks
(``redline.signals.base.BankLookup``): banks' settings, the entries behind bank signals, the
Hamming index of a type, equal values, the text index. So both callers apply the same rules:
an entry matches when it and its bank are enabled, the hash is of matchable quality, and the
signal type's own rule (a bank's PDQ threshold, vPDQ's frame shares, ...) is met, and an
exchange's entry is within that exchange's own PDQ threshold when it sets one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from redline.index.excerpts import ExcerptIndex
from redline.index.mih import hex_to_codes
from redline.index.store import IndexStore
from redline.index.textlsh import TextIndex
from redline.model import Bank, BankEntry, BankSignal, Exchange
from redline.pipeline.protect import DISTANCE_TYPES, beyond_threshold, exchange_thresholds
from redline.signals import BankMatch, Hit, Query, SignalType, excerpt
from redline.signals.base import BankedSignal, BankRules, EqualValue
from redline.signals.minhash import TextMinHashSignal
from redline.store.engine import Database

__all__ = ["BankMatch", "Matcher", "match_found"]

CHUNK = 500  # values per IN (...) look-up


@dataclass(frozen=True, slots=True)
class _BanksAt:
    """What a process read of the banks at one banks version."""

    version: int
    rules: dict[int, BankRules]
    # Whether any exchange sets its own PDQ threshold (``exchanges.run.set_trust`` moves the
    # banks counter when one changes): when none does, matches need no second look.
    exchange_limits: bool = False
    # Signal type -> whether any bank signal has it (filled as types are asked about).
    kinds: dict[str, bool] = field(default_factory=dict)


@dataclass(slots=True)
class _BanksRead:
    """The banks as last read, shared by a matcher and its ``on`` copies (one per process)."""

    at: _BanksAt | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Matcher:
    """Bank look-ups over one database's indexes.

    The banks' settings, and which signal types the banks hold at all, are read once per banks
    version served (the ``banks`` counter the indexes reload on; every change to a bank or its
    entries moves it): a worker matching a chunk of ten photos read them three times, a
    database round trip each, before it looked anything up.
    """

    def __init__(
        self, engine: Database, indexes: IndexStore, *, _read: _BanksRead | None = None
    ) -> None:
        self.engine = engine
        self.indexes = indexes
        self._read = _read if _read is not None else _BanksRead()

    def on(self, database: Database) -> Matcher:
        """This matcher with its look-ups on ``database`` (a task's one connection); the
        indexes and what was read of the banks are shared."""
        return Matcher(database, self.indexes, _read=self._read)

    def version(self) -> int:
        """The banks version of the indexes this matcher serves: what a match made now is made
        against. The database's counter may be ahead while this process waits out its reload's
        jitter; work is recorded at this version, so a later scan matches it again."""
        return self.indexes.current().version

    def match(
        self,
        signal_type: type[SignalType],
        queries: Sequence[Query],
        *,
        include_disabled_banks: bool = False,
    ) -> list[list[BankMatch]]:
        """Each query's matches in the banks, best first, as ``signal_type`` matches them; a hit
        on an exchange's entry farther than that exchange's own PDQ threshold is no match."""
        found = signal_type.match(self, queries, include_disabled_banks=include_disabled_banks)
        if signal_type.name not in DISTANCE_TYPES or not any(found):
            return found
        if not self._banks_at().exchange_limits:
            return found
        with self.engine.connect() as connection:
            limits = exchange_thresholds(connection, (m.entry_id for ms in found for m in ms))
        if not limits:
            return found
        return [[m for m in ms if not beyond_threshold(m, limits.get(m.entry_id))] for ms in found]

    def match_text(
        self, texts: Sequence[str], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each text against the text banks: estimated Jaccard of their MinHash
        signatures at or above the bank's threshold, and then containment (a post quoting a
        banked text, ``redline.signals.excerpt``) at the bank's containment threshold."""
        whole = TextMinHashSignal.match_texts(
            self, texts, include_disabled_banks=include_disabled_banks
        )
        quoted = excerpt.match_texts(self, texts, include_disabled_banks=include_disabled_banks)
        # An entry the whole text already matches needs no second match (and no second
        # webhook): containment is for what Jaccard cannot see, a part of the text.
        return [
            a + [m for m in b if m.entry_id not in {n.entry_id for n in a}]
            for a, b in zip(whole, quoted, strict=True)
        ]

    # --- what a signal type's matching asks (redline.signals.base.BankLookup) -------------------

    def banks(self) -> dict[int, BankRules]:
        """Every bank's matching settings, by id, at the banks version served (read from the
        database at least as new as it; callers must not change the dict)."""
        return self._banks_at().rules

    def holds(self, signal_type: str) -> bool:
        """Whether any bank signal is of ``signal_type``, at the banks version served: a
        look-up of a type no bank holds finds nothing, and need not be made."""
        at = self._banks_at()
        known = at.kinds.get(signal_type)
        if known is None:
            with self.engine.connect() as connection:
                known = (
                    connection.scalar(
                        select(BankSignal.id).where(BankSignal.signal_type == signal_type).limit(1)
                    )
                    is not None
                )
            at.kinds[signal_type] = known
        return known

    def _banks_at(self) -> _BanksAt:
        version = self.version()
        at = self._read.at
        if at is not None and at.version == version:
            return at
        # Read after the served version was: the rows are at least that new, so a change is
        # never missed, only possibly seen one version early (as a live read would see it).
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    Bank.id,
                    Bank.name,
                    Bank.enabled,
                    Bank.enabled_ratio,
                    Bank.pdq_threshold,
                    Bank.dihedral,
                    Bank.confirmed,
                    Bank.text_threshold,
                    Bank.containment_threshold,
                )
            ).all()
            limited = connection.scalar(
                select(Exchange.id).where(Exchange.pdq_threshold.is_not(None)).limit(1)
            )
        fresh = _BanksAt(version, {r.id: BankRules(*r) for r in rows}, limited is not None)
        with self._read.lock:
            current = self._read.at
            if current is None or current.version <= version:
                self._read.at = fresh
        return fresh

    def entries(self, signal_ids: Iterable[int]) -> dict[int, BankedSignal]:
        """The bank entries behind bank signal ids."""
        wanted = sorted(set(signal_ids))
        found: dict[int, BankedSignal] = {}
        if not wanted:
            return found
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), CHUNK):
                rows = connection.execute(
                    select(
                        BankSignal.id,
                        BankEntry.id,
                        BankEntry.bank_id,
                        BankEntry.enabled,
                        BankEntry.category,
                        BankSignal.value,
                        BankSignal.meta,
                    )
                    .join(BankEntry, BankEntry.id == BankSignal.entry_id)
                    .where(BankSignal.id.in_(wanted[start : start + CHUNK]))
                ).all()
                for signal_id, *entry in rows:
                    found[signal_id] = BankedSignal(*entry)
        return found

    def near(self, signal_type: str, hashes: Sequence[str], radius: int) -> list[list[Hit]]:
        """For each hex hash, the indexed bank signals of ``signal_type`` within ``radius``."""
        return self.indexes.get(signal_type).search(hex_to_codes(list(hashes)), radius)

    def equal(self, signal_types: Sequence[str], values: Sequence[str]) -> list[EqualValue]:
        """The bank signals of ``signal_types`` whose value is one of ``values``."""
        found: list[EqualValue] = []
        signal_types = [kind for kind in signal_types if self.holds(kind)]
        if not signal_types or not values:
            return found
        with self.engine.connect() as connection:
            for start in range(0, len(values), CHUNK):
                rows = connection.execute(
                    select(
                        BankSignal.value,
                        BankEntry.id,
                        BankEntry.bank_id,
                        BankEntry.enabled,
                        BankEntry.category,
                    )
                    .join(BankEntry, BankEntry.id == BankSignal.entry_id)
                    .where(
                        BankSignal.signal_type.in_(signal_types),
                        BankSignal.value.in_(values[start : start + CHUNK]),
                    )
                ).all()
                found.extend(EqualValue(*row) for row in rows)
        return found

    def texts(self, signal_type: str) -> TextIndex[int]:
        """The text index of ``signal_type``'s bank signatures."""
        return self.indexes.text(signal_type)

    def excerpts(self) -> ExcerptIndex:
        """The banked texts' shingles, for containment matching."""
        return self.indexes.excerpts()


def match_found(
    match_id: int,
    match: BankMatch,
    *,
    media_sha256: str | None = None,
    text_sha256: str | None = None,
) -> dict[str, Any]:
    """A new match as the ``match.found`` webhook tells of it (``store.outbox.emit_matches``)."""
    return {
        "match_id": match_id,
        "media_sha256": media_sha256,
        "text_sha256": text_sha256,
        "bank": match.bank,
        "entry_id": match.entry_id,
        "signal_type": match.signal_type,
        "distance": match.distance,
    }
