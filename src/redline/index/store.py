"""Bank indexes on disk: built from the database, saved beside it, loaded lazily, kept current.

Each signal type that says it is ``indexed`` (pdq, pdq_crop, and the frames of vpdq and
vpdq_crop) has one MIH index over every bank signal of that type (the hashes its
``index_hashes`` gives), saved under ``REDLINE_DATA_DIR/index/<type>/`` with the ``banks``
counter value and the highest bank-signal id it holds. On use:
- missing or unreadable: rebuilt from the database and saved;
- the counter moved: signals added since (ids above the saved highest) are read and searched by
  brute force next to the saved index; past ``DELTA_LIMIT`` of them the index is rebuilt;
- removed or disabled entries need no rebuild: every hit is checked against the database.

The files are a cache, never the truth: a process on another machine (no shared disk), or one
whose files are older than the counter, reads what it lacks from the database.

One ``IndexStore`` per process holds the indexes it serves, all at one banks version (the
counter's value when they were loaded). Scans and the CLI use it as is: every look-up checks
the counter and a change is loaded at once. Web and worker processes give it a freshness policy
(``REDLINE_INDEX_CHECK_SECONDS``, ``REDLINE_INDEX_RELOAD_JITTER``): the counter is read at most
that often, and a change is loaded after a random delay, so N processes told of the same change
spread their reloads instead of all reading the banks at once (HMA #1813: every matcher
reloading together took the service down). A reload builds the new indexes beside the old ones
and swaps them in; look-ups meanwhile answer from the old ones.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from redline.config import Settings
from redline.index.excerpts import ExcerptIndex
from redline.index.mih import MihIndex, Results, brute_force, hex_to_codes
from redline.index.textlsh import TextIndex
from redline.model import BankSignal
from redline.signals import BANKABLE, Hit, Indexed, SignalType, excerpt, minhash
from redline.store import counters

# Rows of a type indexed in parts (vPDQ's frames): id = (bank signal id << PART_BITS) | part.
PART_BITS = 20
DELTA_LIMIT = 50_000  # signals searched by brute force before the saved index is rebuilt
INDEXED_TYPES = tuple(name for name, cls in BANKABLE.items() if cls.indexed is not None)

__all__ = [
    "DELTA_LIMIT",
    "INDEXED_TYPES",
    "Freshness",
    "Hit",
    "IndexStore",
    "Serving",
    "SignalIndex",
]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Freshness:
    """How a process keeps its indexes current.

    ``check_every``: seconds between reads of the banks counter (0: every look-up);
    ``jitter``: a change is loaded after a random delay of up to this many seconds (0: at once);
    ``max_stale``: seconds a process may serve an older banks version than the database's before
    it says it is too stale (HMA answers 503 then); 0 never does.
    """

    check_every: float = 0.0
    jitter: float = 0.0
    max_stale: float = 0.0

    @classmethod
    def of(cls, settings: Settings) -> Freshness:
        """The policy of a web or worker process (``REDLINE_INDEX_*``)."""
        return cls(
            settings.index_check_seconds,
            settings.index_reload_jitter,
            settings.index_max_stale_seconds,
        )


@dataclass(frozen=True, slots=True)
class Serving:
    """What one process serves: its banks version against the database's, and since when."""

    pid: int
    banks_version: int  # the banks counter when the indexes served were loaded; -1: none yet
    database_version: int  # the counter as last read
    loaded_at: float  # unix time of the last load; 0 when none
    seconds_since_load: float
    behind_seconds: float  # how long a newer version has been known and not loaded yet
    reload_in: float | None  # seconds until the pending reload (jitter), None when none pending
    reloads: int
    stale: bool  # behind for longer than ``max_stale``

    def as_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "banks_version": self.banks_version,
            "database_version": self.database_version,
            "loaded_at": round(self.loaded_at, 3),
            "seconds_since_load": round(self.seconds_since_load, 3),
            "behind_seconds": round(self.behind_seconds, 3),
            "reload_in": None if self.reload_in is None else round(self.reload_in, 3),
            "reloads": self.reloads,
            "stale": self.stale,
        }


