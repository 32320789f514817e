"""The text index returns exactly what a brute-force scan returns, at any Jaccard threshold."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from redline.index.textlsh import TextIndex, band_params, brute_force, min_agreements
from redline.signals.base import BadSignal
from redline.signals.minhash import NUM_PERM, parse_values, serialise, signature

VOCABULARY = (
    "the a of and to in is was for on with as at by from that this it be are have has not but "
    "or an they we you he she his her their our my your all more some one two three new old "
    "day week year time morning evening city town river road market garden school library "
    "train bus station street house park bridge museum weather rain sun wind snow cold warm "
    "open closed early late today tomorrow meet bring visit plan walk read write cook paint "
    "music film book story team game match price ticket water bread coffee tea fruit table "
    "مدينة شارع سوق حديقة مدرسة مكتبة صباح مساء يوم اسبوع ماء خبز قهوة شاي كتاب فيلم"
)
WORDS = VOCABULARY.split()
THRESHOLDS = (0.4, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def random_text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))


def edited(rng: random.Random, text: str, edits: int) -> str:
    words = text.split()
    for _ in range(edits):
        kind = rng.randrange(4)
        place = rng.randrange(len(words))
        if kind == 0:
            words[place] = rng.choice(WORDS)
        elif kind == 1 and len(words) > 5:
            del words[place]
        elif kind == 2:
            words.insert(place, rng.choice(WORDS))
        else:
            words[place] += rng.choice(",.!?")
    out = " ".join(words)
    if rng.random() < 0.3:
        out = f"RT @user{rng.randrange(99)}: {out}"
    if rng.random() < 0.3:
        out += f" https://t.co/{rng.randrange(10**9):09d}"
    return out


@pytest.fixture(scope="module")
def corpus() -> tuple[list[tuple[str, str]], list[str]]:
    """3,500 banked texts (2,000 unrelated, 1,500 near-copies of them) and 400 queries."""
    rng = random.Random(7)
    bases = [random_text(rng) for _ in range(2000)]
    texts = bases + [edited(rng, rng.choice(bases[:300]), rng.randint(0, 8)) for _ in range(1500)]
    entries = [(f"entry-{i}", serialise(signature(text))) for i, text in enumerate(texts)]
    queries = [edited(rng, rng.choice(bases[:300]), rng.randint(0, 10)) for _ in range(350)]
    queries += [random_text(rng) for _ in range(50)]
    return entries, [serialise(signature(q)) for q in queries]


def scan(
    matrix: np.ndarray, keys: list[str], query: str, threshold: float
) -> list[tuple[str, float]]:
    """Brute force over a matrix of hash values, in the index's order."""
    values = parse_values(query)
    similarities = np.count_nonzero(matrix == values, axis=1) / NUM_PERM
    hits = [(keys[i], float(similarities[i])) for i in np.flatnonzero(similarities >= threshold)]
    return sorted(hits, key=lambda hit: -hit[1])


def test_band_params_guarantee_every_pair_at_the_threshold_is_a_candidate() -> None:
    for percent in range(1, 101):
        threshold = percent / 100
        bands, rows = band_params(threshold)
        assert bands * rows <= NUM_PERM and bands >= 2
        # Pigeonhole: more bands than allowed disagreements.
        assert bands > NUM_PERM - min_agreements(threshold)
    assert band_params(0.8) == (32, 4)
    assert band_params(0.9) == (14, 9)
    assert min_agreements(0.8) == 103 and min_agreements(0.75) == 96 and min_agreements(1.0) == 128
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        band_params(0)


@pytest.mark.slow
def test_results_equal_brute_force(corpus: tuple[list[tuple[str, str]], list[str]]) -> None:
    entries, queries = corpus
    index: TextIndex[str] = TextIndex(entries)
    keys = [key for key, _ in entries]
    matrix = np.stack([parse_values(value) for _, value in entries])
    expected_total = found_total = 0
    near_threshold = 0
    for threshold in THRESHOLDS:
        for query in queries:
            expected = scan(matrix, keys, query, threshold)
            got = index.search(query, threshold)
            assert got == expected, (threshold, query[:30])
            expected_total += len(expected)
            found_total += len(got)
            near_threshold += sum(1 for _, j in expected if j < threshold + 0.05)
    # Recall against brute force is 1.0 by construction; the corpus exercises it: many matches,
    # many of them just above the threshold, where a probabilistic LSH would miss some.
    assert found_total == expected_total > 4000
    assert near_threshold > 500


def test_brute_force_reference_agrees_with_the_scan(
    corpus: tuple[list[tuple[str, str]], list[str]],
) -> None:
    entries, queries = corpus
    keys = [key for key, _ in entries[:600]]
    matrix = np.stack([parse_values(value) for _, value in entries[:600]])
    for query in queries[:20]:
        assert brute_force(entries[:600], query, 0.7) == scan(matrix, keys, query, 0.7)


def test_add_replace_remove() -> None:
    index: TextIndex[int] = TextIndex()
    first = serialise(signature("the market opens early on saturday morning by the river"))
    second = serialise(signature("the library is closed on sunday and open on monday"))
    assert index.search(first, 0.8) == []
    index.add(1, first)
    index.add(2, signature("the market opens early on saturday morning by the river!"))
    assert index.search(first, 0.8) == [(1, 1.0), (2, 1.0)]
    assert index.search(first, 0.9) == [(1, 1.0), (2, 1.0)]  # a second LSH, built lazily
    index.add(1, second)  # replaces entry 1 in every LSH built so far
    assert index.search(first, 0.8) == [(2, 1.0)] and index.search(first, 0.9) == [(2, 1.0)]
    assert index.search(second, 0.8) == [(1, 1.0)]
    index.remove(2)
    assert index.search(first, 0.8) == [] and 2 not in index and 1 in index and len(index) == 1
    with pytest.raises(KeyError):
        index.remove(2)
    with pytest.raises(BadSignal):
        index.add(3, "mh1:128:nonsense")
    assert 3 not in index
    with pytest.raises(ValueError, match="threshold"):
        index.search(second, 1.5)


def test_concurrent_searches_and_updates(
    corpus: tuple[list[tuple[str, str]], list[str]],
) -> None:
    entries, queries = corpus
    index: TextIndex[str] = TextIndex(entries[:1500])
    expected = {(q, t): index.search(q, t) for q in queries[:40] for t in (0.7, 0.8)}
    errors: list[BaseException] = []

    def searcher() -> None:
        try:
            for _ in range(3):
                for (query, threshold), result in expected.items():
                    assert index.search(query, threshold) == result
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def updater() -> None:
        try:
            for key, value in entries[1500:1800]:  # entries the expected results do not cover
                index.add(f"new-{key}", value)
            for key, _ in entries[1500:1800]:
                index.remove(f"new-{key}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=searcher) for _ in range(6)]
    threads.append(threading.Thread(target=updater))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    assert len(index) == 1500
