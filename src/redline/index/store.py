"""Bank indexes on disk: built from the database, saved beside it, loaded lazily, kept current.

Each signal type that says it is ``indexed`` (pdq, pdq_crop, and the frames of vpdq) has one
MIH index over every bank signal of that type (the hashes its ``index_hashes`` gives), saved
under ``REDLINE_DATA_DIR/index/<type>/`` with the ``banks`` counter value and the highest
bank-signal id it holds. On use:
- missing or unreadable: rebuilt from the database and saved;
- the counter moved: signals added since (ids above the saved highest) are read and searched by
  brute force next to the saved index; past ``DELTA_LIMIT`` of them the index is rebuilt;
- removed or disabled entries need no rebuild: every hit is checked against the database.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from redline.index.mih import MihIndex, Results, brute_force, hex_to_codes
from redline.index.textlsh import TextIndex
from redline.model import BankSignal
from redline.signals import BANKABLE, Hit, Indexed, SignalType
from redline.store import counters

# Rows of a type indexed in parts (vPDQ's frames): id = (bank signal id << PART_BITS) | part.
PART_BITS = 20
DELTA_LIMIT = 50_000  # signals searched by brute force before the saved index is rebuilt
INDEXED_TYPES = tuple(name for name, cls in BANKABLE.items() if cls.indexed is not None)

__all__ = ["DELTA_LIMIT", "INDEXED_TYPES", "Hit", "IndexStore", "SignalIndex"]


class SignalIndex:
    """One signal type's index: the saved MIH part and the brute-forced delta beside it."""

    def __init__(
        self,
        main: MihIndex,
        delta_codes: np.ndarray,
        delta_ids: np.ndarray,
        meta: dict[str, Any],
        parts: bool = False,
    ) -> None:
        self.main, self.delta_codes, self.delta_ids, self.meta = main, delta_codes, delta_ids, meta
        self.parts = parts  # ids carry a part number (``PART_BITS``)

    def __len__(self) -> int:
        return len(self.main) + int(self.delta_ids.shape[0])

    def search(self, codes: np.ndarray, radius: int) -> list[list[Hit]]:
        """For each query hash, every indexed hash within ``radius`` (exact)."""
        results: list[Results] = [self.main.search(codes, radius)]
        if self.delta_ids.shape[0]:
            results.append(brute_force(self.delta_codes, self.delta_ids, codes, radius))
        hits: list[list[Hit]] = [[] for _ in range(codes.shape[0])]
        for result in results:
            for query in range(codes.shape[0]):
                if self.parts:
                    mask = (1 << PART_BITS) - 1
                    hits[query].extend(
                        Hit(i >> PART_BITS, d, i & mask) for i, d in result.of(query)
                    )
                else:
                    hits[query].extend(Hit(i, d) for i, d in result.of(query))
        return hits


