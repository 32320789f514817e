"""pdq_crop: PDQ made robust to cropping, which HMA has nothing for.

PDQ hashes the whole frame, so cutting a few percent off the edges moves the hash by 50 to 130
bits (measured on scikit-image's photographs), far past the match threshold of 31, and re-framing
is exactly how re-uploads dodge hash matching. For each image added to a bank from its file,
redline also stores the PDQ hashes of a grid of 64 crops of it: centred (1% to 10% off every
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

from redline.signals.base import Comparison, Hash, Indexed, SignalType
from redline.signals.pdq import MATCH_THRESHOLD, PdqSignal, hash_array, load_for_pdq

# (name, left, top, right, bottom) as fractions of width and height. PDQ moves by tens of bits
# when a crop is off by half a percent on sharp-edged images (measured on the demo's generated
# images; photographs tolerate about 1%), so the common re-framings get fine steps.
CROPS: tuple[tuple[str, float, float, float, float], ...] = (
    *((f"centre{p}", p / 100, p / 100, p / 100, p / 100) for p in range(1, 11)),
    *((f"left{p}", p / 100, 0.0, 0.0, 0.0) for p in range(2, 11)),
    *((f"top{p}", 0.0, p / 100, 0.0, 0.0) for p in range(2, 11)),
    *((f"right{p}", 0.0, 0.0, p / 100, 0.0) for p in range(2, 11)),
    *((f"bottom{p}", 0.0, 0.0, 0.0, p / 100) for p in range(2, 11)),
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
    """The image without uniform borders, or None when it has none worth trimming.

    Works on a copy subsampled to about 256 pixels a side: borders are many pixels thick, and the
    full-size pass took longer than hashing itself.
    """
    height, width = rgb.shape[:2]
    step = max(1, min(height, width) // 256)
    small = rgb[::step, ::step]
    # Sum of the channels, not their mean: the same test at a third of the cost.
    grey = small[..., 0].astype(np.int16) + small[..., 1] + small[..., 2]
    corner = float(np.median([grey[0, 0], grey[0, -1], grey[-1, 0], grey[-1, -1]]))
    deviation = np.abs(grey - corner) > 3 * BORDER_TOLERANCE
    content_rows = np.flatnonzero(deviation.any(axis=1))
    content_cols = np.flatnonzero(deviation.any(axis=0))
    if content_rows.size == 0 or content_cols.size == 0:
        return None  # a blank image has no picture inside any border
    # Round inwards to whole subsampled pixels: a sliver of border costs less than lost picture.
    top, bottom = int(content_rows[0]) * step, min(height, (int(content_rows[-1]) + 1) * step)
    left, right = int(content_cols[0]) * step, min(width, (int(content_cols[-1]) + 1) * step)
    if (
        top > height // 3
        or left > width // 3
        or bottom < height - height // 3
        or right < width - width // 3
    ):
        return None  # more "border" than that is a picture with a plain area, not a frame
    trimmed_share = max((top + height - bottom) / height, (left + width - right) / width)
    if trimmed_share < MIN_TRIM:
        return None
    return np.ascontiguousarray(rgb[top:bottom, left:right])


class PdqCropSignal(SignalType):
    """PDQ hashes of crops of a banked image (bank side only; queries use their plain PDQ)."""

    name: ClassVar[str] = "pdq_crop"
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_threshold: ClassVar[float] = THRESHOLD
    # Looked up by PDQ queries (``PdqSignal.match``), never on its own.
    indexed: ClassVar[Indexed | None] = Indexed.WHOLE

    @classmethod
    def validate(cls, value: str) -> str:
        return PdqSignal.validate(value)

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        return cls.compute_array(load_for_pdq(path))

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
