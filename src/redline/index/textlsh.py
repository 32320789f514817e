"""Candidate search for text banks: every banked signature within a Jaccard threshold of a query.

``TextIndex`` answers exactly what a brute-force scan answers (``brute_force``), with banded
look-up tables to find candidates and the estimated Jaccard (``redline.signals.minhash.jaccard``:
the fraction of the 128 positions where two signatures agree) to check them.

Why it is exact, not approximate: like the PDQ index (``redline.index.mih``) it relies on the
pigeonhole principle instead of probabilities. A pair with estimated Jaccard >= t agrees on at
least k = ceil(128 t) positions, so it disagrees on at most u = 128 - k. Cut the signature into
b >= u + 1 disjoint bands and at least one band holds no disagreement: the two signatures fall in
the same bucket of that band, and the look-up returns the pair. ``band_params`` picks the widest
bands (fewest chance candidates) that still satisfy b >= u + 1: 32 bands of 4 at t = 0.8, 14 of 9 at
0.9, 42 of 3 at 0.7. The price is paid at low thresholds: at t <= 0.5 every band is one value wide
and most unrelated texts share one of 128 minima, so the LSH would return nearly every entry:
there the index compares the query with every entry at once (one numpy comparison) instead.

One set of band tables is built per distinct (bands, rows) pair, lazily, the first time a
threshold needs it; banks share a few thresholds, so there are few. Additions and removals update
every set built. The tables are this module's own, not datasketch's ``MinHashLSH``: the same
banding, but a band's key is a slice of the values' bytes, where ``MinHashLSH`` wants a MinHash
object made for every query and byte-swaps each band (together two thirds of a text's search).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

import numpy as np

from redline.signals.minhash import NUM_PERM, HashValues, parse_values, values_of

if TYPE_CHECKING:
    from datasketch import MinHash

K = TypeVar("K", bound=Hashable)
# A signature's text form, a MinHash, or its 128 values (``minhash.signature_values``).
Signature: TypeAlias = "str | MinHash | HashValues"


def _values(signature: Signature) -> HashValues:
    if isinstance(signature, np.ndarray):
        if signature.shape != (NUM_PERM,) or signature.dtype != np.uint32:
            raise ValueError(f"not {NUM_PERM} uint32 signature values: {signature.shape}")
        return signature
    return parse_values(signature) if isinstance(signature, str) else values_of(signature)


def _check_threshold(threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise ValueError(f"a Jaccard threshold is in (0, 1], not {threshold}")


def min_agreements(threshold: float) -> int:
    """The fewest agreeing positions k with k / 128 >= threshold (as ``jaccard`` computes it)."""
    _check_threshold(threshold)
    k = math.ceil(threshold * NUM_PERM)
    # Correct for floating-point rounding in the product, so the rule is the same comparison
    # ``jaccard(a, b) >= threshold`` that the verification and the brute force make.
    while k > 0 and (k - 1) / NUM_PERM >= threshold:
        k -= 1
    while k / NUM_PERM < threshold:
        k += 1
    return k


def band_params(threshold: float) -> tuple[int, int]:
    """(bands, rows) of an LSH that finds every pair at ``threshold`` (see the module docstring)."""
    disagreements = NUM_PERM - min_agreements(threshold)
    bands_needed = max(2, disagreements + 1)  # two at least, as datasketch's LSH wanted
    rows = NUM_PERM // bands_needed
    return NUM_PERM // rows, rows


def brute_force(
    entries: Iterable[tuple[K, Signature]], signature: Signature, threshold: float
) -> list[tuple[K, float]]:
    """Every entry with estimated Jaccard >= ``threshold``, by comparing with each one.

    The reference ``TextIndex.search`` must agree with; same order (most similar first, then
    entry order).
    """
    _check_threshold(threshold)
    query = _values(signature)
    found = []
    for key, value in entries:
        similarity = float(np.count_nonzero(_values(value) == query)) / NUM_PERM
        if similarity >= threshold:
            found.append((key, similarity))
    found.sort(key=lambda pair: -pair[1])
    return found


class _Bands(Generic[K]):
    """``bands`` look-up tables: the keys whose values are the same on a band's ``rows``
    positions (band i covers positions i * rows to (i + 1) * rows)."""

    def __init__(self, bands: int, rows: int) -> None:
        self._width = rows * 4  # bytes of a band: uint32 values
        self._tables: list[dict[bytes, set[K]]] = [{} for _ in range(bands)]

    def _bands(self, values: HashValues) -> Iterator[tuple[dict[bytes, set[K]], bytes]]:
        raw, width = values.tobytes(), self._width
        for number, table in enumerate(self._tables):
            yield table, raw[number * width : (number + 1) * width]

    def insert(self, key: K, values: HashValues) -> None:
        for table, band in self._bands(values):
            table.setdefault(band, set()).add(key)

    def remove(self, key: K, values: HashValues) -> None:
        for table, band in self._bands(values):
            keys = table[band]
            keys.discard(key)
            if not keys:
                del table[band]

    def query(self, values: HashValues) -> set[K]:
        """The keys that share at least one band with ``values``."""
        found: set[K] = set()
        for table, band in self._bands(values):
            keys = table.get(band)
            if keys:
                found |= keys
        return found


class TextIndex(Generic[K]):
    """Banked text signatures, searchable by Jaccard threshold; safe to share between threads."""

    def __init__(self, entries: Iterable[tuple[K, Signature]] = ()) -> None:
        self._lock = threading.Lock()
        self._values: dict[K, HashValues] = {}
        self._order: dict[K, int] = {}  # insertion sequence, for a stable result order
        self._next = 0
        self._lsh: dict[tuple[int, int], _Bands[K]] = {}
        # Every entry's values stacked, for thresholds too low for banding; rebuilt after changes.
        self._matrix: tuple[list[K], HashValues] | None = None
        for key, signature in entries:
            self.add(key, signature)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def add(self, key: K, signature: Signature) -> None:
        """Index ``signature`` under ``key``, replacing what ``key`` held before."""
        values = _values(signature)  # parsed (and validated) before anything changes
        with self._lock:
            if key in self._values:
                self._remove(key)
            self._values[key] = values
            self._matrix = None
            self._order[key] = self._next
            self._next += 1
            for lsh in self._lsh.values():
                lsh.insert(key, values)

    def remove(self, key: K) -> None:
        """Take ``key`` out of the index; KeyError when it is not in it."""
        with self._lock:
            if key not in self._values:
                raise KeyError(key)
            self._remove(key)

    def _remove(self, key: K) -> None:
        values = self._values.pop(key)
        del self._order[key]
        self._matrix = None
        for lsh in self._lsh.values():
            lsh.remove(key, values)

    def _lsh_for(self, params: tuple[int, int]) -> _Bands[K]:
        # Called with the lock held.
        lsh = self._lsh.get(params)
        if lsh is None:
            lsh = _Bands(*params)
            for key, values in self._values.items():
                lsh.insert(key, values)
            self._lsh[params] = lsh
        return lsh

    def search(self, signature: Signature, threshold: float) -> list[tuple[K, float]]:
        """Every indexed entry with estimated Jaccard >= ``threshold``, most similar first."""
        query = _values(signature)
        params = band_params(threshold)
        with self._lock:
            if not self._values:
                return []
            if params[1] == 1:  # one-value bands: nearly everything is a candidate
                if self._matrix is None:
                    self._matrix = (list(self._values), np.stack(list(self._values.values())))
                keys, candidates = self._matrix
            else:
                keys = list(self._lsh_for(params).query(query))
                if not keys:
                    return []
                candidates = np.stack([self._values[key] for key in keys])
            similarities = np.count_nonzero(candidates == query, axis=1) / NUM_PERM
            hits = np.flatnonzero(similarities >= threshold)
            found = [(self._order[keys[i]], keys[i], float(similarities[i])) for i in hits]
        found.sort(key=lambda item: (-item[2], item[0]))
        return [(key, similarity) for _, key, similarity in found]
