"""PDQ range search: redline's multi-index hashing index against faiss and python-threatexchange.

    python benchmarks/pdq_index.py [--size N ...] [--queries Q] [--flat-queries F]
                                   [--real-size M] [--frames-size V] [--skip-pdqindex-above K]
                                   [--repeat R] [--parts P] [--cache DIR]

Prints JSON. Every query asks for all indexed hashes within distance 31 (redline's PDQ match
threshold), single-threaded, and every figure is measured side by side in the same run:
- ``redline_batch``: ``MihIndex.search`` of all queries in one call (how redline's matcher calls
  it), and ``redline_single``: one ``search`` call per query;
- ``faiss_flat``: faiss ``IndexBinaryFlat.range_search(q, 32)`` (faiss's radius is exclusive,
  so 32 means <= 31), a full scan and so exact; it is slow on large indexes, so only the first
  ``--flat-queries`` queries are timed;
- ``faiss_multihash``: faiss ``IndexBinaryMultiHash`` built directly (no Python wrapper) in its
  fastest configuration with recall 1.0 (``multihash_config``: 11 tables of 23 bits probed with
  up to 2 flipped bits at 1M hashes and more, as 11 x (2 + 1) > 31 leaves no match unfound;
  PDQIndex's 16 tables of 16 bits with 1 flip below), all queries in one batch;
- ``pdqindex``: python-threatexchange's ``PDQIndex`` (faiss ``IndexBinaryMultiHash`` behind a
  Python wrapper), one ``query(hex)`` per query, and ``pdqindex_engine_batch``: that faiss index
  searched directly in one batch, without the wrapper. Its build is slow; above
  ``--skip-pdqindex-above`` hashes it is skipped, and the output says so.
Recall: faiss flat's results (all queries, the untimed ones on every core) are the truth;
redline's result set (ids and distances) must equal it for every query, so recall must be 1.0
with 0 mismatched queries. PDQIndex's results are checked the same way.

Three kinds of data:
- ``random``: uniform random 256-bit hashes, one index per ``--size``. Half the queries are an
  indexed hash with 1 to 31 random bits flipped (true near-matches), half are random.
- ``real``: PDQ hashes, computed by redline (``redline.signals.pdq.hash_array``), of
  ``--real-size`` generated images: distinct images (``benchmarks/_corpus.py``) each with five
  altered copies (JPEG, resize, small crop, brightness, watermark), so near-duplicates cluster as
  they do in real hash lists. The index holds most groups minus one held-out copy each; queries
  are held-out copies (near-matches) and images of groups never indexed. Hashing takes a minute
  or two on two cores; the hashes are cached under ``$REDLINE_BENCH_CACHE`` (default
  ``~/.cache/redline-bench``), keyed by size, seed and generator version.
- ``frames``: what the vPDQ frame index holds (redline indexes every good frame of every banked
  video in the same ``MihIndex``, at the same radius 31): ``--frames-size`` frame hashes of
  videos of 100 frames, each frame a few bits (0-12) from the one before, as consecutive frames
  are. Half the queries are frames of indexed videos re-encoded (1-24 bits flipped), half frames
  of videos never indexed.

Times are medians of ``--repeat`` runs, interleaved (each run times every contender once, so
a noisy moment on the machine falls on all of them); per-query figures are microseconds; builds
are timed once. Each run is timed twice: wall clock (``query_us``) and the CPU time of the
calling thread (``query_cpu_us``; every contender runs on that one thread), which other
processes on a shared machine do not inflate. Speedups are (other's time per query) /
(redline's time per query), on CPU time (``speedup``) and on wall clock (``speedup_wall``).
Goals, printed next to the results and not asserted: redline at least 50x faster than
IndexBinaryFlat at 1M hashes and 200x at 10M and faster than IndexBinaryMultiHash at recall 1.0,
at most 128 bytes of memory per hash, and builds within 10 s per million hashes (``--parts``
overrides redline's own choice of parts, to compare layouts).
Memory: at 10M hashes the codes alone are 320 MB; redline's index, codes included, is about
1.3 GB and faiss flat another 320 MB; faiss's multi-hash tables (one C++ hash map per table)
take several GB and minutes to build at 10M (PDQIndex, skipped there by default, would add
several GB of Python objects).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import faiss
import numpy as np
from threatexchange.signal_type.pdq.pdq_index import PDQIndex

import _corpus
from redline import __version__
from redline.index.mih import MihIndex, codes_to_hex, hex_to_codes
from redline.signals import pdq

RADIUS = pdq.MATCH_THRESHOLD
SEED = 20261123
REAL_VERSION = 1  # bump when the generated images or their variants change (invalidates caches)
REAL_GROUP = ("original", "jpeg", "resize", "crop", "brightness", "watermark")
NEVER_INDEXED_SHARE = 0.1  # groups kept out of the real index: their images are non-match queries


def goals_for(size: int) -> dict[str, float | None]:
    """The goals at this index size: they are stated for indexes of 1M hashes and more."""
    large = size >= 1_000_000
    return {
        "speedup_vs_faiss_flat": 200.0 if size >= 10_000_000 else 50.0 if large else None,
        "max_bytes_per_hash": 128.0 if large else None,
        "max_build_s_per_million": 10.0 if large else None,
    }


# --- data -----------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Hashes to index and queries, with what each query is expected to be."""

    codes: np.ndarray  # (N, 4) uint64, most significant word first
    queries: np.ndarray  # (Q, 4) uint64
    planted: np.ndarray  # (Q,) bool: built to be a near-match of something indexed
    notes: dict[str, object]


