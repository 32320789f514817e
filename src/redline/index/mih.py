"""Exact Hamming range search over 256-bit hashes by multi-index hashing (Norouzi et al.).

The 256 bits are cut into ``m`` parts. If two hashes are within distance ``r``, with
``r = m * s + a`` (0 <= a < m), then by the pigeonhole principle one of the first ``a + 1`` parts
is within ``s`` of the query's, or one of the others within ``s - 1``. Each part has a table from
its value to the hashes having it; a query looks up every value within that radius of its own
parts, gathers the hashes found and keeps those really within ``r``. Nothing within ``r`` can be
missed, so results equal a brute-force scan (the tests check this), unlike approximate indexes.

Tables are stored as CSR arrays (bucket offsets, then ids sorted by part value), so memory is the
hashes (32 bytes each) plus 4 bytes per hash per part, plus ``m * 2^bits`` offsets.

The query runs in two passes: first gather candidate ids from the buckets (sequential reads),
then verify them in a tight loop whose loads do not depend on each other, so the CPU overlaps the
cache misses of the random reads that dominate the cost.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np

WORDS = 4  # 64-bit words per 256-bit hash
MAX_PART_RADIUS = 3


def parts_for(count: int) -> int:
    """How many parts to cut hashes into for an index of ``count`` hashes.

    Longer parts mean fewer candidates per probe but more probes per query. Measured on this code
    (benchmarks/pdq_index.py, random hashes, radius 31): at 1M hashes 14 parts answer in 98 us
    against 166 us for 16; at 200k they are equal and 16 parts use less memory; at 10M 12 parts
    are fastest (508 us against 1,150 for 14 and 2,197 for 16).
    """
    if count < 500_000:
        return 16
    return 14 if count < 4_000_000 else 12


def part_layout(parts: int) -> tuple[np.ndarray, np.ndarray]:
    """(first bit, bit length) of each part; bit 0 is the hash's most significant bit."""
    base, extra = divmod(256, parts)
    lengths = np.array([base + (1 if j < extra else 0) for j in range(parts)], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return starts, lengths


def part_radii(parts: int, radius: int) -> np.ndarray:
    """Per-part search radius that guarantees exact recall at ``radius`` (see module doc)."""
    per_part, extra = divmod(radius, parts)
    radii = np.array([per_part if j <= extra else per_part - 1 for j in range(parts)])
    if radii.max() > MAX_PART_RADIUS:
        raise ValueError(f"radius {radius} is too large for {parts} parts")
    return radii.astype(np.int64)


def hex_to_codes(hexes: list[str]) -> np.ndarray:
    """(N, 4) uint64 array of 64-hex-digit hashes, most significant word first."""
    raw = bytes.fromhex("".join(hexes)) if hexes else b""
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, WORDS)


def codes_to_hex(codes: np.ndarray) -> list[str]:
    """Inverse of ``hex_to_codes``."""
    data = np.ascontiguousarray(codes.astype(">u8")).tobytes()
    return [data[i : i + 32].hex() for i in range(0, len(data), 32)]


@nb.njit(cache=True, inline="always")
def _popcount(x: np.uint64) -> np.uint64:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@nb.njit(cache=True, inline="always")
def _distance(codes: np.ndarray, i: int, q: np.ndarray) -> int:
    return int(
        _popcount(codes[i, 0] ^ q[0])
        + _popcount(codes[i, 1] ^ q[1])
        + _popcount(codes[i, 2] ^ q[2])
        + _popcount(codes[i, 3] ^ q[3])
    )


@nb.njit(cache=True)
def _part_value(code: np.ndarray, start: int, length: int) -> int:
    word, bit = start >> 6, start & 63
    if bit + length <= 64:
        return int((code[word] >> np.uint64(64 - bit - length)) & np.uint64((1 << length) - 1))
    high = 64 - bit
    low = length - high
    upper = code[word] & np.uint64((1 << high) - 1)
    lower = code[word + 1] >> np.uint64(64 - low)
    return int((upper << np.uint64(low)) | lower)


@nb.njit(cache=True)
def _part_values(codes: np.ndarray, start: int, length: int) -> np.ndarray:
    out = np.empty(codes.shape[0], dtype=np.int64)
    for i in range(codes.shape[0]):
        out[i] = _part_value(codes[i], start, length)
    return out


@nb.njit(cache=True)
def _counting_sort(values: np.ndarray, offsets: np.ndarray, order: np.ndarray) -> None:
    """Fill ``order`` with row numbers sorted by ``values`` (stable), given bucket ``offsets``.

    Linear time: the bucket sizes are already counted, so each row goes straight to its place.
    """
    position = offsets[:-1].astype(np.int64)
    for row in range(values.shape[0]):
        value = values[row]
        order[position[value]] = row
        position[value] += 1


@nb.njit(cache=True, inline="always")
def _gather(
    offsets: np.ndarray, base: int, key: int, order: np.ndarray, buffer: np.ndarray, n: int
) -> int:
    """Append the bucket's ids to ``buffer``; -1 when they would not fit."""
    lo = offsets[base + key]
    hi = offsets[base + key + 1]
    if n + (hi - lo) > buffer.shape[0]:
        return -1
    for p in range(lo, hi):
        buffer[n] = order[p]
        n += 1
    return n