class IndexStore:
    """The bank indexes of one database, shared by scans and the API (thread-safe loading)."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.folder = data_dir / "index"
        self._loaded: dict[str, SignalIndex] = {}
        self._text: tuple[int, TextIndex[int]] | None = None
        self._lock = threading.Lock()

    def get(self, signal_type: str) -> SignalIndex:
        """The current index of ``signal_type`` (one of ``INDEXED_TYPES``), loading or updating
        as needed."""
        if _indexed(signal_type) is None:
            raise ValueError(f"no index for signal type {signal_type!r}")
        with self._lock:
            with self.engine.connect() as connection:
                generation = counters.current(connection, counters.BANKS)
            index = self._loaded.get(signal_type)
            if index is None or index.meta["generation"] != generation:
                index = self._refresh(signal_type, index, generation)
                self._loaded[signal_type] = index
            return index

    def text(self, signal_type: str) -> TextIndex[int]:
        """The text banks' signatures of ``signal_type`` (bank signal id -> MinHash), current
        with the banks.

        Kept in memory only: text banks hold thousands of statements, not millions of hashes,
        and building from the database takes a moment.
        """
        with self._lock:
            with self.engine.connect() as connection:
                generation = counters.current(connection, counters.BANKS)
                if self._text is not None and self._text[0] == generation:
                    return self._text[1]
                rows = connection.execute(
                    select(BankSignal.id, BankSignal.value).where(
                        BankSignal.signal_type == signal_type
                    )
                ).all()
            index: TextIndex[int] = TextIndex((int(i), value) for i, value in rows)
            self._text = (generation, index)
            return index

    def rebuild(self, signal_type: str) -> SignalIndex:
        """Build the index from the database now, and save it."""
        with self._lock:
            with self.engine.connect() as connection:
                generation = counters.current(connection, counters.BANKS)
            index = self._build(signal_type, generation)
            self._loaded[signal_type] = index
            return index

    def status(self) -> dict[str, dict[str, Any]]:
        """Per indexed type: present, size, built_to (unix time), generation; nothing is built."""
        out: dict[str, dict[str, Any]] = {}
        for signal_type in INDEXED_TYPES:
            loaded = self._loaded.get(signal_type)
            meta: dict[str, Any] | None = dict(loaded.meta) if loaded else None
            size = len(loaded) if loaded else 0
            if meta is None and (self.folder / signal_type / "meta.json").exists():
                try:
                    _, saved = MihIndex.load(self.folder / signal_type)
                    meta = dict(saved)
                    size = int(meta.get("size", 0))
                except (OSError, ValueError):
                    meta = None
            out[signal_type] = {
                "present": meta is not None,
                "size": size,
                "built_to": int(meta["built_at"]) if meta else -1,
                "generation": int(meta["generation"]) if meta else -1,
            }
        return out

    # --- internals -----------------------------------------------------------------------

    def _refresh(
        self, signal_type: str, current: SignalIndex | None, generation: int
    ) -> SignalIndex:
        if current is None:
            try:
                main, meta = MihIndex.load(self.folder / signal_type)
                current = SignalIndex(main, *_empty(), meta, _in_parts(signal_type))
            except (OSError, ValueError, KeyError):
                return self._build(signal_type, generation)
            if meta["generation"] == generation:
                return current
        high = int(current.meta["max_signal_id"])
        codes, ids, new_high = self._read(signal_type, above=high)
        if ids.shape[0] + current.delta_ids.shape[0] > DELTA_LIMIT:
            return self._build(signal_type, generation)
        meta = {**current.meta, "generation": generation, "max_signal_id": max(high, new_high)}
        return SignalIndex(
            current.main,
            np.concatenate([current.delta_codes, codes]),
            np.concatenate([current.delta_ids, ids]),
            meta,
            current.parts,
        )

    def _read(self, signal_type: str, above: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
        """Hashes of bank signals of ``signal_type`` with id > ``above`` (as its
        ``index_hashes`` gives them)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(BankSignal.id, BankSignal.value)
                .where(BankSignal.signal_type == signal_type, BankSignal.id > above)
                .order_by(BankSignal.id)
            ).all()
            highest = connection.scalar(select(func.max(BankSignal.id))) or 0
        kind = _indexed(signal_type)
        hexes: list[str] = []
        ids: list[int] = []
        for signal_id, value in rows:
            if kind is not None and kind.indexed is Indexed.PARTS:
                # One row per part (vPDQ: good frame); the id carries the part's number.
                parts = kind.index_hashes(value)
                hexes.extend(parts)
                ids.extend((signal_id << PART_BITS) | n for n in range(len(parts)))
            else:
                hexes.append(value)
                ids.append(signal_id)
        return hex_to_codes(hexes), np.asarray(ids, dtype=np.int64), int(highest)

    def _build(self, signal_type: str, generation: int) -> SignalIndex:
        codes, ids, highest = self._read(signal_type)
        main = MihIndex.build(codes, ids)
        meta = {
            "signal_type": signal_type,
            "generation": generation,
            "max_signal_id": highest,
            "size": len(main),
            "built_at": time.time(),
        }
        # Write beside, then swap: a reader never sees a half-written index.
        target = self.folder / signal_type
        staging = self.folder / f".{signal_type}.new"
        shutil.rmtree(staging, ignore_errors=True)
        main.save(staging, meta)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        return SignalIndex(main, *_empty(), meta, _in_parts(signal_type))


def _indexed(signal_type: str) -> type[SignalType] | None:
    """The signal type called ``signal_type`` when it is indexed here (the registry as it is
    now, so a type registered later is indexed like the rest)."""
    kind = BANKABLE.get(signal_type)
    return kind if kind is not None and kind.indexed is not None else None


def _in_parts(signal_type: str) -> bool:
    kind = _indexed(signal_type)
    return kind is not None and kind.indexed is Indexed.PARTS


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 4), dtype=np.uint64), np.zeros(0, dtype=np.int64)
