"""Looking hashes up in the banks: the one matcher, for scans and the HMA-compatible API alike.

``Matcher.match(signal_type, queries)`` asks the signal type how to match (its ``match``, as
python-threatexchange's ``get_index_cls``); the Matcher answers what that needs of the banks
(``redline.signals.base.BankLookup``): banks' settings, the entries behind bank signals, the
Hamming index of a type, equal values, the text index. So both callers apply the same rules:
an entry matches when it and its bank are enabled, the hash is of matchable quality, and the
signal type's own rule (a bank's PDQ threshold, vPDQ's frame shares, ...) is met.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, select

from redline.index.mih import hex_to_codes
from redline.index.store import IndexStore
from redline.index.textlsh import TextIndex
from redline.model import Bank, BankEntry, BankSignal
from redline.signals import BankMatch, Hit, Query, SignalType
from redline.signals.base import BankedSignal, BankRules, EqualValue
from redline.signals.minhash import TextMinHashSignal

__all__ = ["BankMatch", "Matcher", "match_found"]

CHUNK = 500  # values per IN (...) look-up


class Matcher:
    """Bank look-ups over one database's indexes."""

    def __init__(self, engine: Engine, indexes: IndexStore) -> None:
        self.engine = engine
        self.indexes = indexes

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
        """Each query's matches in the banks, best first, as ``signal_type`` matches them."""
        return signal_type.match(self, queries, include_disabled_banks=include_disabled_banks)

    def match_text(
        self, texts: Sequence[str], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each text against the text banks: estimated Jaccard of their MinHash
        signatures at or above the bank's threshold."""
        return TextMinHashSignal.match_texts(
            self, texts, include_disabled_banks=include_disabled_banks
        )

    # --- what a signal type's matching asks (redline.signals.base.BankLookup) -------------------

    def banks(self) -> dict[int, BankRules]:
        """Every bank's matching settings, by id."""
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
                )
            ).all()
        return {r.id: BankRules(*r) for r in rows}

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