@nb.njit(cache=True)
def _search(
    queries: np.ndarray,
    first: int,
    radius: int,
    starts: np.ndarray,
    lengths: np.ndarray,
    radii: np.ndarray,
    offsets: np.ndarray,
    orders: np.ndarray,
    table_starts: np.ndarray,
    codes: np.ndarray,
    buffer: np.ndarray,
    found: np.ndarray,
    found_d: np.ndarray,
    ends: np.ndarray,
) -> tuple[int, int]:
    """Search queries from ``first`` on; hits go to ``found``/``found_d`` in query order, and
    ``ends[q]`` is where query ``q``'s hits end.

    Returns (queries done, hits written). Stops early, before a query, when the candidates of
    that query might not fit ``buffer`` or its hits not fit ``found``: the caller grows them and
    calls again from there.
    """
    written = 0
    for qi in range(first, queries.shape[0]):
        q = queries[qi]
        n = 0
        for j in range(starts.shape[0]):
            length = lengths[j]
            base = table_starts[j]
            order = orders[j]
            key = _part_value(q, starts[j], length)
            n = _gather(offsets, base, key, order, buffer, n)
            if n < 0:
                return qi - first, written
            if radii[j] >= 1:
                for a in range(length):
                    k1 = key ^ (1 << a)
                    n = _gather(offsets, base, k1, order, buffer, n)
                    if n < 0:
                        return qi - first, written
                    if radii[j] >= 2:
                        for b in range(a + 1, length):
                            k2 = k1 ^ (1 << b)
                            n = _gather(offsets, base, k2, order, buffer, n)
                            if n < 0:
                                return qi - first, written
                            if radii[j] >= 3:
                                for c in range(b + 1, length):
                                    n = _gather(offsets, base, k2 ^ (1 << c), order, buffer, n)
                                    if n < 0:
                                        return qi - first, written
        start_written = written
        for p in range(n):
            row = buffer[p]
            d = _distance(codes, row, q)
            if d <= radius:
                if written >= found.shape[0]:
                    return qi - first, start_written
                found[written] = row
                found_d[written] = d
                written += 1
        # A hash close in several parts is gathered once per part: keep each row once.
        count = written - start_written
        if count > 1:
            rows = found[start_written:written].copy()
            dists = found_d[start_written:written].copy()
            order_idx = np.argsort(rows, kind="mergesort")
            written = start_written
            last = -1
            for i in order_idx:
                if rows[i] != last:
                    found[written] = rows[i]
                    found_d[written] = dists[i]
                    written += 1
                    last = rows[i]
        ends[qi] = written
    return queries.shape[0] - first, written


