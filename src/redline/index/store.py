"""Bank indexes on disk: built from the database, saved beside it, loaded lazily, kept current.

Each perceptual signal type (pdq, and the frames of vpdq) has one MIH index over every bank
signal of that type, saved under ``REDLINE_DATA_DIR/index/<type>/`` with the ``banks`` counter
value and the highest bank-signal id it holds. On use:
- missing or unreadable: rebuilt from the database and saved;
- the counter moved: signals added since (ids above the saved highest) are read and searched by
  brute force next to the saved index; past ``DELTA_LIMIT`` of them the index is rebuilt;
- removed or disabled entries need no rebuild: every hit is checked against the database.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from redline.index.mih import MihIndex, Results, brute_force, hex_to_codes
from redline.index.textlsh import TextIndex
from redline.model import BankSignal
from redline.signals import vpdq as vpdq_signal
from redline.signals.minhash import TextMinHashSignal
from redline.store import counters

FRAME_BITS = 20  # vPDQ rows: id = (bank signal id << FRAME_BITS) | frame number
DELTA_LIMIT = 50_000  # signals searched by brute force before the saved index is rebuilt
INDEXED_TYPES = ("pdq", "pdq_crop", "vpdq")


@dataclass(frozen=True, slots=True)
class Hit:
    """A bank signal within the searched radius of a query hash."""

    signal_id: int
    distance: int


class SignalIndex:
    """One signal type's index: the saved MIH part and the brute-forced delta beside it."""

    def __init__(
        self, main: MihIndex, delta_codes: np.ndarray, delta_ids: np.ndarray, meta: dict[str, Any]
    ) -> None:
        self.main, self.delta_codes, self.delta_ids, self.meta = main, delta_codes, delta_ids, meta

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
                hits[query].extend(Hit(i, d) for i, d in result.of(query))
        return hits


def _frames(value: str) -> list[str]:
    return vpdq_signal.matchable(vpdq_signal.parse(value))


class IndexStore:
    """The bank indexes of one database, shared by scans and the API (thread-safe loading)."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.folder = data_dir / "index"
        self._loaded: dict[str, SignalIndex] = {}
        self._text: tuple[int, TextIndex[int]] | None = None
        self._lock = threading.Lock()

    def get(self, signal_type: str) -> SignalIndex:
        """The current index of ``signal_type`` (pdq or vpdq), loading or updating as needed."""
        if signal_type not in INDEXED_TYPES:
            raise ValueError(f"no index for signal type {signal_type!r}")
        with self._lock:
            with self.engine.connect() as connection:
                generation = counters.current(connection, counters.BANKS)
            index = self._loaded.get(signal_type)
            if index is None or index.meta["generation"] != generation:
                index = self._refresh(signal_type, index, generation)
                self._loaded[signal_type] = index
            return index

    def text(self) -> TextIndex[int]:
        """The text banks' signatures (bank signal id -> MinHash), current with the banks.

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
                        BankSignal.signal_type == TextMinHashSignal.name
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
                current = SignalIndex(main, *_empty(), meta)
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
        )

    def _read(self, signal_type: str, above: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
        """Hashes of bank signals of ``signal_type`` with id > ``above`` (vPDQ: their frames)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(BankSignal.id, BankSignal.value)
                .where(BankSignal.signal_type == signal_type, BankSignal.id > above)
                .order_by(BankSignal.id)
            ).all()
            highest = connection.scalar(select(func.max(BankSignal.id))) or 0
        hexes: list[str] = []
        ids: list[int] = []
        for signal_id, value in rows:
            if signal_type == "vpdq":
                # One row per good frame; the id carries the frame number for the match shares.
                frames = _frames(value)
                hexes.extend(frames)
                ids.extend((signal_id << FRAME_BITS) | n for n in range(len(frames)))
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
        return SignalIndex(main, *_empty(), meta)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 4), dtype=np.uint64), np.zeros(0, dtype=np.int64)
