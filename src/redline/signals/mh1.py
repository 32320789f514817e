"""The ``mh1`` MinHash signature of many texts at once, compiled: the text stage's fast path.

datasketch makes a signature in Python: a SHA-1 call per shingle, then a numpy pass per text.
For a tweet (about 90 shingles) that is about 350 microseconds, a third of a text's cost in the
text stages. Here one numba loop over all the texts of a call does the same arithmetic, so the
values are exactly datasketch's (``MinHash(num_perm=128, seed=1, scheme="affine32")`` updated
with each shingle's UTF-8 bytes; ``tests/signals/test_mh1.py`` checks them against it):

1. each character 5-gram of the reduced text (the whole text when it has five characters or
   fewer) is hashed with SHA-1, and the digest's first four bytes read as a little-endian
   integer (datasketch's ``sha1_hash32``);
2. that integer is mixed with the 32-bit MurmurHash3 finalizer;
3. each of the 128 permutations maps it to ``a * h + b mod 2**32``, and the signature keeps the
   smallest value of each.

A shingle repeated in a text changes nothing (the minimum is the same), so the loop walks every
position instead of building the set. Shingles are at most 20 bytes (five characters of up to
four bytes), so SHA-1 needs one 64-byte block each.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import numba as nb
import numpy as np
import numpy.typing as npt

SHINGLE = 5
_MASK = np.uint64(0xFFFFFFFF)
_EMPTY = np.uint32(0xFFFFFFFF)
_K1, _K2, _K3, _K4 = (np.uint64(k) for k in (0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6))


@nb.njit(cache=True, inline="always")
def _rotl(value: np.uint64, bits: int) -> np.uint64:
    return ((value << np.uint64(bits)) | (value >> np.uint64(32 - bits))) & _MASK


@nb.njit(cache=True, inline="always")
def _round(
    a: np.uint64,
    b: np.uint64,
    c: np.uint64,
    d: np.uint64,
    e: np.uint64,
    f: np.uint64,
    k: np.uint64,
    word: np.uint64,
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64, np.uint64]:
    """One SHA-1 round: the working words (a, b, c, d, e) after it, given the round's function
    of b, c and d, its constant and the schedule's word."""
    return (_rotl(a, 5) + f + e + k + word) & _MASK, a, _rotl(b, 30), c, d


@nb.njit(cache=True)
def _sha1_first_word(
    data: npt.NDArray[np.uint8], start: int, end: int, w: npt.NDArray[np.uint64]
) -> np.uint64:
    """The first 32-bit word (big-endian) of the SHA-1 of ``data[start:end]`` (at most 55
    bytes: one block)."""
    length = end - start
    for i in range(16):
        w[i] = 0
    for i in range(length):
        w[i >> 2] |= np.uint64(data[start + i]) << np.uint64(24 - 8 * (i & 3))
    w[length >> 2] |= np.uint64(0x80) << np.uint64(24 - 8 * (length & 3))
    w[15] = np.uint64(length * 8)
    for i in range(16, 80):
        w[i] = _rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1)
    h0 = np.uint64(0x67452301)
    h1 = np.uint64(0xEFCDAB89)
    h2 = np.uint64(0x98BADCFE)
    h3 = np.uint64(0x10325476)
    h4 = np.uint64(0xC3D2E1F0)
    a, b, c, d, e = h0, h1, h2, h3, h4
    # Four loops, one per round function, rather than a branch in each of 80 rounds.
    for i in range(20):
        a, b, c, d, e = _round(a, b, c, d, e, (b & c) | ((~b & _MASK) & d), _K1, w[i])
    for i in range(20, 40):
        a, b, c, d, e = _round(a, b, c, d, e, b ^ c ^ d, _K2, w[i])
    for i in range(40, 60):
        a, b, c, d, e = _round(a, b, c, d, e, (b & c) | (b & d) | (c & d), _K3, w[i])
    for i in range(60, 80):
        a, b, c, d, e = _round(a, b, c, d, e, b ^ c ^ d, _K4, w[i])
    return (h0 + a) & _MASK


@nb.njit(cache=True, inline="always")
def _fmix32(value: np.uint64) -> np.uint64:
    value ^= value >> np.uint64(16)
    value = (value * np.uint64(0x85EBCA6B)) & _MASK
    value ^= value >> np.uint64(13)
    value = (value * np.uint64(0xC2B2AE35)) & _MASK
    return value ^ (value >> np.uint64(16))


@nb.njit(cache=True)
def _signatures(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint64],
    b: npt.NDArray[np.uint64],
    out: npt.NDArray[np.uint32],
) -> None:
    w = np.empty(80, dtype=np.uint64)
    starts = np.empty(offsets[-1] - offsets[0] + 1, dtype=np.int64)
    perms = len(a)
    for text in range(len(offsets) - 1):
        low, high = offsets[text], offsets[text + 1]
        chars = 0
        for i in range(low, high):
            if (data[i] & 0xC0) != 0x80:  # not a UTF-8 continuation byte: a character starts
                starts[chars] = i
                chars += 1
        starts[chars] = high
        shingles = chars - SHINGLE + 1 if chars > SHINGLE else 1
        span = SHINGLE if chars > SHINGLE else chars
        row = out[text]
        row[:] = _EMPTY
        for position in range(shingles):
            word = _sha1_first_word(data, starts[position], starts[position + span], w)
            # The digest's first four bytes read little-endian: the word byte-swapped.
            value = (
                ((word & np.uint64(0xFF)) << np.uint64(24))
                | ((word & np.uint64(0xFF00)) << np.uint64(8))
                | ((word >> np.uint64(8)) & np.uint64(0xFF00))
                | (word >> np.uint64(24))
            )
            mixed = _fmix32(value)
            for k in range(perms):
                permuted = np.uint32((a[k] * mixed + b[k]) & _MASK)
                if permuted < row[k]:
                    row[k] = permuted


def parameters(permutations: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.uint64], ...]:
    """datasketch's ``(2, 128)`` permutation parameters as the compiled loop takes them."""
    return tuple(np.ascontiguousarray(row, dtype=np.uint64) for row in permutations)


def signatures(
    reduced: Sequence[str], a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]
) -> npt.NDArray[np.uint32]:
    """The signature values of each reduced text (non-empty, as ``tokens_for_matching`` makes
    them), one row a text, with the permutation parameters ``a`` and ``b`` (``parameters``)."""
    encoded = [text.encode("utf-8", "surrogatepass") for text in reduced]
    offsets = np.fromiter(
        accumulate(map(len, encoded), initial=0), dtype=np.int64, count=len(encoded) + 1
    )
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    out = np.empty((len(encoded), len(a)), dtype=np.uint32)
    _signatures(data, offsets, a, b, out)
    return out
