"""pdq_crop: PDQ made robust to cropping, which HMA has nothing for.

PDQ hashes the whole frame, so cutting a few percent off the edges moves the hash by 50 to 130
bits (measured on scikit-image's photographs), far past the match threshold of 31, and re-framing
is exactly how re-uploads dodge hash matching. For each image added to a bank from its file,
redline also stores the PDQ hashes of a grid of 48 crops of it: centred (1% to 10% off every
side), one edge, two opposite edges, and corners, each from 2-3% to 10%. A re-upload cropped
close to one of them hashes within the threshold of that crop's hash (measured: 12 to 32 bits
where the whole-image hash was 44 to 136 bits away). Queries cost nothing extra: their ordinary
PDQ hash is also looked up among the crop hashes.

On the query side, uniform borders (letterboxing, pillarboxing, frames) are trimmed and the
trimmed image hashed too, which catches the reverse: bars added around known content.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from redline.signals.base import Comparison, Hash, SignalType
from redline.signals.pdq import MATCH_THRESHOLD, PdqSignal, hash_array, load_rgb

# (name, left, top, right, bottom) as fractions of width and height. PDQ moves by tens of bits
# when a crop is off by half a percent on sharp-edged images (measured on the demo's generated
# images; photographs tolerate about 1%), so the common re-framings get fine steps.
CROPS: tuple[tuple[str, float, float, float, float], ...] = (
    *((f"centre{p}", p / 100, p / 100, p / 100, p / 100) for p in range(1, 11)),
    *((f"left{p}", p / 100, 0.0, 0.0, 0.0) for p in (2, 4, 6, 8, 10)),
    *((f"top{p}", 0.0, p / 100, 0.0, 0.0) for p in (2, 4, 6, 8, 10)),
    *((f"right{p}", 0.0, 0.0, p / 100, 0.0) for p in (2, 4, 6, 8, 10)),
    *((f"bottom{p}", 0.0, 0.0, 0.0, p / 100) for p in (2, 4, 6, 8, 10)),
    *((f"sides{p}", p / 100, 0.0, p / 100, 0.0) for p in (3, 6, 10)),
    *((f"topbottom{p}", 0.0, p / 100, 0.0, p / 100) for p in (3, 6, 10)),
    *((f"topleft{p}", p / 100, p / 100, 0.0, 0.0) for p in (3, 6, 10)),
    *((f"topright{p}", 0.0, p / 100, p / 100, 0.0) for p in (3, 6, 10)),
    *((f"bottomleft{p}", p / 100, 0.0, 0.0, p / 100) for p in (3, 6, 10)),
    *((f"bottomright{p}", 0.0, 0.0, p / 100, p / 100) for p in (3, 6, 10)),
)
# Matches through a crop use PDQ's own threshold: the grid, not a looser distance, buys the
# robustness. Measured false matches between distinct images: benchmarks/robustness.py.
THRESHOLD = MATCH_THRESHOLD
MIN_TRIM = 0.02  # borders thinner than this share of a side are not worth a second hash
BORDER_TOLERANCE = 12  # max difference from the border colour (0-255) still counted as border


def crop(rgb: np.ndarray, left: float, top: float, right: float, bottom: float) -> np.ndarray:
    """The region of ``rgb`` left after cutting the given shares off each side."""
    height, width = rgb.shape[:2]
    return np.ascontiguousarray(
        rgb[
            int(height * top) : height - int(height * bottom),
            int(width * left) : width - int(width * right),
        ]
    )


def crop_hashes(rgb: np.ndarray) -> list[Hash]:
    """PDQ hashes of the crop grid of an image, each named in its meta."""
    hashes = []
    for name, *sides in CROPS:
        computed = hash_array(crop(rgb, *sides))
        hashes.append(Hash(computed.value, computed.quality, {"crop": name}))
    return hashes


def trim_borders(rgb: np.ndarray) -> np.ndarray | None:
    """The image without uniform borders, or None when it has none worth trimming."""
    grey = rgb.astype(np.int16).mean(axis=2)
    height, width = grey.shape

    def uniform(line: np.ndarray, colour: float) -> bool:
        return bool(np.abs(line - colour).max() <= BORDER_TOLERANCE)

    corner = float(np.median([grey[0, 0], grey[0, -1], grey[-1, 0], grey[-1, -1]]))
    top = 0
    while top < height // 3 and uniform(grey[top], corner):
        top += 1
    bottom = height
    while bottom > height - height // 3 and uniform(grey[bottom - 1], corner):
        bottom -= 1
    left = 0
    while left < width // 3 and uniform(grey[top:bottom, left], corner):
        left += 1
    right = width
    while right > width - width // 3 and uniform(grey[top:bottom, right - 1], corner):
        right -= 1
    trimmed_share = max((top + height - bottom) / height, (left + width - right) / width)
    if trimmed_share < MIN_TRIM:
        return None
    return np.ascontiguousarray(rgb[top:bottom, left:right])


class PdqCropSignal(SignalType):
    """PDQ hashes of crops of a banked image (bank side only; queries use their plain PDQ)."""

    name: ClassVar[str] = "pdq_crop"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_threshold: ClassVar[float] = THRESHOLD

    @classmethod
    def validate(cls, value: str) -> str:
        return PdqSignal.validate(value)

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        return cls.compute_array(load_rgb(path))

    @classmethod
    def compute_array(cls, rgb: np.ndarray) -> list[Hash]:
        """The crop hashes (and the border-trimmed hash) of an RGB array."""
        hashes = crop_hashes(rgb)
        trimmed = trim_borders(rgb)
        if trimmed is not None:
            computed = hash_array(trimmed)
            hashes.append(Hash(computed.value, computed.quality, {"crop": "trimmed"}))
        return hashes

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        return PdqSignal.compare(a, b, THRESHOLD if threshold is None else threshold)
