"""PDQ: Meta's perceptual hash for photos, as python-threatexchange and HMA compute and compare it.

The hex form is the 256 bits of ``pdqhash.compute`` read as one binary number, most significant
bit first, which is python-threatexchange's order and so every shared hash list's order.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pdqhash

from redline.signals.base import BadSignal, Comparison, Hash, SignalType
from redline.signals.decoding import open_image

MATCH_THRESHOLD = 31  # python-threatexchange's PDQ_CONFIDENT_MATCH_THRESHOLD
QUALITY_THRESHOLD = 50  # below this a hash is kept but never matched, as in python-threatexchange
HEX_DIGITS = frozenset("0123456789abcdef")
# pdqhash.compute_dihedral's order (its flipX, flipY, flipPlus1, flipMinus1), in plain words:
# flipping about the x axis turns the image upside down; about the y axis mirrors it left-right.
DIHEDRAL = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "upside_down",
    "mirror",
    "transpose",
    "transverse",
)
# Big JPEGs are decoded at a reduced scale no smaller than this (Pillow draft): hashing a 12 MP
# photo at full size takes most of a second. Not smaller: other organisations hash at full size,
# and a 1600x1200 photo decoded at 800x600 already drifted by up to 14 bits (measured), which
# would eat into the match threshold. benchmarks/hashing.py reports the drift on its corpus.
DRAFT_SIZE = (1024, 1024)


def to_hex(bits: np.ndarray) -> str:
    """Hex of a 256-element 0/1 vector, most significant bit first."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def load_rgb(path: Path, *, draft: bool = True) -> np.ndarray:
    """An image file as an RGB uint8 array (big JPEGs drafted unless ``draft`` is False)."""
    with open_image(path, draft=("RGB", DRAFT_SIZE) if draft else None) as image:
        return np.asarray(image.convert("RGB"))


def load_for_pdq(path: Path) -> np.ndarray:
    """An image as PDQ needs it: an (H, W, 3) uint8 array whose luminance is the image's.

    JPEGs are decoded to their luminance channel only (and drafted when big), then shown as three
    equal channels without copying: JPEG's Y uses PDQ's own luma weights (0.299, 0.587, 0.114), so
    the hash is the same (measured: 0 bits from a colour decode) and decoding costs half.
    """
    with open_image(path, draft=("L", DRAFT_SIZE)) as image:
        # The draft makes an RGB or grey JPEG decode as L; anything else keeps its own mode.
        if image.format != "JPEG" or image.mode != "L":
            return np.asarray(image.convert("RGB"))
        luma = np.asarray(image.convert("L"))
        return np.broadcast_to(luma[..., None], (*luma.shape, 3))


def hash_array(rgb: np.ndarray) -> Hash:
    """The PDQ hash of an RGB array."""
    bits, quality = pdqhash.compute(rgb)
    return Hash(to_hex(bits), int(quality))


def dihedral_hashes(rgb: np.ndarray) -> list[str]:
    """The eight PDQ hashes of the image's rotations and flips (``DIHEDRAL`` order)."""
    vectors, _quality = pdqhash.compute_dihedral(rgb)
    return [to_hex(v) for v in vectors]


def distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class PdqSignal(SignalType):
    """PDQ for images: 64 hex characters, match at Hamming distance <= 31, quality 0-100."""

    name: ClassVar[str] = "pdq"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_threshold: ClassVar[float] = MATCH_THRESHOLD

    @classmethod
    def validate(cls, value: str) -> str:
        text = value.strip().lower()
        if len(text) != 64 or not set(text) <= HEX_DIGITS:
            raise BadSignal(f"invalid PDQ hash {value[:80]!r}: expected 64 hex digits")
        return text

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        return [hash_array(load_for_pdq(path))]

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        d = distance(cls.validate(a), cls.validate(b))
        return Comparison(d <= (MATCH_THRESHOLD if threshold is None else threshold), d)