def random_codes(rng: np.random.Generator, count: int) -> np.ndarray:
    top = np.iinfo(np.uint64).max
    return rng.integers(0, top, size=(count, 4), dtype=np.uint64, endpoint=True)


def flip_bits(code: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """A copy of one (4,) code with the given bit positions (0 = most significant) flipped."""
    flipped = code.copy()
    for bit in bits.tolist():
        flipped[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return flipped


def random_dataset(size: int, queries: int, seed: int) -> Dataset:
    rng = np.random.default_rng([seed, size])
    codes = random_codes(rng, size)
    near = queries // 2
    rows = rng.integers(0, size, size=near)
    flips = rng.integers(1, RADIUS + 1, size=near)
    planted = [
        flip_bits(codes[r], rng.choice(256, f, replace=False))
        for r, f in zip(rows, flips, strict=True)
    ]
    stacked = np.concatenate([np.array(planted).reshape(-1, 4), random_codes(rng, queries - near)])
    order = rng.permutation(queries)  # so any prefix (the timed flat queries) mixes both kinds
    labels = np.arange(queries) < near
    return Dataset(codes, stacked[order], labels[order], {"bits_flipped": "uniform 1..31"})


FRAMES_PER_VIDEO = 100


def video_frames(rng: np.random.Generator, videos: int) -> np.ndarray:
    """(videos, FRAMES_PER_VIDEO, 4) frame hashes: each frame 0-12 bits from the one before."""
    frames = np.empty((videos, FRAMES_PER_VIDEO, 4), dtype=np.uint64)
    frames[:, 0] = random_codes(rng, videos)
    for f in range(1, FRAMES_PER_VIDEO):
        frames[:, f] = frames[:, f - 1] ^ sparse_masks(rng, videos, 0, 12)
    return frames


def sparse_masks(rng: np.random.Generator, count: int, low: int, high: int) -> np.ndarray:
    """(count, 4) masks with ``low``..``high`` random bits set each (what flipping them XORs)."""
    bits = rng.integers(low, high + 1, size=count)
    masks = np.zeros((count, 4), dtype=np.uint64)
    for row, flips in enumerate(bits.tolist()):
        for bit in rng.choice(256, flips, replace=False).tolist():
            masks[row, bit // 64] |= np.uint64(1) << np.uint64(63 - bit % 64)
    return masks


def frames_dataset(size: int, queries: int, seed: int) -> Dataset:
    rng = np.random.default_rng([seed, size, 2])
    videos = max(2, size // FRAMES_PER_VIDEO)
    indexed = video_frames(rng, videos).reshape(-1, 4)
    near = queries // 2
    rows = rng.integers(0, indexed.shape[0], size=near)
    reencoded = indexed[rows] ^ sparse_masks(rng, near, 1, 24)
    others = video_frames(rng, max(1, (queries - near) // FRAMES_PER_VIDEO + 1)).reshape(-1, 4)
    stacked = np.concatenate([reencoded, others[: queries - near]])
    order = rng.permutation(stacked.shape[0])
    labels = np.arange(stacked.shape[0]) < near
    notes = {
        "videos": videos,
        "frames_per_video": FRAMES_PER_VIDEO,
        "bits_between_frames": "uniform 0..12",
        "reencoded_bits_flipped": "uniform 1..24",
    }
    return Dataset(indexed, stacked[order], labels[order], notes)


def real_group(task: tuple[int, int]) -> list[tuple[str, int]]:
    """PDQ (hex, quality) of one generated image and its five altered copies (REAL_GROUP order)."""
    number, seed = task
    _kind, image = _corpus.generated_image(number, seed, scale=0.6)
    rng = random.Random(f"variants:{seed}:{number}")
    copies = [
        image,
        _corpus.jpeg(image, rng.randint(40, 90)),
        _corpus.resize(image, rng.uniform(0.4, 0.9)),
        _corpus.crop(image, rng.uniform(0.005, 0.02)),
        _corpus.brightness(image, rng.uniform(0.75, 1.25)),
        _corpus.watermark(image),
    ]
    return [(h.value, h.quality or 0) for h in map(_corpus.pdq_hash, copies)]


def real_hashes(images: int, seed: int, workers: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(groups, 6, 4) codes and (groups, 6) qualities of the real set, from the cache if there."""
    groups = max(2, images // len(REAL_GROUP))
    path = cache / f"real-pdq-v{REAL_VERSION}-groups{groups}-seed{seed}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["codes"], stored["qualities"]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        hashed = pool.map(real_group, [(n, seed) for n in range(groups)], chunksize=16)
    hexes = [value for group in hashed for value, _ in group]
    codes = hex_to_codes(hexes).reshape(-1, len(REAL_GROUP), 4)
    qualities = np.array([[q for _, q in group] for group in hashed], dtype=np.int32)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.npz")
    np.savez(partial, codes=codes, qualities=qualities)
    partial.replace(path)  # whole or absent, even if two runs race
    return codes, qualities


def real_dataset(images: int, queries: int, seed: int, workers: int, cache: Path) -> Dataset:
    codes, qualities = real_hashes(images, seed, workers, cache)
    groups = codes.shape[0]
    rng = np.random.default_rng([seed, groups])
    order = rng.permutation(groups)
    outside = max(1, round(groups * NEVER_INDEXED_SHARE))
    never, indexed = order[:outside], order[outside:]
    usable = qualities >= pdq.QUALITY_THRESHOLD  # redline neither indexes nor searches the rest
    held_kind = 1 + indexed % (len(REAL_GROUP) - 1)  # one altered copy per group, kinds in turn
    index_rows, held = [], []
    for group, kind in zip(indexed.tolist(), held_kind.tolist(), strict=True):
        index_rows += [
            codes[group, k] for k in range(len(REAL_GROUP)) if k != kind and usable[group, k]
        ]
        if usable[group, kind]:
            held.append(codes[group, kind])
    outsiders = [
        codes[g, k] for g in never.tolist() for k in range(len(REAL_GROUP)) if usable[g, k]
    ]
    near = min(queries // 2, len(held))
    far = min(queries - near, len(outsiders))
    chosen_near = [held[i] for i in rng.choice(len(held), near, replace=False)]
    chosen_far = [outsiders[i] for i in rng.choice(len(outsiders), far, replace=False)]
    stacked = np.array(chosen_near + chosen_far, dtype=np.uint64).reshape(-1, 4)
    labels = np.arange(near + far) < near
    mix = rng.permutation(near + far)
    notes = {
        "images_hashed": int(codes.shape[0] * codes.shape[1]),
        "groups": groups,
        "group": list(REAL_GROUP),
        "groups_never_indexed": outside,
        "below_quality_dropped": int((~usable).sum()),
        "generated_image_kinds": list(_corpus.GENERATORS),
    }
    return Dataset(np.array(index_rows, dtype=np.uint64), stacked[mix], labels[mix], notes)


# --- measuring ------------------------------------------------------------------------------

R = TypeVar("R")
HitSets = list[dict[int, int]]  # per query: id -> distance


def timed(action: Callable[[], R]) -> tuple[float, R]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def timed_both(action: Callable[[], R]) -> tuple[float, float, R]:
    """(wall seconds, this thread's CPU seconds, result) of one call."""
    wall, cpu = time.perf_counter(), time.thread_time()
    value = action()
    return time.perf_counter() - wall, time.thread_time() - cpu, value


def hit_sets(offsets: np.ndarray, ids: np.ndarray, dists: np.ndarray) -> HitSets:
    return [
        dict(zip(ids[lo:hi].tolist(), dists[lo:hi].tolist(), strict=True))
        for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    ]


def faiss_hit_sets(found: tuple[np.ndarray, np.ndarray, np.ndarray]) -> HitSets:
    """Hit sets of a faiss ``range_search`` answer: (limits, distances, ids)."""
    limits, dists, ids = found
    return hit_sets(limits, ids, dists)


def as_bytes(codes: np.ndarray) -> np.ndarray:
    """(N, 32) uint8 rows, bytes in hex order (what faiss and PDQIndex hold)."""
    return np.ascontiguousarray(codes.astype(">u8")).view(np.uint8).reshape(-1, 32)


@dataclass
class Contender:
    """One way to answer the queries: the timed call, how many queries it answers, its hits."""

    search: Callable[[], Any]
    queries: int
    hits: Callable[[Any], HitSets]  # the search's answer as hit sets (outside the timing)


@dataclass
class Run:
    """The figures of one index, filled in as the contenders are built and timed."""

    build_s: dict[str, float | None] = field(default_factory=dict)
    contenders: dict[str, Contender] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)


def add_redline(run: Run, data: Dataset, parts: int | None) -> None:
    ids = np.arange(data.codes.shape[0], dtype=np.int64)
    run.build_s["redline"], index = timed(lambda: MihIndex.build(data.codes, ids, parts=parts))
    run.notes["redline_parts"] = len(index.starts)
    run.notes["redline_part_bits"] = index.lengths.tolist()
    run.notes["redline_bytes_per_hash"] = index.nbytes / len(index)
    rows = [data.queries[i : i + 1] for i in range(len(data.queries))]
    run.contenders["redline_batch"] = Contender(
        lambda: index.search(data.queries, RADIUS),
        len(rows),
        lambda found: hit_sets(found.offsets, found.ids, found.distances),
    )
    run.contenders["redline_single"] = Contender(
        lambda: [index.search(row, RADIUS).of(0) for row in rows],
        len(rows),
        lambda found: [dict(hits) for hits in found],
    )


def add_faiss_flat(run: Run, data: Dataset, timed_queries: int) -> HitSets:
    """faiss flat, timed on the first queries; returns every query's exact hits (the truth)."""

    def build() -> faiss.IndexBinaryFlat:
        flat = faiss.IndexBinaryFlat(256)
        flat.add(as_bytes(data.codes))
        return flat

    run.build_s["faiss_flat"], flat = timed(build)
    queries = as_bytes(data.queries)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # the truth: every core, untimed
    truth = faiss_hit_sets(flat.range_search(queries, 32))
    faiss.omp_set_num_threads(1)
    head = queries[:timed_queries]
    # faiss's radius is exclusive: 32 finds distances <= 31.
    run.contenders["faiss_flat"] = Contender(
        lambda: flat.range_search(head, 32), len(head), faiss_hit_sets
    )
    return truth


def multihash_config(size: int) -> tuple[int, int, int]:
    """(tables, bits per table, flipped bits probed) of faiss ``IndexBinaryMultiHash``.

    Every configuration here has recall 1.0 at radius 31: a hash within 31 of the query differs
    by at most ``flips`` bits on one of the tables (pigeonhole: tables * (flips + 1) > 31). The
    fastest measured at 1M hashes (same queries): 11 x 23 bits, 2 flips, 425 us a query, against
    1,646 us for 12 x 20 and 2,016 us for 16 x 16 (python-threatexchange's PDQIndex).
    """
    return (11, 23, 2) if size >= 1_000_000 else (16, 16, 1)


def add_faiss_multihash(run: Run, data: Dataset) -> None:
    tables, bits, flips = multihash_config(data.codes.shape[0])
    assert tables * (flips + 1) > RADIUS and tables * bits <= 256  # exact: see multihash_config

    def build() -> faiss.IndexBinaryMultiHash:
        multihash = faiss.IndexBinaryMultiHash(256, tables, bits)
        multihash.add(as_bytes(data.codes))
        multihash.nflip = flips
        return multihash

    run.build_s["faiss_multihash"], multihash = timed(build)
    run.notes["faiss_multihash_config"] = {"tables": tables, "bits": bits, "flips": flips}
    queries = as_bytes(data.queries)
    run.contenders["faiss_multihash"] = Contender(
        lambda: multihash.range_search(queries, RADIUS + 1), len(queries), faiss_hit_sets
    )


def add_pdqindex(run: Run, data: Dataset) -> None:
    """python-threatexchange's PDQIndex through its API, and its faiss index in one batch."""
    hexes = codes_to_hex(data.codes)
    run.build_s["pdqindex"], index = timed(
        lambda: PDQIndex.build((h, i) for i, h in enumerate(hexes))
    )
    queries = codes_to_hex(data.queries)
    run.contenders["pdqindex"] = Contender(
        lambda: [index.query(h) for h in queries],
        len(queries),
        lambda found: [
            {m.metadata: m.similarity_info.distance for m in answer} for answer in found
        ],
    )
    engine, multihash = index.index.faiss_index, index.index.mih_index  # type: ignore[attr-defined]
    multihash.nflip = RADIUS // multihash.nhash  # what PDQIndex.query sets
    queries_bytes = as_bytes(data.queries)
    run.contenders["pdqindex_engine_batch"] = Contender(
        lambda: engine.range_search(queries_bytes, RADIUS + 1), len(queries), faiss_hit_sets
    )


def agreement(found: HitSets, truth: HitSets) -> dict[str, float]:
    """Recall of ``found`` against the truth, and queries whose result set differs in any way."""
    truth = truth[: len(found)]
    expected = sum(len(t) for t in truth)
    kept = sum(len(f.keys() & t.keys()) for f, t in zip(found, truth, strict=True))
    mismatched = sum(f != t for f, t in zip(found, truth, strict=True))
    return {
        "recall": round(kept / expected, 6) if expected else 1.0,
        "mismatched_queries": mismatched,
    }


def ratio(slow: float | None, fast: float | None) -> float | None:
    return round(slow / fast, 1) if slow and fast else None


def at_least(value: float | None, target: float | None) -> bool | None:
    return None if target is None or value is None else value >= target


def at_most(value: float | None, limit: float | None) -> bool | None:
    return None if limit is None or value is None else value <= limit


def measure(
    data: Dataset, flat_queries: int, pdqindex: bool, parts: int | None, repeat: int
) -> dict[str, object]:
    """Build every index over ``data.codes``, time their queries, check them against the truth.

    The contenders' runs are interleaved (each repeat times every contender once), so a noisy
    moment on the machine falls on all of them rather than on one.
    """
    size, count = data.codes.shape[0], data.queries.shape[0]
    run = Run()
    add_redline(run, data, parts)
    truth = add_faiss_flat(run, data, min(flat_queries, count))
    if pdqindex:
        add_pdqindex(run, data)
    else:
        run.build_s["pdqindex"] = None
    add_faiss_multihash(run, data)
    faiss.omp_set_num_threads(1)
    seconds: dict[str, list[float]] = {name: [] for name in run.contenders}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in run.contenders}
    answers: dict[str, Any] = {}
    for _ in range(max(1, repeat)):
        for name, contender in run.contenders.items():
            took, cpu, answers[name] = timed_both(contender.search)
            seconds[name].append(took)
            cpu_seconds[name].append(cpu)
    us: dict[str, float | None] = {
        name: round(statistics.median(seconds[name]) / contender.queries * 1e6, 2)
        for name, contender in run.contenders.items()
    }
    cpu_us: dict[str, float | None] = {
        name: round(statistics.median(cpu_seconds[name]) / contender.queries * 1e6, 2)
        for name, contender in run.contenders.items()
    }
    checks = {
        name: agreement(contender.hits(answers[name]), truth)
        for name, contender in run.contenders.items()
    }

    def speedups(per_query: dict[str, float | None]) -> dict[str, float | None]:
        return {
            "faiss_flat_vs_redline_batch": ratio(
                per_query["faiss_flat"], per_query["redline_batch"]
            ),
            "faiss_flat_vs_redline_single": ratio(
                per_query["faiss_flat"], per_query["redline_single"]
            ),
            "faiss_multihash_vs_redline_batch": ratio(
                per_query["faiss_multihash"], per_query["redline_batch"]
            ),
            "pdqindex_vs_redline_single": ratio(
                per_query.get("pdqindex"), per_query["redline_single"]
            ),
            "pdqindex_engine_vs_redline_batch": ratio(
                per_query.get("pdqindex_engine_batch"), per_query["redline_batch"]
            ),
        }

    speedup = speedups(cpu_us)
    per_million = {
        name: None if took is None else round(took / size * 1e6, 3)
        for name, took in run.build_s.items()
    }
    memory = float(run.notes["redline_bytes_per_hash"])  # type: ignore[arg-type]
    goals = goals_for(size)
    met: dict[str, bool | None] = {
        "recall_exact": all(
            c["recall"] == 1.0 and c["mismatched_queries"] == 0
            for name, c in checks.items()
            if name.startswith("redline")
        ),
        "speedup_vs_faiss_flat": at_least(
            speedup["faiss_flat_vs_redline_batch"], goals["speedup_vs_faiss_flat"]
        ),
        "faster_than_faiss_multihash": at_least(speedup["faiss_multihash_vs_redline_batch"], 1.0),
        "bytes_per_hash": at_most(memory, goals["max_bytes_per_hash"]),
        "build_s_per_million": at_most(per_million["redline"], goals["max_build_s_per_million"]),
    }
    planted = data.planted.tolist()
    return {
        "size": size,
        "queries": count,
        "queries_planted_near": sum(planted),
        "faiss_flat_timed_queries": run.contenders["faiss_flat"].queries,
        "hits": sum(len(t) for t in truth),
        "queries_with_hits": sum(bool(t) for t in truth),
        "planted_queries_with_hits": sum(bool(t) for t, p in zip(truth, planted, strict=True) if p),
        "other_queries_with_hits": sum(
            bool(t) for t, p in zip(truth, planted, strict=True) if not p
        ),
        "redline_parts": run.notes["redline_parts"],
        "redline_part_bits": run.notes["redline_part_bits"],
        "faiss_multihash_config": run.notes["faiss_multihash_config"],
        "build_s": {k: None if v is None else round(v, 3) for k, v in run.build_s.items()},
        "build_s_per_million": per_million,
        "memory_bytes_per_hash": {"redline": round(memory, 1), "faiss_flat": 32.0},
        "query_us": us,
        "query_cpu_us": cpu_us,
        "query_runs_s": {name: [round(t, 4) for t in runs] for name, runs in seconds.items()},
        "query_cpu_runs_s": {
            name: [round(t, 4) for t in runs] for name, runs in cpu_seconds.items()
        },
        "speedup": speedup,
        "speedup_wall": speedups(us),
        "recall": checks,
        "pdqindex_skipped": None if pdqindex else "index larger than --skip-pdqindex-above",
        "goals": goals,
        "goal_met": met,
        "data": data.notes,
    }


def warm_up() -> None:
    """Load redline's compiled search and build code once, outside every timing."""
    rng = np.random.default_rng(0)
    codes = random_codes(rng, 2000)
    index = MihIndex.build(codes, np.arange(2000, dtype=np.int64))
    index.search(codes[:8], RADIUS)
    MihIndex.build(codes, np.arange(2000, dtype=np.int64), parts=12).search(codes[:8], RADIUS)


# --- the run --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, action="append", help="random index size (repeat)")
    parser.add_argument("--queries", type=int, default=1000, help="queries per index")
    parser.add_argument("--flat-queries", type=int, default=100, help="queries timed on faiss flat")
    parser.add_argument("--real-size", type=int, default=20_000, help="real images (0: skip)")
    parser.add_argument(
        "--frames-size", type=int, default=1_000_000, help="vPDQ frame hashes (0: skip)"
    )
    parser.add_argument("--skip-pdqindex-above", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query set")
    parser.add_argument(
        "--parts", type=int, default=None, help="redline's equal parts (default: its own layout)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="for hashing")
    parser.add_argument("--cache", type=Path, default=None, help="real hash cache folder")
    args = parser.parse_args(argv)
    sizes = args.size or [1_000_000]
    started = time.perf_counter()
    warm_up()

    result: dict[str, object] = {
        "benchmark": "pdq_index",
        "redline_version": __version__,
        "machine": _corpus.machine(),
        "faiss_version": faiss.__version__,
        "radius": RADIUS,
        "threads": 1,
        "repeat": args.repeat,
        "redline_parts_override": args.parts,
    }
    random_sections = []
    for size in sizes:
        data = random_dataset(size, args.queries, args.seed)
        pdqindex = size <= args.skip_pdqindex_above
        section = measure(data, args.flat_queries, pdqindex, args.parts, args.repeat)
        random_sections.append(section)
        del data
    result["random"] = random_sections
    if args.frames_size > 0:
        data = frames_dataset(args.frames_size, args.queries, args.seed)
        pdqindex = data.codes.shape[0] <= args.skip_pdqindex_above
        result["frames"] = measure(data, args.flat_queries, pdqindex, args.parts, args.repeat)
        del data
    if args.real_size > 0:
        cache = args.cache or _corpus.cache_dir()
        hashing_started = time.perf_counter()
        data = real_dataset(args.real_size, args.queries, args.seed, args.workers, cache)
        hashing = time.perf_counter() - hashing_started
        # The real index is small: faiss flat is fast enough to time on every query.
        section = measure(data, args.queries, True, args.parts, args.repeat)
        section["data"] = {**data.notes, "cache": str(cache), "prepare_s": round(hashing, 1)}
        result["real"] = section
    result["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