@dataclass(slots=True)
class _Loaded:
    """The indexes served at one banks version; types are added as they are first used."""

    version: int
    loaded_at: float  # unix time
    indexes: dict[str, SignalIndex] = field(default_factory=dict)
    texts: dict[str, TextIndex[int]] = field(default_factory=dict)
    excerpts: ExcerptIndex | None = None  # read on first use


class IndexStore:
    """The bank indexes one process serves, kept current with the banks (thread-safe)."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        freshness: Freshness | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.folder = data_dir / "index"
        self.freshness = freshness or Freshness()
        self._clock = clock
        self._loaded: _Loaded | None = None
        self._latest = -1  # the counter as last read
        self._checked = -float("inf")  # clock() at the last read of the counter
        self._behind_since: float | None = None  # clock() when a newer version was first seen
        self._due: float | None = None  # clock() when the pending reload may start
        self.reloads = 0
        self._prompt = False  # the next check loads a change at once (this process made it)
        # One reload at a time; look-ups never wait for it (they use what is loaded).
        self._reloading = threading.Lock()
        # Adding a type's index to what is loaded (first use of that type).
        self._adding = threading.Lock()
        # Each process draws its own delays, whatever it inherited from a fork.
        self._random = random.SystemRandom()

    def get(self, signal_type: str) -> SignalIndex:
        """The served index of ``signal_type`` (one of ``INDEXED_TYPES``), loading it on first
        use."""
        if _indexed(signal_type) is None:
            raise ValueError(f"no index for signal type {signal_type!r}")
        loaded = self.current()
        index = loaded.indexes.get(signal_type)
        if index is None:
            with self._adding:
                index = loaded.indexes.get(signal_type)
                if index is None:
                    index = self._refresh(signal_type, None, loaded.version)
                    loaded.indexes[signal_type] = index
        return index

    def text(self, signal_type: str) -> TextIndex[int]:
        """The text banks' signatures of ``signal_type`` (bank signal id -> MinHash), at the
        served banks version.

        Kept in memory only: text banks hold thousands of statements, not millions of hashes,
        and building from the database takes a moment.
        """
        loaded = self.current()
        index = loaded.texts.get(signal_type)
        if index is None:
            with self._adding:
                index = loaded.texts.get(signal_type)
                if index is None:
                    index = self._read_text(signal_type)
                    loaded.texts[signal_type] = index
        return index

    def excerpts(self) -> ExcerptIndex:
        """The banked texts' shingles for containment matching (``redline.signals.excerpt``),
        at the served banks version; in memory only, as ``text``."""
        loaded = self.current()
        index = loaded.excerpts
        if index is None:
            with self._adding:
                index = loaded.excerpts
                if index is None:
                    index = loaded.excerpts = self._read_excerpts()
        return index

    def rebuild(self, signal_type: str) -> SignalIndex:
        """Build the index from the database now, and save it."""
        loaded = self.current()
        with self._adding:
            index = self._build(signal_type, loaded.version)
            loaded.indexes[signal_type] = index
            return index

    def current(self) -> _Loaded:
        """What is served now, after reading the counter if it is time to, and reloading if a
        change is due (unless another thread is reloading: then what is loaded)."""
        now = self._clock()
        loaded = self._loaded
        if loaded is None:
            with self._reloading:  # nothing to answer from yet: the first load is waited for
                loaded = self._loaded
                if loaded is None:
                    loaded = self._loaded = _Loaded(self._read_counter(now), time.time())
            return loaded
        if now - self._checked >= self.freshness.check_every:
            self._check(now)
        if self._due is not None and now >= self._due and self._reloading.acquire(blocking=False):
            try:
                self._reload(now)
            finally:
                self._reloading.release()
        return self._loaded or loaded

    def serving(self) -> Serving:
        """This process's banks version against the database's, read now (a pending reload
        keeps its time: asking does not hurry it)."""
        loaded = self.current()
        now = self._clock()
        self._check(now)
        behind = 0.0 if self._behind_since is None else max(0.0, now - self._behind_since)
        limit = self.freshness.max_stale
        return Serving(
            pid=os.getpid(),
            banks_version=loaded.version,
            database_version=self._latest,
            loaded_at=loaded.loaded_at,
            seconds_since_load=max(0.0, time.time() - loaded.loaded_at),
            behind_seconds=behind,
            reload_in=None if self._due is None else max(0.0, self._due - now),
            reloads=self.reloads,
            stale=limit > 0 and behind > limit,
        )

    def expect_change(self) -> None:
        """This process may just have changed the banks: the next look-up reads the counter and
        loads a change without delay, so whoever made the change sees it at once. (Only this
        process: the others still spread their reloads.)"""
        self._prompt = True
        self._checked = -float("inf")

    def too_stale(self) -> bool:
        """Whether this process has served an older banks version than the database's for longer
        than ``max_stale`` (nothing is read: as of the last check)."""
        limit = self.freshness.max_stale
        since = self._behind_since
        return limit > 0 and since is not None and self._clock() - since > limit

    def status(self) -> dict[str, dict[str, Any]]:
        """Per indexed type: present, size, built_to (unix time), generation; nothing is built."""
        out: dict[str, dict[str, Any]] = {}
        served = self._loaded.indexes if self._loaded is not None else {}
        for signal_type in INDEXED_TYPES:
            loaded = served.get(signal_type)
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

    def _read_counter(self, now: float) -> int:
        with self.engine.connect() as connection:
            version = counters.current(connection, counters.BANKS)
        self._latest, self._checked = version, now
        return version

    def _check(self, now: float) -> None:
        """Read the counter; on a change not yet pending, set when its reload may start (at once
        after a change this process made)."""
        prompt, self._prompt = self._prompt, False
        version = self._read_counter(now)
        loaded = self._loaded
        if loaded is None or version == loaded.version:
            return
        if self._behind_since is None:
            self._behind_since = now
        if prompt or self.freshness.jitter <= 0:
            self._due = now
        elif self._due is None:
            # One delay per pending reload, drawn once: drawing again at every check and keeping
            # the earliest would pull each process's reload towards the change the more often it
            # checks, and the fleet would reload together again.
            self._due = now + self._random.uniform(0.0, self.freshness.jitter)

    def _reload(self, now: float) -> None:
        """Load the types served now at the counter's current version, beside the old ones,
        then swap. A failure keeps the old ones and tries again after the check interval."""
        old = self._loaded
        assert old is not None
        with self._adding:
            indexes, texts = dict(old.indexes), list(old.texts)
            excerpts = old.excerpts is not None
        try:
            version = self._read_counter(now)
            new = _Loaded(version, time.time())
            for signal_type, index in indexes.items():
                new.indexes[signal_type] = self._refresh(signal_type, index, version)
            for signal_type in texts:
                new.texts[signal_type] = self._read_text(signal_type)
            if excerpts:
                new.excerpts = self._read_excerpts()
        except Exception:  # the old indexes still answer; staleness is reported
            log.exception("reloading the bank indexes failed; serving version %s", old.version)
            self._due = now + max(self.freshness.check_every, 1.0)
            return
        self._loaded = new
        self._due = self._behind_since = None
        self.reloads += 1

    def _read_text(self, signal_type: str) -> TextIndex[int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(BankSignal.id, BankSignal.value).where(BankSignal.signal_type == signal_type)
            ).all()
        return TextIndex((int(i), value) for i, value in rows)

    def _read_excerpts(self) -> ExcerptIndex:
        # Kept in the meta of the text_minhash signal of texts banked from their words.
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(BankSignal.id, BankSignal.meta).where(
                    BankSignal.signal_type == minhash.SIGNAL_NAME
                )
            ).all()
        found = ((int(i), excerpt.banked_from_meta(meta)) for i, meta in rows)
        return ExcerptIndex((i, banked) for i, banked in found if banked is not None)

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
        self._save(signal_type, main, meta)
        return SignalIndex(main, *_empty(), meta, _in_parts(signal_type))

    def _save(self, signal_type: str, main: MihIndex, meta: dict[str, Any]) -> None:
        """Keep the index on disk for the next process to start from. Write beside, then swap:
        a reader never sees a half-written index. Several processes may save at once (each
        writes its own staging folder); a save that loses such a race is dropped, as the files
        are only a cache of the database."""
        target = self.folder / signal_type
        staging = self.folder / f".{signal_type}.{os.getpid()}.{threading.get_ident()}.new"
        try:
            shutil.rmtree(staging, ignore_errors=True)
            main.save(staging, meta)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        except OSError as error:
            log.warning("bank index of %s not saved: %s", signal_type, error)
            shutil.rmtree(staging, ignore_errors=True)


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
