"""PDQ of a luminance plane, bit for bit as ``pdqhash`` computes it, at a fraction of its cost.

``pdqhash.compute`` spends most of its time in two places that the hash does not need:
- its column passes of the box (Jarosz) filter walk each column down the image, one cache
  miss a pixel; the same running sums taken a whole row at a time (numpy, across every column
  at once) read memory in order and are about ten times faster;
- every call converts the image to float luminance again (three float64 products a pixel),
  so the PDQ, mirror, trimmed and located hashes of one image each paid for it.

Here the float plane is made once per image and filtered with pdqhash's own C functions for the
row passes, decimation, quality, DCT and bits (its extension module exports them; ``ctypes``
calls them), the column passes in numpy with the same float32 operations in the same order,
and the last column pass only on the 64 columns the decimation samples. Same arithmetic, so
the same bits: ``tests/signals/test_pdq_plane.py`` pins it against ``pdqhash`` on photographs.
``NATIVE`` is False on a pdqhash build whose module does not export them, or whose hashes of a
test image differ from this path's (checked on import: a pdqhash whose PDQ changed), and the
callers then use ``pdqhash`` itself.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

DOWNSAMPLE = 64  # PDQ's 64x64 decimated buffer
MIN_HASHABLE_SIDE = 5  # PDQ's MIN_HASHABLE_DIM: smaller images hash to zeros, quality 0
ZERO_HASH = "0" * 64
# PDQ's seven other orientations, in ``pdqhash.compute_dihedral``'s order after the original.
_ORIENTATIONS = (
    "dct16OriginalToRotate90",
    "dct16OriginalToRotate180",
    "dct16OriginalToRotate270",
    "dct16OriginalToFlipX",
    "dct16OriginalToFlipY",
    "dct16OriginalToFlipPlus1",
    "dct16OriginalToFlipMinus1",
)
# Their C++ (Itanium ABI) names in pdqhash's extension module.
_SYMBOLS = {
    "box_along_rows": "_ZN8facebook3pdq11downscaling17boxAlongRowsFloatEPKfPfiii",
    "window_size": "_ZN8facebook3pdq11downscaling29computeJaroszFilterWindowSizeEii",
    "quality": "_ZN8facebook3pdq7hashing27pdqImageDomainQualityMetricEPA64_f",
    "dct": "_ZN8facebook3pdq7hashing9dct64To16EPA64_fS3_PA16_f",
    "bits": "_ZN8facebook3pdq7hashing20pdqBuffer16x16ToBitsEPA16_fPNS1_7Hash256E",
    **{name: f"_ZN8facebook3pdq7hashing{len(name)}{name}EPA16_fS3_" for name in _ORIENTATIONS},
}
_VOID = ctypes.c_void_p
_INT = ctypes.c_int
_SIGNATURES: dict[str, tuple[tuple[Any, ...], Any]] = {
    "box_along_rows": ((_VOID, _VOID, _INT, _INT, _INT), None),
    "window_size": ((_INT, _INT), _INT),
    "quality": ((_VOID,), _INT),
    "dct": ((_VOID, _VOID, _VOID), None),
    "bits": ((_VOID, _VOID), None),
    **{name: ((_VOID, _VOID), None) for name in _ORIENTATIONS},
}


def _load() -> dict[str, Callable[..., Any]] | None:
    """pdqhash's C functions, or None when its module does not export them."""
    try:
        from pdqhash import bindings

        library = ctypes.CDLL(bindings.__file__)
        functions: dict[str, Callable[..., Any]] = {}
        for name, symbol in _SYMBOLS.items():
            function = getattr(library, symbol)
            function.argtypes, function.restype = _SIGNATURES[name]
            functions[name] = function
        return functions
    except (ImportError, OSError, AttributeError, TypeError):
        return None


_C = _load()
NATIVE = _C is not None


