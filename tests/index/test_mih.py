"""The PDQ index returns exactly what a brute-force scan returns, at any radius."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.index.mih import (
    BATCH_BLOCK,
    BATCH_MIN,
    MAX_BYTES_PER_HASH,
    OVERFLOW,
    PROBE_SPACE,
    MihIndex,
    brute_force,
    codes_to_hex,
    hex_to_codes,
    in_huge_pages,
    layout_for,
    part_radii,
)


def random_codes(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, size=(count, 4), dtype=np.uint64, endpoint=True)


def near(rng: np.random.Generator, codes: np.ndarray, count: int, max_flips: int) -> np.ndarray:
    picked = codes[rng.integers(0, len(codes), size=count)].copy()
    for row in picked:
        for bit in rng.choice(256, size=rng.integers(0, max_flips + 1), replace=False):
            row[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return picked


@pytest.mark.parametrize("one_at_a_time", [False, True])
@pytest.mark.parametrize("parts", [16, 12])
@pytest.mark.parametrize("radius", [0, 8, 31, 47, 63])
def test_results_equal_brute_force(parts: int, radius: int, one_at_a_time: bool) -> None:
    rng = np.random.default_rng(radius * 100 + parts)
    codes = random_codes(rng, 6000)
    # Real hashes cluster: a thousand near-copies of a few images, and exact duplicates.
    codes[:1000] = near(rng, codes[1000:1010], 1000, 20)
    codes[1000:1050] = codes[2000]
    ids = np.arange(len(codes)) * 7 + 3
    index = MihIndex.build(codes, ids, parts=parts)
    queries = np.concatenate([near(rng, codes, 150, radius + 5), random_codes(rng, 50)])
    expected = brute_force(codes, ids, queries, radius)
    if one_at_a_time:  # each query on its own: the path of small batches
        answers = [index.search(queries[q : q + 1], radius).of(0) for q in range(len(queries))]
    else:  # the batch walked part by part
        assert len(queries) >= BATCH_MIN
        got = index.search(queries, radius)
        answers = [got.of(q) for q in range(len(queries))]
    for query in range(len(queries)):
        assert sorted(answers[query]) == sorted(expected.of(query))
    assert len(expected.ids) > 0


@pytest.mark.parametrize("radius", [0, 16, 31, 40])
def test_a_batch_of_several_blocks_equals_brute_force(radius: int) -> None:
    # More queries than one block walks at once; the blocks' hits must join in query order.
    rng = np.random.default_rng(radius + 40)
    codes = random_codes(rng, 5000)
    codes[:500] = near(rng, codes[500:505], 500, 16)  # clusters of near-copies
    codes[500:540] = codes[900]  # and exact duplicates
    ids = rng.permutation(10**7)[:5000]
    index = MihIndex.build(codes, ids, parts=layout_for(1_000_000))
    count = BATCH_BLOCK + 1500
    queries = np.concatenate([near(rng, codes, count // 2, radius + 3), random_codes(rng, 50)])
    queries = np.concatenate([queries, codes[rng.integers(0, 5000, count - len(queries))]])
    got, expected = index.search(queries, radius), brute_force(codes, ids, queries, radius)
    assert got.offsets.tolist() == expected.offsets.tolist()
    for query in range(len(queries)):
        assert sorted(got.of(query)) == sorted(expected.of(query))


def test_a_wide_radius_batch_is_walked_in_smaller_blocks() -> None:
    # Radius 47 on parts of 20-24 bits probes thousands of keys a part and query: a block then
    # holds fewer queries, so this batch takes several.
    rng = np.random.default_rng(47)
    codes = random_codes(rng, 3000)
    codes[:300] = near(rng, codes[300:303], 300, 30)
    ids = np.arange(3000) * 3
    index = MihIndex.build(codes, ids, parts=(24, 24, 22, 22, 21, 21, 21, 21) + (20,) * 4)
    queries = np.concatenate([near(rng, codes, 1500, 50), random_codes(rng, 1000)])
    probes_of_a_24_bit_part = sum(math.comb(24, flips) for flips in range(4))  # radius 3 each
    assert len(queries) > PROBE_SPACE // probes_of_a_24_bit_part  # so more than one block
    got, expected = index.search(queries, 47), brute_force(codes, ids, queries, 47)
    for query in range(len(queries)):
        assert sorted(got.of(query)) == sorted(expected.of(query))
    assert len(expected.ids) > 1500


# The layouts chosen for 1M and 10M hashes (parts of two lengths), and one with a part longer
# than a table could be on a small index.
LAYOUTS = [
    layout_for(1_000_000),
    layout_for(10_000_000),
    (24, 24, 22, 22, 21, 21, 21, 21) + (20,) * 4,
]


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), radius=st.integers(0, 47))
def test_uneven_layouts_equal_brute_force(layout: tuple[int, ...], seed: int, radius: int) -> None:
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, 3000)
    codes[:300] = near(rng, codes[300:305], 300, 24)  # clusters of near-copies
    codes[300:320] = codes[400]  # and duplicates
    ids = rng.permutation(10**6)[:3000]
    index = MihIndex.build(codes, ids, parts=layout)
    queries = np.concatenate([near(rng, codes, 40, radius + 4), random_codes(rng, 10)])
    got, expected = index.search(queries, radius), brute_force(codes, ids, queries, radius)
    for query in range(len(queries)):
        assert sorted(got.of(query)) == sorted(expected.of(query))


def test_layouts_cover_every_bit_within_the_memory_goal() -> None:
    for count in (1000, 600_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000):
        lengths = layout_for(count)
        assert sum(lengths) == 256 and list(lengths) == sorted(lengths, reverse=True)
        if count >= 1_000_000:
            # Within the budget even with every table dense (planes only take less).
            index_bytes = 40 + 4 * (len(lengths) - 1) + sum(4 << b for b in lengths) / count
            assert index_bytes <= MAX_BYTES_PER_HASH
    rng = np.random.default_rng(5)
    codes = random_codes(rng, 2000)
    index = MihIndex.build(codes, np.arange(2000), parts=layout_for(10_000_000))
    assert index.lengths.tolist() == list(layout_for(10_000_000))


def test_an_index_saved_by_the_older_layout_is_rebuilt_not_misread(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    index = MihIndex.build(random_codes(rng, 500), np.arange(500))
    index.save(tmp_path / "idx", {})
    # The older layout kept every part's row numbers in orders.npy, and no rows_by_part.npy.
    (tmp_path / "idx" / "rows_by_part.npy").rename(tmp_path / "idx" / "orders.npy")
    with pytest.raises(FileNotFoundError):
        MihIndex.load(tmp_path / "idx")


def test_an_index_saved_before_planes_is_rebuilt_not_misread(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    index = MihIndex.build(random_codes(rng, 500), np.arange(500))
    index.save(tmp_path / "idx", {"generation": 2})
    # That format kept every table as dense offsets, and no format in its meta.
    for name in ("headers", "overflow", "in_planes"):
        (tmp_path / "idx" / f"{name}.npy").unlink()
    (tmp_path / "idx" / "meta.json").write_text('{"generation": 2}', encoding="utf-8")
    with pytest.raises(ValueError, match="another format"):
        MihIndex.load(tmp_path / "idx")


def part_codes(lengths: tuple[int, ...], part_values: list[np.ndarray]) -> np.ndarray:
    """Hashes whose parts (of these bit lengths, the first the most significant) have the
    given values."""
    hexes = []
    for row in range(part_values[0].shape[0]):
        value = 0
        for bits, values in zip(lengths, part_values, strict=True):
            value = (value << bits) | int(values[row])
        hexes.append(format(value, "064x"))
    return hex_to_codes(hexes)


@pytest.mark.parametrize("one_at_a_time", [False, True])
@pytest.mark.parametrize("radius", [0, 3, 16, 31])
def test_blocks_of_every_fill_equal_brute_force(radius: int, one_at_a_time: bool) -> None:
    # Sparse 22-bit parts keep their tables in planes (32 buckets a block), the 21-bit ones
    # dense offsets. Every part gets the same crafted buckets: a block's first and last bucket,
    # sizes 1 to 6 (each bit of the size planes before a bucket), a block overflowing with 7
    # in one bucket, the table's last block; the other hashes are spread at random. At radius
    # 0 only the first part is probed, so each of its buckets must be read right.
    lengths = (22,) * 4 + (21,) * 8
    last = (1 << 22) - 1
    crafted = {0: 2, 5: 5, 30: 1, 31: 6, 32: 7, 33: 1, 64: 4, 65: 3, 95: 6, 127: 1}
    crafted |= {last - 31: 1, last - 5: 6, last: 3}
    keys = np.repeat(np.array(list(crafted)), list(crafted.values()))
    rng = np.random.default_rng(radius)
    size = 2000
    part_values = []
    for bits in lengths:
        values = rng.integers(0, 1 << bits, size=size)
        values[: len(keys)] = rng.permutation(keys) >> (22 - bits)
        part_values.append(values)
    codes = part_codes(lengths, part_values)
    ids = np.arange(size) + 100
    index = MihIndex.build(codes, ids, parts=lengths)
    assert index.in_planes.tolist() == [1] * 4 + [0] * 8
    assert index.overflow.shape[0] >= 33 and max(crafted.values()) >= OVERFLOW  # one overflowed
    queries = np.concatenate([near(rng, codes[: len(keys)], 40, radius), random_codes(rng, 10)])
    expected = brute_force(codes, ids, queries, radius)
    if one_at_a_time:
        answers = [index.search(queries[q : q + 1], radius).of(0) for q in range(len(queries))]
    else:
        got = index.search(queries, radius)
        answers = [got.of(q) for q in range(len(queries))]
    for query in range(len(queries)):
        assert sorted(answers[query]) == sorted(expected.of(query))
    assert len(expected.ids) >= 40


@pytest.mark.parametrize("one_at_a_time", [False, True])
def test_a_layout_of_dense_and_planes_tables_equals_brute_force(one_at_a_time: bool) -> None:
    # 4,000 hashes: the 24-bit parts are sparse (tables in planes), the 8-bit ones crowded
    # (dense offsets), and one search walks both kinds.
    rng = np.random.default_rng(8)
    codes = random_codes(rng, 4000)
    codes[:200] = near(rng, codes[200:204], 200, 20)
    ids = np.arange(4000) * 5
    index = MihIndex.build(codes, ids, parts=(24,) * 8 + (8,) * 8)
    assert index.in_planes.tolist() == [1] * 8 + [0] * 8
    queries = np.concatenate([near(rng, codes, 40, 31), random_codes(rng, 10)])
    expected = brute_force(codes, ids, queries, 31)
    if one_at_a_time:
        answers = [index.search(queries[q : q + 1], 31).of(0) for q in range(len(queries))]
    else:
        got = index.search(queries, 31)
        answers = [got.of(q) for q in range(len(queries))]
    for query in range(len(queries)):
        assert sorted(answers[query]) == sorted(expected.of(query))
    assert len(expected.ids) >= 40


def test_pigeonhole_radii_cover_the_radius() -> None:
    for parts, largest in ((12, 47), (16, 63)):
        for radius in range(largest + 1):
            radii = part_radii(parts, radius)
            # If every part were one beyond its radius the total would exceed the radius.
            assert int((radii + 1).sum()) > radius
        with pytest.raises(ValueError, match="too large"):
            part_radii(parts, largest + 1)


def test_saved_index_loads_memory_mapped_and_answers_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    codes = random_codes(rng, 3000)
    index = MihIndex.build(codes, np.arange(3000))
    index.save(tmp_path / "idx", {"generation": 4})
    loaded, meta = MihIndex.load(tmp_path / "idx")
    assert meta == {"generation": 4} and isinstance(loaded.codes, np.memmap)
    queries = near(rng, codes, 50, 31)
    assert loaded.search(queries, 31).of(7) == index.search(queries, 31).of(7)


def test_empty_index_and_empty_batches() -> None:
    empty = MihIndex.build(np.zeros((0, 4), dtype=np.uint64), np.zeros(0, dtype=np.int64))
    result = empty.search(np.zeros((3, 4), dtype=np.uint64), 31)
    assert [result.of(q) for q in range(3)] == [[], [], []]
    index = MihIndex.build(np.zeros((2, 4), dtype=np.uint64), np.array([5, 6]))
    assert index.search(np.zeros((0, 4), dtype=np.uint64), 31).offsets.tolist() == [0]


def test_crowded_buckets_grow_the_buffers() -> None:
    # Ten thousand identical hashes all land in every probed bucket of every part.
    codes = np.tile(np.array([[1, 2, 3, 4]], dtype=np.uint64), (10000, 1))
    index = MihIndex.build(codes, np.arange(10000))
    result = index.search(codes[:3], 0)
    assert [len(result.of(q)) for q in range(3)] == [10000, 10000, 10000]
    # A batch, walked part by part, meets each of them in every part and keeps it once (the
    # last queries, every bit flipped, meet none).
    batch = np.concatenate([codes[:20], ~codes[:5]])
    result = index.search(batch, 31)
    assert [len(result.of(q)) for q in range(25)] == [10000] * 20 + [0] * 5
    assert sorted(result.ids[:10000].tolist()) == list(range(10000))


def test_hex_round_trip_keeps_python_threatexchange_bit_order() -> None:
    value = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    codes = hex_to_codes([value])
    assert codes_to_hex(codes) == [value]
    assert int(codes[0, 0]) == int(value[:16], 16)  # most significant word first


def test_concurrent_searches_get_their_own_answers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    codes = random_codes(rng, 20000)
    index = MihIndex.build(codes, np.arange(20000))
    queries = [near(rng, codes, 20, 20) for _ in range(16)]
    expected = [brute_force(codes, np.arange(20000), q, 31) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: index.search(q, 31), queries))
    for mine, reference in zip(got, expected, strict=True):
        assert [sorted(mine.of(i)) for i in range(20)] == [
            sorted(reference.of(i)) for i in range(20)
        ]


def test_an_index_large_enough_for_huge_pages_answers_like_a_scan() -> None:
    # 100,000 hashes: 3.2 MB of codes, copied into 2 MB pages where Linux offers them.
    rng = np.random.default_rng(9)
    codes = random_codes(rng, 100_000)
    copied = in_huge_pages(codes)
    assert np.array_equal(copied, codes) and copied.flags.writeable
    ids = np.arange(100_000) + 11
    index = MihIndex.build(codes, ids)
    queries = np.concatenate([near(rng, codes, 30, 31), random_codes(rng, 10)])
    got, expected = index.search(queries, 31), brute_force(codes, ids, queries, 31)
    for query in range(len(queries)):
        assert sorted(got.of(query)) == sorted(expected.of(query))
    assert len(expected.ids) >= 30
