"""Looking hashes up in the banks: index hits turned into matches to enabled bank entries.

Used by ``scan`` for stored media and by the HMA-compatible API for hashes sent to it, so both
apply the same rules: an entry matches when it and its bank are enabled, the hash is of matchable
quality, and the distance is within the bank's own threshold (PDQ) or the frame shares are met
(vPDQ). Banks with dihedral matching on are also searched with the query's rotations and flips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from redline.index.mih import hex_to_codes
from redline.index.store import FRAME_BITS, Hit, IndexStore
from redline.model import Bank, BankEntry, BankSignal
from redline.signals import BadSignal, minhash, pdq, pdq_crop, vpdq


@dataclass(frozen=True, slots=True)
class BankMatch:
    """A query hash that matched a bank entry."""

    bank: str
    bank_id: int
    entry_id: int
    signal_type: str
    distance: float
    category: str | None = None
    confirmed: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Entry:
    entry_id: int
    bank_id: int
    enabled: bool
    category: str | None
    value: str
    meta: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Bank:
    id: int
    name: str
    enabled: bool
    enabled_ratio: float
    threshold: int
    dihedral: bool
    confirmed: bool
    text_threshold: float


class Matcher:
    """Bank look-ups over one database's indexes."""

    def __init__(self, engine: Engine, indexes: IndexStore) -> None:
        self.engine = engine
        self.indexes = indexes

    def banks(self) -> dict[int, _Bank]:
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
        return {r.id: _Bank(*r) for r in rows}

    def _entries(self, signal_ids: Iterable[int]) -> dict[int, _Entry]:
        """The bank entries behind bank signal ids."""
        wanted = sorted(set(signal_ids))
        found: dict[int, _Entry] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
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
                    .where(BankSignal.id.in_(wanted[start : start + 500]))
                ).all()
                for signal_id, *entry in rows:
                    found[signal_id] = _Entry(*entry)
        return found

    def match_pdq(
        self,
        hashes: Sequence[str],
        *,
        dihedral: Sequence[Sequence[str]] | None = None,
        trimmed: Sequence[str | None] | None = None,
        qualities: Sequence[int | None] | None = None,
        include_disabled_banks: bool = False,
    ) -> list[list[BankMatch]]:
        """Matches of each PDQ hash, best first, one per bank entry.

        ``dihedral[i]`` are hash ``i``'s seven other orientations (searched for banks with
        dihedral matching on); ``trimmed[i]`` its hash without uniform borders. Each hash, and
        its trimmed form, is also looked up among the banks' crop hashes (``pdq_crop``).
        """
        banks = self.banks()
        usable = [b for b in banks.values() if include_disabled_banks or b.enabled]
        results: list[list[BankMatch]] = [[] for _ in hashes]
        if not hashes or not usable:
            return results
        queries: list[str] = []
        owners: list[tuple[int, str]] = []  # (query position, transform)
        for position, value in enumerate(hashes):
            if qualities is not None and (qualities[position] or 0) < pdq.QUALITY_THRESHOLD:
                continue  # kept in the store, never matched, as python-threatexchange does
            queries.append(value)
            owners.append((position, "original"))
            if trimmed is not None and trimmed[position]:
                queries.append(str(trimmed[position]))
                owners.append((position, "trimmed"))
            if dihedral is not None and any(b.dihedral for b in usable):
                for name, variant in zip(pdq.DIHEDRAL[1:], dihedral[position], strict=False):
                    queries.append(variant)
                    owners.append((position, name))
        if not queries:
            return results
        codes = hex_to_codes(queries)
        plain = self.indexes.get("pdq").search(codes, max(b.threshold for b in usable))
        # Crops are searched with the upright query (and its trimmed form) only.
        upright = [i for i, (_p, t) in enumerate(owners) if t in {"original", "trimmed"}]
        cropped_hits = self.indexes.get("pdq_crop").search(codes[upright], pdq_crop.THRESHOLD)
        cropped: list[list[Hit]] = [[] for _ in queries]
        for slot, hits in zip(upright, cropped_hits, strict=True):
            cropped[slot] = hits
        entries = self._entries(
            h.signal_id for hit_lists in (plain, cropped) for hits in hit_lists for h in hits
        )
        best: dict[tuple[int, int], BankMatch] = {}
        for number, (position, transform) in enumerate(owners):
            for kind, hits in (("pdq", plain[number]), ("pdq_crop", cropped[number])):
                for hit in hits:
                    match = _pdq_match(
                        kind,
                        hit,
                        transform,
                        queries[number],
                        entries,
                        banks,
                        include_disabled_banks,
                    )
                    if match is None:
                        continue
                    key = (position, match.entry_id)
                    # A whole-image match wins over a crop match; then the closer one.
                    if key not in best or _rank(match) < _rank(best[key]):
                        best[key] = match
        for (position, _entry), match in sorted(
            best.items(), key=lambda kv: (kv[0][0], _rank(kv[1]))
        ):
            results[position].append(match)
        return results

    def match_vpdq(
        self, values: Sequence[str], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each vPDQ hash: >= 80% of its good frames found in a banked video."""
        banks = self.banks()
        results: list[list[BankMatch]] = [[] for _ in values]
        index = self.indexes.get("vpdq")
        for position, value in enumerate(values):
            frames = vpdq.matchable(vpdq.parse(value))
            if not frames:
                continue
            hits = index.search(hex_to_codes(frames), vpdq.DISTANCE_THRESHOLD)
            query_frames: dict[int, set[int]] = defaultdict(set)
            bank_frames: dict[int, set[int]] = defaultdict(set)
            for frame_number, frame_hits in enumerate(hits):
                for hit in frame_hits:
                    signal_id = hit.signal_id >> FRAME_BITS
                    query_frames[signal_id].add(frame_number)
                    bank_frames[signal_id].add(hit.signal_id & ((1 << FRAME_BITS) - 1))
            entries = self._entries(query_frames)
            for signal_id, matched in query_frames.items():
                entry = entries.get(signal_id)
                if entry is None:
                    continue
                bank = banks.get(entry.bank_id)
                if bank is None or not _usable(bank, entry.enabled, include_disabled_banks):
                    continue
                entry_id, category, bank_value = entry.entry_id, entry.category, entry.value
                query_percent = 100 * len(matched) / len(frames)
                bank_count = len(vpdq.matchable(vpdq.parse(bank_value))) or 1
                compared_percent = 100 * len(bank_frames[signal_id]) / bank_count
                if (
                    query_percent < vpdq.QUERY_MATCH_PERCENT
                    or compared_percent < vpdq.INDEX_MATCH_PERCENT
                ):
                    continue
                detail = {
                    "query_match_percent": round(query_percent, 2),
                    "compared_match_percent": round(compared_percent, 2),
                }
                results[position].append(
                    BankMatch(
                        bank.name,
                        bank.id,
                        entry_id,
                        "vpdq",
                        round(100 - query_percent, 2),
                        category,
                        bank.confirmed,
                        detail,
                    )
                )
        return results

    def match_text(
        self, texts: Sequence[str], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each text against the text banks: estimated Jaccard of their MinHash
        signatures at or above the bank's threshold."""
        banks = self.banks()
        usable = [b for b in banks.values() if include_disabled_banks or b.enabled]
        results: list[list[BankMatch]] = [[] for _ in texts]
        index = self.indexes.text()
        if not usable or len(index) == 0:
            return results
        lowest = min(b.text_threshold for b in usable)
        for position, text in enumerate(texts):
            try:
                signature = minhash.signature(text)
            except BadSignal:
                continue  # nothing to match on (only links, mentions or emoji)
            hits = index.search(signature, lowest)
            entries = self._entries(signal_id for signal_id, _ in hits)
            seen: set[int] = set()
            for signal_id, similarity in hits:
                entry = entries.get(signal_id)
                if entry is None or entry.entry_id in seen:
                    continue
                bank = banks.get(entry.bank_id)
                if bank is None or not _usable(bank, entry.enabled, include_disabled_banks):
                    continue
                if similarity < bank.text_threshold:
                    continue
                seen.add(entry.entry_id)
                results[position].append(
                    BankMatch(
                        bank.name,
                        bank.id,
                        entry.entry_id,
                        minhash.SIGNAL_NAME,
                        round(1 - similarity, 4),
                        entry.category,
                        bank.confirmed,
                        {"jaccard": round(similarity, 4)},
                    )
                )
        return results

    def match_exact(
        self, signal_type: str, values: Sequence[str], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of exact hashes (md5, video_md5, sha256) by equality."""
        banks = self.banks()
        types = ("md5", "video_md5") if signal_type in {"md5", "video_md5"} else (signal_type,)
        results: list[list[BankMatch]] = [[] for _ in values]
        positions: dict[str, list[int]] = defaultdict(list)
        for position, value in enumerate(values):
            positions[value].append(position)
        with self.engine.connect() as connection:
            keys = list(positions)
            for start in range(0, len(keys), 500):
                rows = connection.execute(
                    select(
                        BankSignal.value,
                        BankSignal.signal_type,
                        BankEntry.id,
                        BankEntry.bank_id,
                        BankEntry.enabled,
                        BankEntry.category,
                    )
                    .join(BankEntry, BankEntry.id == BankSignal.entry_id)
                    .where(
                        BankSignal.signal_type.in_(types),
                        BankSignal.value.in_(keys[start : start + 500]),
                    )
                ).all()
                seen: set[tuple[str, int]] = set()
                for value, _kind, entry_id, bank_id, entry_enabled, category in rows:
                    bank = banks.get(bank_id)
                    if bank is None or not _usable(bank, entry_enabled, include_disabled_banks):
                        continue
                    if (value, entry_id) in seen:
                        continue
                    seen.add((value, entry_id))
                    for position in positions[value]:
                        results[position].append(
                            BankMatch(
                                bank.name,
                                bank.id,
                                entry_id,
                                signal_type,
                                0.0,
                                category,
                                bank.confirmed,
                            )
                        )
        return results


def _usable(bank: _Bank, entry_enabled: bool, include_disabled_banks: bool) -> bool:
    """Whether a hit may match: a disabled entry never does; a disabled bank only when asked
    (HMA's coinflip decides bank by bank itself)."""
    return entry_enabled and (include_disabled_banks or bank.enabled)


def _rank(match: BankMatch) -> tuple[bool, float]:
    return (match.signal_type != "pdq", match.distance)


def _pdq_match(
    kind: str,
    hit: Hit,
    transform: str,
    query: str,
    entries: dict[int, _Entry],
    banks: dict[int, _Bank],
    include_disabled_banks: bool,
) -> BankMatch | None:
    """The match a PDQ index hit makes, or None when the entry, bank or transform rules it out."""
    entry = entries.get(hit.signal_id)
    if entry is None:
        return None  # deleted since the index was built
    bank = banks.get(entry.bank_id)
    if bank is None or not _usable(bank, entry.enabled, include_disabled_banks):
        return None
    threshold = bank.threshold if kind == "pdq" else min(bank.threshold, pdq_crop.THRESHOLD)
    if hit.distance > threshold:
        return None
    if transform not in {"original", "trimmed"} and not bank.dihedral:
        return None
    detail: dict[str, Any] = {"query": query}
    if transform != "original":
        detail["transform"] = transform
    if kind == "pdq_crop":
        detail["crop"] = (entry.meta or {}).get("crop")
    return BankMatch(
        bank.name,
        bank.id,
        entry.entry_id,
        kind,
        float(hit.distance),
        entry.category,
        bank.confirmed,
        detail,
    )
