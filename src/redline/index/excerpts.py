"""Candidate search for containment matching: the banked texts sharing enough shingles with a post.

An inverted index over the banked texts' word shingles (``redline.signals.excerpt``), held as
two sorted arrays (each banked text's distinct shingle hashes, and whose they are): 12 bytes a
banked shingle, a 200-word statement about 2.4 kB. A post's distinct shingles are looked up by
binary search and counted per banked text (with the post's repeats); every banked text with at
least ``min_shared`` of them is a candidate, verified exactly by ``excerpt.containment``.

Why not an LSH (datasketch's ``MinHashLSHEnsemble`` finds containment candidates from MinHash
signatures): it is approximate, and misses a share of pairs at the threshold. This index is
exact: it returns every banked text that shares ``min_shared`` shingles, and the rule cannot be
met with fewer (``excerpt.min_shared_shingles``), so nothing the rule would match is missed.
Text banks hold thousands of statements, not millions, so the arrays fit in memory easily; it
is rebuilt, like the MinHash index, when the banks change.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from redline.signals.excerpt import Banked, Shingles


class ExcerptIndex:
    """Banked texts' shingles, by bank signal id; read-only once built (safe between threads)."""

    def __init__(self, entries: Iterable[tuple[int, Banked]] = ()) -> None:
        self._ids: list[int] = []
        self._banked: list[Banked] = []
        keys: list[Shingles] = []
        owners: list[np.ndarray] = []
        for signal_id, banked in entries:
            distinct = np.unique(banked.shingles)
            keys.append(distinct)
            owners.append(np.full(len(distinct), len(self._ids), dtype=np.int32))
            self._ids.append(signal_id)
            self._banked.append(banked)
        if keys:
            all_keys = np.concatenate(keys)
            all_owners = np.concatenate(owners)
            order = np.argsort(all_keys, kind="stable")
            self._keys: Shingles = all_keys[order]
            self._owners = all_owners[order]
        else:
            self._keys = np.zeros(0, dtype=np.uint64)
            self._owners = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._ids)

    def candidates(self, post: Shingles, min_shared: int) -> list[tuple[int, Banked]]:
        """(bank signal id, banked text) of every banked text with at least ``min_shared`` of
        the post's shingles, counting a shingle the post repeats as often as it does."""
        if not self._ids or len(post) < min_shared:
            return []
        distinct, repeats = np.unique(post, return_counts=True)
        low = np.searchsorted(self._keys, distinct, "left")
        high = np.searchsorted(self._keys, distinct, "right")
        counts = high - low
        total = int(counts.sum())
        if total == 0:
            return []
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        owners = self._owners[np.repeat(low, counts) + within]
        shared = np.bincount(owners, weights=np.repeat(repeats, counts), minlength=len(self._ids))
        return [(self._ids[i], self._banked[i]) for i in np.flatnonzero(shared >= min_shared)]
