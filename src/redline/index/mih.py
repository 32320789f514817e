"""Exact Hamming range search over 256-bit hashes by multi-index hashing (Norouzi et al.).

The 256 bits are cut into ``m`` parts. If two hashes are within distance ``r``, with
``r = m * s + a`` (0 <= a < m), then by the pigeonhole principle one of the first ``a + 1`` parts
is within ``s`` of the query's, or one of the others within ``s - 1``. Each part has a table from
its value to the hashes having it; a query looks up every value within that radius of its own
parts, gathers the hashes found and keeps those really within ``r``. Nothing within ``r`` can be
missed, so results equal a brute-force scan (the tests check this), unlike approximate indexes.

Tables are stored as CSR arrays (where each bucket starts, then row numbers sorted by part
value). The hashes themselves are stored in the order of the first table, so that table needs no
row numbers and its buckets are runs of hashes read in sequence. Where each bucket starts is kept
one of two ways per part (``_span``): dense offsets, 4 bytes a bucket; or, for long sparse parts
(``_in_planes``: 22 bits or more, at most ``PLANES_MAX_LOAD`` hashes a bucket), in planes: per
block of 32 buckets 16 bytes, where the block starts and each bucket's size (0-6) as three
32-bit planes, a bucket's start being the block's plus the sizes before it (three popcounts); a
block with a bucket of 7 or more lists its 33 offsets instead (``_fill_planes``). Memory is the
hashes (32 bytes each) and their ids (8), 4 bytes per hash per part but the first, and the
tables: at 10M hashes 6 bytes a hash in planes where dense offsets took 45 (127 -> 86 bytes a
hash in all).

On a large index the cost of a query is random memory reads: one bucket offset per probe, one
row number line per non-empty bucket, one hash per candidate, each a likely cache miss. The
query runs in stages, each issuing software prefetches for every read of the next stage before
any of them is needed (probe keys -> offsets -> row numbers -> hashes), so the misses overlap
instead of stalling one after the other. Part lengths and how many parts are chosen per index
size by counting those reads (``layout_for``), within 128 bytes a hash.

A batch of queries (``BATCH_MIN`` or more: a scan matches chunks of hashes) is walked part by
part instead, all its probes of a part sorted by bucket first (``_search_batch``): the part's
offsets and row numbers are then read in order, shared by the queries, and only the candidates'
hashes remain random reads. CPU time a query, same process, main's search -> this one: 1M
hashes, calls of 1,000 queries, 59 -> 38 us; 10M, 145 -> 114 us, and 138 -> 77 us in calls of
16,384 (the more queries a call, the more of the tables' lines they share). Planes, 8 times
smaller than dense offsets, share far more lines: at 10M, calls of 1,000, 106 -> 90 us a query
(medians of alternated runs of ``benchmarks/pdq_index.py``: 143x -> 165x faiss flat). What is
left there: about 2,900 bucket look-ups, 1,700 row number lines and 2,900 hashes a query, the
last two random reads (this machine does one per 9 ns at best, prefetched).
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils as numba_cgutils
from numba.core import types
from numba.extending import intrinsic

WORDS = 4  # 64-bit words per 256-bit hash
MAX_PART_RADIUS = 3
DESIGN_RADIUS = 31  # the radius layouts are chosen for: PDQ's and vPDQ's match threshold
MAX_BYTES_PER_HASH = 128  # memory the layout may use on large indexes
HUGE_PAGE = 2 << 20


cgutils: Any = numba_cgutils  # numba's LLVM helpers are untyped


def _prefetch_typing(typingctx: Any, array: Any, index: Any) -> Any:
    """Hint the CPU to load the cache line of ``array[index]`` (row ``index`` of a 2-D array).

    numba has no prefetch of its own; this emits LLVM's, which never faults and changes nothing
    but timing.
    """
    signature = types.void(array, index)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        zero = ir.Constant(ir.IntType(64), 0)
        pointer = cgutils.get_item_pointer2(
            context,
            builder,
            data=view.data,
            shape=cgutils.unpack_tuple(builder, view.shape),
            strides=cgutils.unpack_tuple(builder, view.strides),
            layout=array_type.layout,
            inds=[row] + [zero] * (array_type.ndim - 1),
            wraparound=False,
            boundscheck=False,
        )
        byte_pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer.type, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        # read, keep in every cache level, data
        builder.call(function, [byte_pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return signature, codegen


_prefetch: Any = intrinsic(_prefetch_typing)


def _ball(bits: int, radius: int) -> int:
    """Keys within ``radius`` of a ``bits``-bit key: the probes of one part."""
    return sum(math.comb(bits, i) for i in range(radius + 1))


def _reads(lengths: tuple[int, ...], count: int, radius: int) -> float:
    """Expected random cache-line reads of one query (a non-match, the usual case).

    Per probe: its bucket's table entry (dense offsets or planes: one read either way), and
    its row numbers when the bucket is not empty; per candidate: its hash. Measured on this
    machine each costs about the same (a DRAM miss); planes, smaller, are more often cached,
    which this leaves out (see ``_bytes_per_hash``).
    """
    radii = part_radii(len(lengths), radius)
    total = 0.0
    for bits, part_radius in zip(lengths, radii.tolist(), strict=True):
        per_bucket = count / 2.0**bits
        total += _ball(bits, part_radius) * (2.0 - math.exp(-per_bucket) + per_bucket)
    return total


@lru_cache(maxsize=64)
def layout_for(count: int, radius: int = DESIGN_RADIUS) -> tuple[int, ...]:
    """Bit lengths of the parts (longest first, summing to 256) for an index of ``count`` hashes.

    Longer parts mean fewer candidates per probe but more probes per query, and bigger tables.
    Below 500k hashes the tables fit in cache and 16 parts of 16 bits are fastest (measured);
    above, the layout with the fewest expected memory reads (``_reads``) among those of at most
    two part lengths within ``MAX_BYTES_PER_HASH`` (as if dense). For radius 31 this gives 14
    parts (6 of 20 bits, 8 of 17) at 1M hashes and 11 (3 of 24 bits, 8 of 23, in planes) at 10M.
    """
    if count < 500_000:
        return (16,) * 16
    best: tuple[float, tuple[int, ...]] = (math.inf, (16,) * 16)
    for long in range(15, 27):
        for short in range(14, long + 1):
            for longs in range(1, 17):
                rest = 256 - longs * long
                if rest < 0 or rest % short or (short == long and rest):
                    continue
                lengths = (long,) * longs + (short,) * (rest // short)
                if len(lengths) > 16:
                    continue
                if _bytes_per_hash(lengths, count, planes=False) > MAX_BYTES_PER_HASH:
                    continue
                try:
                    cost = _reads(lengths, count, radius)
                except ValueError:
                    continue
                best = min(best, (cost, lengths))
    return best[1]


def _bytes_per_hash(lengths: tuple[int, ...], count: int, planes: bool = True) -> float:
    """Memory of an index of this layout per hash: hash, id, row numbers, bucket tables (4
    bytes a bucket dense, half a byte in planes; the few blocks that overflow are left out).

    ``planes=False``: as if every table were dense, the budget ``layout_for`` keeps. The
    longer parts planes would fit measured no faster: at 1M hashes 8 parts of 22 bits and 4 of
    20, all in planes, took 32.1-33.4 us a query in a batch against 30.8 for 6 of 20 and 8 of
    17, dense (``benchmarks/pdq_index.py``, separate runs); at 10M the layout is the same.
    """
    tables = sum(
        16 * (((1 << bits) + 31) >> 5)
        if planes and _in_planes(bits, count)
        else 4 * ((1 << bits) + 1)
        for bits in lengths
    )
    return 32 + 8 + 4 * (len(lengths) - 1) + tables / count


def _in_planes(bits: int, count: int) -> bool:
    """Whether a part of ``bits`` bits over ``count`` hashes keeps its table in planes: when
    its dense offsets would be large (``PLANES_MIN_BITS``), so their reads miss the caches, and
    its buckets sparse enough that few blocks overflow (``_fill_planes``). Small dense tables
    are cached anyway, and read with less work: at 1M hashes, 20-bit parts (4 MB of offsets)
    in planes made a batch 7% slower."""
    return bits >= PLANES_MIN_BITS and count <= PLANES_MAX_LOAD * 2.0**bits


def part_layout(parts: int | tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(first bit, bit length) of each part; bit 0 is the hash's most significant bit.

    ``parts`` is a number of parts of (nearly) equal length, or the lengths themselves.
    """
    if isinstance(parts, int):
        base, extra = divmod(256, parts)
        parts = tuple(base + (1 if j < extra else 0) for j in range(parts))
    if sum(parts) != 256 or list(parts) != sorted(parts, reverse=True):
        raise ValueError(f"part lengths {parts} must be longest first and sum to 256")
    lengths = np.array(parts, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return starts, lengths


def part_radii(parts: int, radius: int) -> np.ndarray:
    """Per-part search radius that guarantees exact recall at ``radius`` (see module doc).

    The extra radius goes to the first parts, the longest: their probes find fewer candidates.
    """
    per_part, extra = divmod(radius, parts)
    radii = np.array([per_part if j <= extra else per_part - 1 for j in range(parts)])
    if radii.max() > MAX_PART_RADIUS:
        raise ValueError(f"radius {radius} is too large for {parts} parts")
    return radii.astype(np.int64)


def in_huge_pages(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` in memory Linux backs with 2 MB pages (transparent huge pages, asked
    for by madvise), or ``array`` itself where that is not offered or not worth it.

    One TLB entry then covers 512 times more of the index, so the random reads of a search stop
    waiting on page-table walks: at 10M hashes 159 -> 133 us a query (CPU time, same run).
    """
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is None or array.nbytes < HUGE_PAGE:
        return array
    # Private: shared anonymous memory is shmem, which THP does not back by default.
    private = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    region = mmap.mmap(-1, -(-array.nbytes // HUGE_PAGE) * HUGE_PAGE, flags=private)
    with contextlib.suppress(OSError):  # THP disabled or unsupported: ordinary pages
        region.madvise(advice)
    copy = np.frombuffer(region, dtype=array.dtype, count=array.size).reshape(array.shape)
    copy[...] = array
    return copy


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


PLANES_MAX_LOAD = 1.5  # hashes a bucket up to which a part's table is stored in planes
PLANES_MIN_BITS = 22  # shorter parts keep dense offsets (16 MB at most: often cached)
OVERFLOW = 7  # a bucket size the planes cannot hold: its block lists its 33 offsets instead
FULL = np.uint32(0xFFFFFFFF)  # all three planes full: the mark of a block that overflowed


@nb.njit(cache=True)
def _fill_planes(offsets: np.ndarray, headers: np.ndarray, first_overflow: int) -> np.ndarray:
    """One part's table in planes, from its dense bucket ``offsets``; returns the offsets of the
    blocks that overflowed.

    Per block of 32 buckets, 16 bytes: where its first bucket starts, then each bucket's size
    (0-6) as three bit planes (bit ``i`` of plane ``k`` is bit ``k`` of bucket ``i``'s size). A
    block with a bucket of 7 hashes or more has full planes instead, and its first word says
    where its 33 offsets are listed (``first_overflow`` + its number among those blocks).
    """
    buckets = offsets.shape[0] - 1
    overflowed = 0
    for block in range(headers.shape[0]):
        for i in range(block * 32, min(block * 32 + 32, buckets)):
            if int(offsets[i + 1]) - int(offsets[i]) >= OVERFLOW:
                overflowed += 1
                break
    listed = np.empty(overflowed * 33, dtype=np.uint32)
    k = 0
    for block in range(headers.shape[0]):
        first = block * 32
        planes = np.zeros(3, dtype=np.uint32)
        over = False
        for i in range(32):
            size = np.int64(0)
            if first + i < buckets:
                size = np.int64(offsets[first + i + 1]) - np.int64(offsets[first + i])
            if size >= OVERFLOW:
                over = True
                break
            for plane in range(3):
                if size & (1 << plane):
                    planes[plane] |= np.uint32(1) << np.uint32(i)
        if over:
            headers[block, 0] = first_overflow + k
            headers[block, 1] = FULL
            headers[block, 2] = FULL
            headers[block, 3] = FULL
            for i in range(33):
                listed[k * 33 + i] = offsets[min(first + i, buckets)]
            k += 1
        else:
            headers[block, 0] = offsets[min(first, buckets)]
            headers[block, 1] = planes[0]
            headers[block, 2] = planes[1]
            headers[block, 3] = planes[2]
    return listed


@nb.njit(cache=True)
def _span(
    offsets: Any, headers: Any, overflow: np.ndarray, start: int, key: int
) -> tuple[int, int]:
    """Where the hashes of bucket ``key`` of a part (whose table starts at ``start``) are in
    the part's order: from its dense ``offsets``, or, when those are None, from its block's
    header (the sizes of the buckets before it summed by popcounts) or the block's listed
    offsets if it overflowed.

    Callers pass None for the table the part does not have, so numba compiles a version for
    each kind with the other branch pruned: a kind tested at every probe costs 12% at 1M.
    """
    if offsets is not None:
        return int(offsets[start + key]), int(offsets[start + key + 1])
    if headers is None:
        return 0, 0
    block = start + (key >> 5)
    bit = np.uint32(key & 31)
    low = headers[block, 1]
    middle = headers[block, 2]
    high = headers[block, 3]
    if low & middle & high == FULL:
        at = int(headers[block, 0]) * 33 + (key & 31)
        return int(overflow[at]), int(overflow[at + 1])
    below = np.uint64((np.uint32(1) << bit) - np.uint32(1))
    lo = (
        int(headers[block, 0])
        + int(_popcount(np.uint64(low) & below))
        + 2 * int(_popcount(np.uint64(middle) & below))
        + 4 * int(_popcount(np.uint64(high) & below))
    )
    size = ((low >> bit) & 1) + 2 * ((middle >> bit) & 1) + 4 * ((high >> bit) & 1)
    return lo, lo + int(size)


@nb.njit(cache=True)
def _prefetch_bucket(offsets: Any, headers: Any, start: int, key: int) -> None:
    """Prefetch what ``_span`` of this bucket reads first (None: as in ``_span``)."""
    if offsets is not None:
        _prefetch(offsets, start + key)
    if headers is not None:
        _prefetch(headers, start + (key >> 5))


@nb.njit(cache=True)
def _prefetch_buckets(offsets: Any, headers: Any, start: int, keys: np.ndarray) -> None:
    for i in range(keys.shape[0]):
        _prefetch_bucket(offsets, headers, start, keys[i])


@nb.njit(cache=True)
def _spans(
    offsets: Any,
    headers: Any,
    overflow: np.ndarray,
    start: int,
    keys: np.ndarray,
    spans: np.ndarray,
    first: bool,
    shift: int,
    rows_by_part: np.ndarray,
    codes: np.ndarray,
) -> int:
    """Each key's bucket span (``_span``) into ``spans``: rows of ``codes`` in the ``first``
    part, else positions in ``rows_by_part`` (``shift`` on); prefetches the next reads and
    returns the candidates found."""
    candidates = 0
    for s in range(keys.shape[0]):
        lo, hi = _span(offsets, headers, overflow, start, keys[s])
        if hi > lo:
            if first:
                _prefetch(codes, lo)
            else:
                lo += shift
                hi += shift
                _prefetch(rows_by_part, lo)
            candidates += hi - lo
        spans[s, 0] = lo
        spans[s, 1] = hi
    return candidates


@nb.njit(cache=True)
def _probe_keys(
    q: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    radii: np.ndarray,
    table_starts: np.ndarray,
    in_planes: np.ndarray,
    offsets: np.ndarray,
    headers: np.ndarray,
    slots: np.ndarray,
    table_ends: np.ndarray,
) -> None:
    """Every bucket a query probes, as the part's keys within its radius (``_part_probes``),
    table by table; what each bucket's look-up reads first is prefetched as soon as its part's
    keys are written."""
    n = 0
    for j in range(starts.shape[0]):
        length = lengths[j]
        base = table_starts[j]
        planes = in_planes[j] != 0
        radius = radii[j]
        if radius < 0:  # a part the pigeonhole does not need at this radius
            table_ends[j] = n
            continue
        key = _part_value(q, starts[j], length)
        found = _part_probes(key, length, radius, slots[n:])
        if planes:
            _prefetch_buckets(None, headers, base, slots[n : n + found])
        else:
            _prefetch_buckets(offsets, None, base, slots[n : n + found])
        n += found
        table_ends[j] = n


@nb.njit(cache=True)
def _search(
    queries: np.ndarray,
    first: int,
    radius: int,
    starts: np.ndarray,
    lengths: np.ndarray,
    radii: np.ndarray,
    offsets: np.ndarray,
    headers: np.ndarray,
    overflow: np.ndarray,
    in_planes: np.ndarray,
    rows_by_part: np.ndarray,
    table_starts: np.ndarray,
    codes: np.ndarray,
    slots: np.ndarray,
    table_ends: np.ndarray,
    spans: np.ndarray,
    buffer: np.ndarray,
    found: np.ndarray,
    found_d: np.ndarray,
    ends: np.ndarray,
) -> tuple[int, int]:
    """Search queries from ``first`` on; hits go to ``found``/``found_d`` in query order, and
    ``ends[q]`` is where query ``q``'s hits end.

    Table 0's buckets are runs of ``codes`` (stored in its order); table ``j > 0`` keeps its
    row numbers in ``rows_by_part[(j - 1) * N :]``. Returns (queries done, hits written). Stops
    early, before a query, when its candidates might not fit ``buffer`` or its hits not fit
    ``found``: the caller grows them and calls again from there.
    """
    size = codes.shape[0]
    written = 0
    for qi in range(first, queries.shape[0]):
        q = queries[qi]
        _probe_keys(
            q, starts, lengths, radii, table_starts, in_planes, offsets, headers, slots, table_ends
        )
        # Bucket spans (rows of table 0, positions of the others); prefetch the next reads.
        candidates = 0
        previous_end = 0
        for j in range(starts.shape[0]):
            shift = (j - 1) * size
            keys = slots[previous_end : table_ends[j]]
            part_spans = spans[previous_end : table_ends[j]]
            base = table_starts[j]
            if in_planes[j]:
                found_here = _spans(
                    None,
                    headers,
                    overflow,
                    base,
                    keys,
                    part_spans,
                    j == 0,
                    shift,
                    rows_by_part,
                    codes,
                )
            else:
                found_here = _spans(
                    offsets,
                    None,
                    overflow,
                    base,
                    keys,
                    part_spans,
                    j == 0,
                    shift,
                    rows_by_part,
                    codes,
                )
            candidates += found_here
            previous_end = table_ends[j]
        if candidates > buffer.shape[0]:
            return qi - first, written
        # Candidate rows; prefetch each hash.
        n = 0
        for s in range(table_ends[0]):
            for row in range(spans[s, 0], spans[s, 1]):
                buffer[n] = row
                n += 1
        for s in range(table_ends[0], previous_end):
            for p in range(spans[s, 0], spans[s, 1]):
                row = rows_by_part[p]
                _prefetch(codes, row)
                buffer[n] = row
                n += 1
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


BATCH_MIN = 16  # queries from which a search walks the tables part by part (measured)
QUERY_BITS = 14  # probes and candidates are packed as (key or row) << QUERY_BITS | query
BATCH_BLOCK = 1 << QUERY_BITS  # queries walked together: their probes of a part sorted as one
BIN_BITS = 12  # probes are sorted by their key's top bits only: near enough to sequential
AHEAD = 24  # reads prefetched this many probes or candidates before they are used
PROBE_SPACE = 1 << 22  # most probes of a part held at once (32 MB)
RING = 32  # a candidate's hash is checked this many candidates after it is prefetched


@nb.njit(cache=True)
def _part_probes(key: int, length: int, radius: int, out: np.ndarray) -> int:
    """Write every key within ``radius`` of ``key`` (a ``length``-bit part) to ``out``."""
    out[0] = key
    n = 1
    if radius >= 1:
        for a in range(length):
            k1 = key ^ (1 << a)
            out[n] = k1
            n += 1
            if radius >= 2:
                for b in range(a + 1, length):
                    k2 = k1 ^ (1 << b)
                    out[n] = k2
                    n += 1
                    if radius >= 3:
                        for c in range(b + 1, length):
                            out[n] = k2 ^ (1 << c)
                            n += 1
    return n


@nb.njit(cache=True, inline="always")
def _check_one(
    queries: np.ndarray, radius: int, codes: np.ndarray, candidate: int, hits: list[int]
) -> None:
    """Keep a candidate (row << QUERY_BITS | query) if within ``radius`` of its query, as
    (query << 41 | row << 9 | distance): sorting the hits orders them by query, then row."""
    row = candidate >> QUERY_BITS
    qi = candidate & ((1 << QUERY_BITS) - 1)
    d = _distance(codes, row, queries[qi])
    if d <= radius:
        hits.append((qi << 41) | (row << 9) | d)


@nb.njit(cache=True)
def _walk(
    queries: np.ndarray,
    radius: int,
    probes: np.ndarray,
    total: int,
    offsets: Any,
    headers: Any,
    overflow: np.ndarray,
    base: int,
    rows_by_part: np.ndarray,
    rows_shift: int,
    first: bool,
    codes: np.ndarray,
    ring: np.ndarray,
    gathered: int,
    hits: list[int],
) -> int:
    """Walk one part's probes in key order: bucket tables AHEAD probes early, row numbers half
    as early. Each candidate's hash is prefetched when found and checked RING candidates
    later. Returns the candidates gathered so far (None tables: as in ``_span``)."""
    mask = (1 << QUERY_BITS) - 1
    for i in range(total):
        if i + AHEAD < total:
            _prefetch_bucket(offsets, headers, base, probes[i + AHEAD] >> QUERY_BITS)
        if not first and i + AHEAD // 2 < total:
            key = probes[i + AHEAD // 2] >> QUERY_BITS
            ahead, _ = _span(offsets, headers, overflow, base, key)
            _prefetch(rows_by_part, rows_shift + ahead)
        lo, hi = _span(offsets, headers, overflow, base, probes[i] >> QUERY_BITS)
        qi = probes[i] & mask
        for p in range(lo, hi):
            row = p if first else int(rows_by_part[rows_shift + p])
            _prefetch(codes, row)
            if gathered >= RING:
                _check_one(queries, radius, codes, ring[gathered & (RING - 1)], hits)
            ring[gathered & (RING - 1)] = (row << QUERY_BITS) | qi
            gathered += 1
    return gathered


@nb.njit(cache=True)
def _search_batch(
    queries: np.ndarray,
    radius: int,
    starts: np.ndarray,
    lengths: np.ndarray,
    radii: np.ndarray,
    offsets: np.ndarray,
    headers: np.ndarray,
    overflow: np.ndarray,
    in_planes: np.ndarray,
    rows_by_part: np.ndarray,
    table_starts: np.ndarray,
    codes: np.ndarray,
    probes: np.ndarray,
    scratch: np.ndarray,
) -> np.ndarray:
    """Hits of a block of queries, walked part by part: (query << 41 | row << 9 | distance),
    sorted, each hash once per query.

    A query on its own reads its probes' bucket offsets and row numbers at random places, each
    a likely DRAM miss. Here the block's probes of one part are sorted by key first (by the
    key's top ``BIN_BITS`` bits: a counting sort in two passes that generate the probes twice
    rather than store them unsorted), so the part's offsets and row numbers are read in order,
    from lines the queries share and the hardware streams. The hashes of the candidates stay
    random reads: each is prefetched when found and checked ``RING`` candidates later.
    ``probes`` (block size x most probes of a query in a part) and ``scratch`` (most probes of a
    query in a part) are working space kept by the caller: allocating them anew each call costs
    page faults.
    """
    size = codes.shape[0]
    count = queries.shape[0]
    keys = np.empty(count, dtype=np.int64)
    ring = np.empty(RING, dtype=np.int64)
    gathered = 0
    hits: list[int] = [0]
    hits.pop()
    for j in range(starts.shape[0]):
        part_radius = int(radii[j])
        if part_radius < 0:
            continue
        length = int(lengths[j])
        base = table_starts[j]
        planes = in_planes[j] != 0
        shift = max(length - BIN_BITS, 0)
        bins = np.zeros((1 << (length - shift)) + 1, dtype=np.int64)
        for qi in range(count):
            keys[qi] = _part_value(queries[qi], starts[j], length)
            n = _part_probes(keys[qi], length, part_radius, scratch)
            for p in range(n):
                bins[(scratch[p] >> shift) + 1] += 1
        for b in range(1, bins.shape[0]):
            bins[b] += bins[b - 1]
        total = bins[-1]
        for qi in range(count):
            n = _part_probes(keys[qi], length, part_radius, scratch)
            for p in range(n):
                b = scratch[p] >> shift
                probes[bins[b]] = (scratch[p] << QUERY_BITS) | qi
                bins[b] += 1
        rows_shift = (j - 1) * size
        # Two calls, not one with the table chosen: numba compiles ``_walk`` once per kind,
        # with the other kind's branch pruned (``_span``).
        if planes:
            gathered = _walk(
                queries,
                radius,
                probes,
                total,
                None,
                headers,
                overflow,
                base,
                rows_by_part,
                rows_shift,
                j == 0,
                codes,
                ring,
                gathered,
                hits,
            )
        else:
            gathered = _walk(
                queries,
                radius,
                probes,
                total,
                offsets,
                None,
                overflow,
                base,
                rows_by_part,
                rows_shift,
                j == 0,
                codes,
                ring,
                gathered,
                hits,
            )
    for i in range(max(gathered - RING, 0), gathered):
        _check_one(queries, radius, codes, ring[i & (RING - 1)], hits)
    # A hash close in several parts is found once per part: keep it once.
    packed = np.sort(np.array(hits, dtype=np.int64))
    kept = 0
    for i in range(packed.shape[0]):
        if kept == 0 or (packed[i] >> 9) != (packed[kept - 1] >> 9):
            packed[kept] = packed[i]
            kept += 1
    return packed[:kept]


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


_NO_OFFSETS = np.zeros(0, dtype=np.uint32)
ARRAYS = (
    "codes",
    "ids",
    "starts",
    "lengths",
    "offsets",
    "headers",
    "overflow",
    "in_planes",
    "table_starts",
    "rows_by_part",
)
FORMAT = 2  # of saved indexes; 1 (dense offsets only) had no headers, overflow nor in_planes


class MihIndex:
    """An immutable exact range-search index over 256-bit hashes, each with an integer id.

    ``codes`` and ``ids`` are stored in the order of the first part's value (not the order
    given to ``build``); ``rows_by_part`` holds, for each other part, the rows sorted by that
    part's value, one run of ``len(codes)`` per part. Part ``j``'s bucket table is dense
    (``offsets`` from ``table_starts[j]``) or, where ``in_planes[j]``, blocks of ``headers``
    from ``table_starts[j]`` (with ``overflow``): see the module doc.
    """

    def __init__(
        self,
        codes: np.ndarray,
        ids: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        offsets: np.ndarray,
        headers: np.ndarray,
        overflow: np.ndarray,
        in_planes: np.ndarray,
        table_starts: np.ndarray,
        rows_by_part: np.ndarray,
    ) -> None:
        if rows_by_part.shape != ((len(starts) - 1) * codes.shape[0],):
            raise ValueError("rows_by_part does not match the parts and hashes")
        if in_planes.shape != starts.shape or headers.shape[1:] != (4,):
            raise ValueError("the bucket tables do not match the parts")
        self.codes, self.ids = codes, ids
        self.starts, self.lengths = starts, lengths
        self.offsets, self.headers, self.overflow = offsets, headers, overflow
        self.in_planes, self.table_starts, self.rows_by_part = in_planes, table_starts, rows_by_part
        # Working space reused by every search (grown when a search needs more).
        self._buffer = np.empty(1 << 16, dtype=np.uint32)
        self._found = np.empty(1024, dtype=np.int64)
        self._found_d = np.empty(1024, dtype=np.int32)
        self._probe_space = np.empty(0, dtype=np.int64)
        self._radii: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        # The working space is shared, so searches take turns (the compiled search holds the
        # GIL anyway: threads would not run it in parallel).
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls, codes: np.ndarray, ids: np.ndarray, parts: int | tuple[int, ...] | None = None
    ) -> MihIndex:
        """Index ``codes`` ((N, 4) uint64), each with the id at the same row of ``ids``.

        ``parts``: a number of equal parts or the parts' bit lengths (default ``layout_for``).
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, WORDS)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if codes.shape[0] != ids.shape[0]:
            raise ValueError("one id per hash")
        if codes.shape[0] >= 2**32:
            raise ValueError("at most 2^32 - 1 hashes per index")
        starts, lengths = part_layout(parts or layout_for(codes.shape[0]))
        parts = len(lengths)
        size = codes.shape[0]
        in_planes = np.array([_in_planes(int(bits), size) for bits in lengths], dtype=np.int8)
        # Each part's table starts at: its first offset (dense), or its first block (planes).
        dense_sizes = np.where(in_planes, 0, (1 << lengths) + 1)
        block_counts = np.where(in_planes, ((1 << lengths) + 31) >> 5, 0)
        dense_starts = np.concatenate([[0], np.cumsum(dense_sizes)]).astype(np.int64)
        block_starts = np.concatenate([[0], np.cumsum(block_counts)]).astype(np.int64)
        table_starts = np.where(in_planes, block_starts[:-1], dense_starts[:-1]).astype(np.int64)
        offsets = np.zeros(int(dense_starts[-1]), dtype=np.uint32)
        headers = np.zeros((int(block_starts[-1]), 4), dtype=np.uint32)
        overflow: list[np.ndarray] = []
        rows_by_part = np.empty((parts - 1) * size, dtype=np.uint32)
        for j in range(parts):
            values = _part_values(codes, int(starts[j]), int(lengths[j]))
            counts = np.bincount(values, minlength=1 << int(lengths[j]))
            if in_planes[j]:
                table = np.zeros((1 << int(lengths[j])) + 1, dtype=np.uint32)
            else:
                table = offsets[dense_starts[j] : dense_starts[j + 1]]
            np.cumsum(counts, out=table[1:])
            if j == 0:
                # Store the hashes in this part's order: its buckets become runs of rows.
                order = np.empty(size, dtype=np.uint32)
                _counting_sort(values, table, order)
                codes, ids = codes[order], ids[order]
            else:
                _counting_sort(values, table, rows_by_part[(j - 1) * size : j * size])
            if in_planes[j]:
                part_headers = headers[block_starts[j] : block_starts[j + 1]]
                listed = sum(o.shape[0] for o in overflow) // 33
                overflow.append(_fill_planes(table, part_headers, listed))
        listed_offsets = np.concatenate([*overflow, _NO_OFFSETS])
        big = (codes, ids, offsets, headers, listed_offsets, rows_by_part)
        codes, ids, offsets, headers, listed_offsets, rows_by_part = (in_huge_pages(a) for a in big)
        return cls(
            codes,
            ids,
            starts,
            lengths,
            offsets,
            headers,
            listed_offsets,
            in_planes,
            table_starts,
            rows_by_part,
        )

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory the index holds."""
        tables = (self.offsets, self.headers, self.overflow)
        return sum(a.nbytes for a in (self.codes, self.ids, *tables, self.rows_by_part))

    def search(self, queries: np.ndarray, radius: int) -> Results:
        """Every indexed hash within ``radius`` of each query, exactly (thread-safe)."""
        with self._lock:
            return self._search_locked(queries, radius)

    def _probes(self, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Per-part radii and room for a query's probes at ``radius``; None beyond the parts."""
        cached = self._radii.get(radius)
        if cached is None:
            try:
                radii = part_radii(len(self.starts), radius)
            except ValueError:
                return None
            probes = sum(
                _ball(int(bits), int(r)) for bits, r in zip(self.lengths, radii, strict=True)
            )
            slots = np.empty(probes, dtype=np.int64)
            spans = np.empty((probes, 2), dtype=np.int64)
            cached = self._radii[radius] = (radii, slots, spans)
        return cached

    def _search_locked(self, queries: np.ndarray, radius: int) -> Results:
        queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, WORDS)
        count = queries.shape[0]
        if len(self) == 0 or count == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Results(np.zeros(count + 1, dtype=np.int64), empty, empty.astype(np.int32))
        probes = self._probes(radius)
        if probes is None:
            # Beyond what the parts can probe (radius > 47 with 12 parts): exact, by a scan.
            return brute_force(self.codes, self.ids, queries, radius)
        radii, slots, spans = probes
        if count >= BATCH_MIN:
            return self._search_batch(queries, radius, radii)
        table_ends = np.empty(len(self.starts), dtype=np.int64)
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
                self.headers,
                self.overflow,
                self.in_planes,
                self.rows_by_part,
                self.table_starts,
                self.codes,
                slots,
                table_ends,
                spans,
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

    def _search_batch(self, queries: np.ndarray, radius: int, radii: np.ndarray) -> Results:
        """Many queries, walked part by part in blocks (see ``_search_batch``)."""
        count = queries.shape[0]
        most = max(
            _ball(int(bits), int(r)) for bits, r in zip(self.lengths, radii, strict=True) if r >= 0
        )
        # Big radii probe thousands of keys a part: fewer queries a block bound the space.
        block = min(count, BATCH_BLOCK, max(PROBE_SPACE // most, 1))
        if self._probe_space.shape[0] < block * most:
            self._probe_space = np.empty(block * most, dtype=np.int64)
        scratch = np.empty(most, dtype=np.int64)
        hit_queries: list[np.ndarray] = []
        hit_rows: list[np.ndarray] = []
        hit_distances: list[np.ndarray] = []
        for first in range(0, count, block):
            packed = _search_batch(
                queries[first : first + block],
                radius,
                self.starts,
                self.lengths,
                radii,
                self.offsets,
                self.headers,
                self.overflow,
                self.in_planes,
                self.rows_by_part,
                self.table_starts,
                self.codes,
                self._probe_space,
                scratch,
            )
            hit_queries.append((packed >> 41) + first)
            hit_rows.append((packed >> 9) & 0xFFFFFFFF)
            hit_distances.append((packed & 0x1FF).astype(np.int32))
        found = np.concatenate(hit_queries)
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(np.bincount(found, minlength=count), out=offsets[1:])
        return Results(offsets, self.ids[np.concatenate(hit_rows)], np.concatenate(hit_distances))

    def save(self, folder: Path, meta: dict[str, object]) -> None:
        """Write the index as .npy files (memory-mappable) and ``meta`` as JSON."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        saved = {**meta, "mih_format": FORMAT}
        (folder / "meta.json").write_text(json.dumps(saved), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> tuple[MihIndex, dict[str, object]]:
        """An index saved by ``save``, memory-mapped, and its meta.

        A folder saved in an older format raises ValueError (another ``mih_format`` in its
        meta) or FileNotFoundError (an array it did not have), so the caller rebuilds it as it
        would a missing one instead of misreading it.
        """
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.pop("mih_format", 1) != FORMAT:
            raise ValueError(f"{folder} holds an index of another format: rebuild it")
        arrays = {}
        for name in ARRAYS:
            path = folder / f"{name}.npy"
            # An empty array cannot be memory-mapped; it costs nothing to read.
            arrays[name] = np.load(path, mmap_mode="r" if path.stat().st_size > 4096 else None)
        return cls(**arrays), meta


def brute_force(codes: np.ndarray, ids: np.ndarray, queries: np.ndarray, radius: int) -> Results:
    """Every hash within ``radius`` by a full scan: the reference the index must equal."""
    queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, WORDS)
    codes = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, WORDS)
    offsets, rows, dists = _scan(queries, radius, codes)
    return Results(offsets, np.asarray(ids, dtype=np.int64)[rows], dists)