@nb.njit(cache=True)
def _scan(
    queries: np.ndarray, radius: int, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brute force: every row within ``radius`` of each query (the reference, and small deltas)."""
    result_offsets = np.zeros(queries.shape[0] + 1, dtype=np.int64)
    rows_out = []
    dists_out = []
    for qi in range(queries.shape[0]):
        q = queries[qi]
        for row in range(codes.shape[0]):
            d = _distance(codes, row, q)
            if d <= radius:
                rows_out.append(row)
                dists_out.append(d)
        result_offsets[qi + 1] = len(rows_out)
    rows = np.empty(len(rows_out), dtype=np.int64)
    dists = np.empty(len(dists_out), dtype=np.int32)
    for i in range(len(rows_out)):
        rows[i] = rows_out[i]
        dists[i] = dists_out[i]
    return result_offsets, rows, dists


@dataclass(frozen=True, slots=True)
class Results:
    """Hits of a batch of queries: for query ``q``, ``ids[offsets[q]:offsets[q+1]]``."""

    offsets: np.ndarray
    ids: np.ndarray
    distances: np.ndarray

    def of(self, query: int) -> list[tuple[int, int]]:
        """(id, distance) pairs of one query."""
        lo, hi = int(self.offsets[query]), int(self.offsets[query + 1])
        return list(zip(self.ids[lo:hi].tolist(), self.distances[lo:hi].tolist(), strict=True))


class MihIndex:
    """An immutable exact range-search index over 256-bit hashes, each with an integer id."""

    def __init__(
        self,
        codes: np.ndarray,
        ids: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        offsets: np.ndarray,
        table_starts: np.ndarray,
        orders: np.ndarray,
    ) -> None:
        self.codes, self.ids = codes, ids
        self.starts, self.lengths = starts, lengths
        self.offsets, self.table_starts, self.orders = offsets, table_starts, orders
        # Working space reused by every search (grown when a search needs more).
        self._buffer = np.empty(1 << 16, dtype=np.uint32)
        self._found = np.empty(1024, dtype=np.int64)
        self._found_d = np.empty(1024, dtype=np.int32)
        self._radii: dict[int, np.ndarray] = {}
        # The working space is shared, so searches take turns (the compiled search holds the
        # GIL anyway: threads would not run it in parallel).
        self._lock = threading.Lock()

    @classmethod
    def build(cls, codes: np.ndarray, ids: np.ndarray, parts: int | None = None) -> MihIndex:
        """Index ``codes`` ((N, 4) uint64), each with the id at the same row of ``ids``."""
        codes = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, WORDS)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if codes.shape[0] != ids.shape[0]:
            raise ValueError("one id per hash")
        if codes.shape[0] >= 2**32:
            raise ValueError("at most 2^32 - 1 hashes per index")
        parts = parts or parts_for(codes.shape[0])
        starts, lengths = part_layout(parts)
        table_sizes = (1 << lengths) + 1
        table_starts = np.concatenate([[0], np.cumsum(table_sizes)]).astype(np.int64)
        offsets = np.zeros(int(table_starts[-1]), dtype=np.uint32)
        orders = np.empty((parts, codes.shape[0]), dtype=np.uint32)
        for j in range(parts):
            values = _part_values(codes, int(starts[j]), int(lengths[j]))
            counts = np.bincount(values, minlength=1 << int(lengths[j]))
            table = offsets[table_starts[j] : table_starts[j + 1]]
            np.cumsum(counts, out=table[1:])
            _counting_sort(values, table, orders[j])
        return cls(codes, ids, starts, lengths, offsets, table_starts, orders)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory the index holds."""
        return sum(a.nbytes for a in (self.codes, self.ids, self.offsets, self.orders))

    def search(self, queries: np.ndarray, radius: int) -> Results:
        """Every indexed hash within ``radius`` of each query, exactly (thread-safe)."""
        with self._lock:
            return self._search_locked(queries, radius)

    def _search_locked(self, queries: np.ndarray, radius: int) -> Results:
        queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, WORDS)
        count = queries.shape[0]
        if len(self) == 0 or count == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Results(np.zeros(count + 1, dtype=np.int64), empty, empty.astype(np.int32))
        radii = self._radii.get(radius)
        if radii is None:
            try:
                radii = self._radii[radius] = part_radii(len(self.starts), radius)
            except ValueError:
                # Beyond what the parts can probe (radius > 47 with 12 parts): exact, by a scan.
                return brute_force(self.codes, self.ids, queries, radius)
        if self._found.shape[0] < 4 * count:
            self._found = np.empty(4 * count, dtype=np.int64)
            self._found_d = np.empty(4 * count, dtype=np.int32)
        ends = np.empty(count, dtype=np.int64)
        rows: list[np.ndarray] = []
        dists: list[np.ndarray] = []
        done = 0
        while True:
            advanced, written = _search(
                queries,
                done,
                radius,
                self.starts,
                self.lengths,
                radii,
                self.offsets,
                self.orders,
                self.table_starts,
                self.codes,
                self._buffer,
                self._found,
                self._found_d,
                ends,
            )
            if done == 0 and advanced == count:  # the usual case: one pass did everything
                offsets = np.zeros(count + 1, dtype=np.int64)
                offsets[1:] = ends
                return Results(
                    offsets, self.ids[self._found[:written]], self._found_d[:written].copy()
                )
            ends[done : done + advanced] += sum(len(r) for r in rows)
            rows.append(self._found[:written].copy())
            dists.append(self._found_d[:written].copy())
            done += advanced
            if done == count:
                break
            if advanced == 0:
                # Not even one query fitted: grow the buffers, then go on from there.
                limit = len(self.starts) * len(self)
                if self._buffer.shape[0] < limit:
                    self._buffer = np.empty(min(self._buffer.shape[0] * 4, limit), dtype=np.uint32)
                self._found = np.empty(self._found.shape[0] * 4, dtype=np.int64)
                self._found_d = np.empty(self._found.shape[0], dtype=np.int32)
        offsets = np.zeros(count + 1, dtype=np.int64)
        offsets[1:] = ends
        return Results(offsets, self.ids[np.concatenate(rows)], np.concatenate(dists))

    def save(self, folder: Path, meta: dict[str, object]) -> None:
        """Write the index as .npy files (memory-mappable) and ``meta`` as JSON."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("codes", "ids", "starts", "lengths", "offsets", "table_starts", "orders"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> tuple[MihIndex, dict[str, object]]:
        """An index saved by ``save``, memory-mapped, and its meta."""
        arrays = {}
        for name in ("codes", "ids", "starts", "lengths", "offsets", "table_starts", "orders"):
            path = folder / f"{name}.npy"
            # An empty array cannot be memory-mapped; it costs nothing to read.
            arrays[name] = np.load(path, mmap_mode="r" if path.stat().st_size > 4096 else None)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        return cls(**arrays), meta


def brute_force(codes: np.ndarray, ids: np.ndarray, queries: np.ndarray, radius: int) -> Results:
    """Every hash within ``radius`` by a full scan: the reference the index must equal."""
    queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, WORDS)
    codes = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, WORDS)
    offsets, rows, dists = _scan(queries, radius, codes)
    return Results(offsets, np.asarray(ids, dtype=np.int64)[rows], dists)