def luma(rgb: np.ndarray) -> np.ndarray:
    """The float32 luminance plane ``pdqhash`` hashes an (H, W, 3) uint8 array by.

    A grey image's plane is its one channel: pdqhash's weights sum to one, and for each of the
    256 grey levels v, float32(v * 0.299 + v * 0.587 + v * 0.114) is v (checked in the tests).
    A JPEG's luminance shown as three channels (``pdq.load_for_pdq``, no channel stride) is one.
    """
    red = rgb[..., 0]
    if rgb.strides[2] == 0 or (_same(red, rgb[..., 1]) and _same(red, rgb[..., 2])):
        # Grey pixels in three channels too: the crops and located pictures of a JPEG's
        # luminance are copies of it in three channels (comparing bytes costs a tenth of the
        # weighted sum).
        return red.astype(np.float32)
    # pdqhash's own expression, in its order: the same float64 products and sums.
    return (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(np.float32)


def _same(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two channels are equal; a colour image usually differs in its first row."""
    if first.shape[0] and not np.array_equal(first[0], second[0]):
        return False
    return bool(np.array_equal(first, second))


def _pointer(array: np.ndarray) -> int:
    return int(array.ctypes.data)


@lru_cache(maxsize=64)
def _samples(side: int) -> list[int]:
    """The lines PDQ's decimation reads along a side (decimateFloat's own double arithmetic)."""
    return [int(((index + 0.5) * side) / DOWNSAMPLE) for index in range(DOWNSAMPLE)]


def _box_along_columns(source: np.ndarray, window: int) -> np.ndarray:
    """PDQ's box1DFloat down every column, run across all columns at once: the same float32
    running sum, adds, subtractions and divisions, in the same order, as its column pass."""
    lines = source.shape[0]
    out = np.empty_like(source)
    half = (window + 2) // 2
    total = np.zeros(source.shape[1], dtype=np.float32)
    read = 0
    for _ in range(half - 1):  # the first sums, nothing written yet
        total += source[read]
        read += 1
    written = 0
    for count in range(half, window + 1):  # a growing window at the top
        total += source[read]
        np.divide(total, np.float32(count), out=out[written])
        read += 1
        written += 1
    full = np.float32(window)
    for left in range(lines - window):  # the full window
        total += source[read]
        total -= source[left]
        np.divide(total, full, out=out[written])
        read += 1
        written += 1
    left = lines - window
    for count in range(window - 1, window - half, -1):  # a shrinking window at the bottom
        total -= source[left]
        np.divide(total, np.float32(count), out=out[written])
        left += 1
        written += 1
    return out


def _dct16(plane: np.ndarray) -> tuple[np.ndarray, int]:
    """PDQ's 16x16 DCT buffer and quality of a float32 plane (at least 5 pixels a side)."""
    assert _C is not None
    plane = np.ascontiguousarray(plane, dtype=np.float32)
    rows, cols = plane.shape
    along_rows = int(_C["window_size"](cols, DOWNSAMPLE))
    along_cols = int(_C["window_size"](rows, DOWNSAMPLE))
    # Jarosz's two passes, X then Y, twice (jaroszFilterFloat).
    work = np.empty_like(plane)
    _C["box_along_rows"](_pointer(plane), _pointer(work), rows, cols, along_rows)
    filtered = _box_along_columns(work, along_cols)
    _C["box_along_rows"](_pointer(filtered), _pointer(work), rows, cols, along_rows)
    # The last column pass only where the decimation reads: 64 columns, each its own run, so
    # taken as rows of the transposed selection.
    picked = np.ascontiguousarray(work[:, _samples(cols)].T)
    done = np.empty_like(picked)
    _C["box_along_rows"](_pointer(picked), _pointer(done), DOWNSAMPLE, rows, along_cols)
    buffer64 = np.ascontiguousarray(done[:, _samples(rows)].T)
    quality = int(_C["quality"](_pointer(buffer64)))
    buffer16x64 = np.empty((16, DOWNSAMPLE), dtype=np.float32)
    buffer16 = np.empty((16, 16), dtype=np.float32)
    _C["dct"](_pointer(buffer64), _pointer(buffer16x64), _pointer(buffer16))
    return buffer16, quality


def _hex(buffer16: np.ndarray) -> str:
    """The hash of a DCT buffer (PDQ's median threshold), in redline's hex order."""
    assert _C is not None
    words = np.zeros(16, dtype=np.uint16)
    _C["bits"](_pointer(buffer16), _pointer(words))
    # Hash256 holds bit k in word k // 16; the hex reads the 256-bit number from its top bit.
    return words.astype("<u2").tobytes()[::-1].hex()


def hash_plane(plane: np.ndarray) -> tuple[str, int]:
    """(hex, quality) of a luminance plane: ``pdqhash.compute``'s."""
    if min(plane.shape) < MIN_HASHABLE_SIDE:
        return ZERO_HASH, 0
    buffer16, quality = _dct16(plane)
    return _hex(buffer16), quality


def dihedral_plane(plane: np.ndarray) -> tuple[list[str], int]:
    """The eight orientations' hexes (``pdq.DIHEDRAL`` order) and quality of a luminance plane:
    ``pdqhash.compute_dihedral``'s."""
    if min(plane.shape) < MIN_HASHABLE_SIDE:
        return [ZERO_HASH] * 8, 0
    assert _C is not None
    buffer16, quality = _dct16(plane)
    hexes = [_hex(buffer16)]
    turned = np.empty_like(buffer16)
    for name in _ORIENTATIONS:
        _C[name](_pointer(buffer16), _pointer(turned))
        hexes.append(_hex(turned))
    return hexes, quality


def _agrees_with_pdqhash() -> bool:
    """Whether this path gives the installed pdqhash's hashes and quality on a test image (odd
    sizes, colour, every orientation)."""
    import pdqhash

    rgb = np.random.default_rng(16).integers(0, 256, (97, 131, 3), dtype=np.uint8)
    rgb[30:70, 40:100] //= 3  # a darker block, so the hash is not of noise alone
    vectors, quality = pdqhash.compute_dihedral(rgb)
    expected = [np.packbits(v.astype(np.uint8)).tobytes().hex() for v in vectors]
    return dihedral_plane(luma(rgb)) == (expected, int(quality))


if NATIVE and not _agrees_with_pdqhash():
    _C, NATIVE = None, False
