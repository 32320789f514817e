"""pdq_crop: PDQ made robust to cropping, which HMA has nothing for.

PDQ hashes the whole frame, so cutting a few percent off the edges moves the hash by 50 to 130
bits (measured on scikit-image's photographs), far past the match threshold of 31, and re-framing
is exactly how re-uploads dodge hash matching. For each image added to a bank from its file,
redline also stores the PDQ hashes of a grid of 64 crops of it: centred (1% to 10% off every
side), one edge, two opposite edges, and corners, each from 2-3% to 10%. A re-upload cropped
close to one of them hashes within the threshold of that crop's hash (measured: 12 to 32 bits
where the whole-image hash was 44 to 136 bits away). Queries cost nothing extra: their ordinary
PDQ hash is also looked up among the crop hashes. Beside the crops, the image's hash with its
middle band masked (``pdq.middle_masked``), which a query's own masked hash finds when a caption
is laid across the picture.

On the query side, uniform borders (letterboxing, pillarboxing, frames) are trimmed and the
trimmed image hashed too, which catches the reverse: bars added around known content. Chrome
that is not uniform (an app's header and buttons around a screenshotted picture, a meme's
caption strip) is found by the picture's straight edges instead (``locate_pictures``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from redline.signals import pdq_plane
from redline.signals.base import Comparison, Hash, Indexed, SignalType
from redline.signals.pdq import (
    MATCH_THRESHOLD,
    MIDDLE_MASKED,
    MIN_TRIMMED_SIDE,
    PdqSignal,
    hash_array,
    load_for_pdq,
    middle_masked,
)

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


def crop_hashes(rgb: np.ndarray, plane: np.ndarray | None = None) -> list[Hash]:
    """PDQ hashes of the crop grid of an image, each named in its meta.

    The crops are cut from the luminance plane, made once (``pdq_plane``; ``plane`` when the
    caller has it), not from the pixels: luminance is per pixel, so the same hashes, without 64
    copies and conversions."""
    if plane is None and pdq_plane.NATIVE:
        plane = pdq_plane.luma(rgb)
    hashes = []
    for name, *sides in CROPS:
        if plane is not None:
            value, quality = pdq_plane.hash_plane(crop(plane, *sides))
            computed = Hash(value, quality)
        else:
            computed = hash_array(crop(rgb, *sides))
        hashes.append(Hash(computed.value, computed.quality, {"crop": name}))
    return hashes


def trim_borders(rgb: np.ndarray) -> np.ndarray | None:
    """The image without uniform borders, or None when it has none worth trimming."""
    box = border_box(rgb)
    if box is None:
        return None
    top, bottom, left, right = box
    return np.ascontiguousarray(rgb[top:bottom, left:right])


def border_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the image without uniform borders, or None when it has
    none worth trimming (``trim_borders``; a query hashes the box of the luminance it has).

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
    return top, bottom, left, right


# Locating a picture inside a screenshot or under a caption strip (``locate_pictures``).
EDGE_STEP = 48  # grey-sum difference (0-765) across a row or column boundary that is an edge
EDGE_SUPPORT = 0.6  # share of a picture side's length the edge must run along
CHROME_PLAIN = 0.5  # share of a chrome band (app bar, caption strip) in its dominant shade
MIN_PICTURE_AREA = 0.2  # a located picture smaller than this share of the frame is not hashed
EDGE_CANDIDATES = 4  # strongest edge lines tried per side
END_SHARE = 10  # percent of a side's length at each end that must be edge too, in part


def _plain(grey: np.ndarray, share: float = CHROME_PLAIN) -> bool:
    """Whether most of a band is one shade: app chrome, a caption strip's background."""
    if grey.size == 0:
        return True
    return bool((np.abs(grey - np.median(grey)) <= 3 * BORDER_TOLERANCE).mean() >= share)


def _edge_lines(support: np.ndarray, low: int, high: int) -> list[int]:
    """The strongest boundaries in [low, high) of a per-boundary edge share, strongest first.

    ``support[i]`` is the share of edge pixels between line i and i + 1, so boundary i + 1.
    """
    found = [
        i + 1
        for i in range(max(0, low - 1), min(len(support), high - 1))
        if support[i] >= EDGE_SUPPORT / 2
        and support[i] >= support[max(0, i - 1)]
        and support[i] >= support[min(len(support) - 1, i + 1)]
    ]
    found.sort(key=lambda line: -support[line - 1])
    return found[:EDGE_CANDIDATES]


def _refine(rgb: np.ndarray, boundary: int, step: int, axis: int, span: slice) -> int:
    """The full-resolution boundary near a subsampled one: where the picture's edge is sharpest.

    Only the few lines around it are read: summing the whole image's channels costs more than
    finding the picture."""
    if step == 1:
        return boundary
    lines = rgb[:, span] if axis == 0 else np.swapaxes(rgb, 0, 1)[:, span]
    low = max(1, (boundary - 1) * step + 1)
    high = min(lines.shape[0], boundary * step + step // 2 + 1)
    near = lines[low - 1 : high].astype(np.int16).sum(axis=2)  # grey sums of those lines
    strength = np.abs(np.diff(near, axis=0)).mean(axis=1)
    return low + int(np.argmax(strength))


def locate_pictures(rgb: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The picture inside a larger frame, found by its straight edges: ("inset", picture) and
    ("spanning", picture) for the best rectangle of each reading found, none when there is none.

    A screenshot shows a picture inside an app's chrome (a header with a name and an avatar,
    buttons below, margins), a meme adds a caption strip above or below it: in both the picture
    is a rectangle whose sides are long straight edges or the frame's own edges, and everything
    around it is plain bands (mostly one shade, with a little text or icons on it). Of the
    rectangles bounded by the strongest edge lines whose surroundings are plain, the one with
    most edges, then the largest, is the picture. Uniform borders are ``trim_borders``' work;
    this finds what they cannot: chrome of several colours, with text on it.
    """
    height, width = rgb.shape[:2]
    step = max(1, min(height, width) // 256)
    small = rgb[::step, ::step]
    grey = small[..., 0].astype(np.int16) + small[..., 1] + small[..., 2]
    rows, cols = grey.shape
    if rows < 8 or cols < 8:
        return []
    across_rows = np.abs(np.diff(grey, axis=0)) > EDGE_STEP  # (rows - 1, cols)
    across_cols = np.abs(np.diff(grey, axis=1)) > EDGE_STEP  # (rows, cols - 1)
    # Running counts of edge pixels along each boundary line: any stretch's share in O(1).
    row_sums = np.zeros((rows - 1, cols + 1), dtype=np.int32)
    np.cumsum(across_rows, axis=1, out=row_sums[:, 1:])
    col_sums = np.zeros((rows + 1, cols - 1), dtype=np.int32)
    np.cumsum(across_cols, axis=0, out=col_sums[1:])
    row_support = across_rows.mean(axis=1)
    col_support = across_cols.mean(axis=0)
    # The picture covers at least the middle of the frame: its top in the upper half, and so on.
    tops = [0, *_edge_lines(row_support, 1, rows // 2)]
    bottoms = [rows, *_edge_lines(row_support, rows // 2, rows)]
    lefts = [0, *_edge_lines(col_support, 1, cols // 2)]
    rights = [cols, *_edge_lines(col_support, cols // 2, cols)]
    tops = [t for t in tops if t == 0 or _plain(grey[:t])]
    bottoms = [b for b in bottoms if b == rows or _plain(grey[b:])]
    # A picture is inset (four straight edges, chrome all round: a screenshot with margins) or
    # spans the frame one way (caption strips above or below, a full-width picture in an app).
    # Inset wins: its margins were checked plain, so it is the tighter reading of the same frame.
    # The best of each reading is kept: when an inset rectangle is the picture's own frame
    # line (posters have them) the spanning one is the picture, and both cost one hash each.
    best: dict[bool, tuple[tuple[int, int, int], tuple[int, int, int, int]]] = {}
    smallest = MIN_PICTURE_AREA * rows * cols
    for top in tops:
        for bottom in bottoms:
            for left in lefts:
                for right in rights:
                    inset = top > 0 and bottom < rows and left > 0 and right < cols
                    spans = (left == 0 and right == cols) != (top == 0 and bottom == rows)
                    edges = (top > 0) + (bottom < rows) + (left > 0) + (right < cols)
                    rank = (int(inset), edges, (bottom - top) * (right - left))
                    if not (inset or spans) or rank[2] <= smallest:
                        continue
                    if inset in best and rank <= best[inset][0]:
                        continue
                    if (
                        _frames_picture(row_sums, col_sums, top, bottom, left, right)
                        and _plain(grey[top:bottom, :left])
                        and _plain(grey[top:bottom, right:])
                    ):
                        best[inset] = (rank, (top, bottom, left, right))
    pictures: list[tuple[str, np.ndarray]] = []
    for inset in (True, False):
        if inset not in best:
            continue
        top, bottom, left, right = best[inset][1]
        columns = slice(left * step, min(width, right * step))
        lines = slice(top * step, min(height, bottom * step))
        top = 0 if top == 0 else _refine(rgb, top, step, 0, columns)
        bottom = height if bottom == rows else _refine(rgb, bottom, step, 0, columns)
        left = 0 if left == 0 else _refine(rgb, left, step, 1, lines)
        right = width if right == cols else _refine(rgb, right, step, 1, lines)
        if min(bottom - top, right - left) >= MIN_TRIMMED_SIDE:
            reading = "inset" if inset else "spanning"
            pictures.append((reading, np.ascontiguousarray(rgb[top:bottom, left:right])))
    return pictures


def _frames_picture(
    row_sums: np.ndarray, col_sums: np.ndarray, top: int, bottom: int, left: int, right: int
) -> bool:
    """Whether each side of the rectangle inside the frame is a straight edge along most of its
    length and at both of its ends (a side at the frame's own edge needs nothing).

    The ends matter: a rectangle reaching past the picture into plain chrome (an app's header
    above a picture with margins) has sides that are edges along the picture only."""
    rows, cols = row_sums.shape[0] + 1, col_sums.shape[1] + 1
    for line, at_frame, sums, low, high in (
        (top, top == 0, row_sums, left, right),
        (bottom, bottom == rows, row_sums, left, right),
        (left, left == 0, col_sums.T, top, bottom),
        (right, right == cols, col_sums.T, top, bottom),
    ):
        if at_frame:
            continue
        counts = sums[line - 1]
        end = max(1, (high - low) * END_SHARE // 100)
        if (
            counts[high] - counts[low] < EDGE_SUPPORT * (high - low)
            or counts[low + end] - counts[low] < EDGE_SUPPORT / 2 * end
            or counts[high] - counts[high - end] < EDGE_SUPPORT / 2 * end
        ):
            return False
    return True


# Stripping plain bands off a frame (``strip_bands``): a caption strip, a channel's watermark
# band, an app's header, footer and margins.
BAND_MAX = 0.45  # a band takes at most this share of the frame's side
BAND_MIN = 0.03  # thinner plain lines along a side are the picture's own margin (posters' frames)
BAND_CLEAN = 0.75  # share of a band's plain line in its colour (the rest: icons, a header across)
BAND_GAP = 0.2  # a line with less of the band's colour than this is past the band, not its text
BAND_INK = 0.3  # the picture's first lines are less than this share in the band's colour
JPEG_BLUR = 8  # pixels a JPEG smears a sharp boundary over (its block)
BAND_STEP = 24  # mean change (R + G + B) from a band's last line to the picture's first ones


def _in_colour(lines: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Each line's share of pixels in ``colour`` (channel by channel: numpy sums a short last
    axis slowly, and this runs on every frame whose edge is plain)."""
    off = np.abs(lines[..., 0] - colour[0])
    off += np.abs(lines[..., 1] - colour[1])
    off += np.abs(lines[..., 2] - colour[2])
    return np.asarray((off <= 3 * BORDER_TOLERANCE).mean(axis=-1))


def _shares_until_gap(lines: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """``_in_colour`` of the lines up to the first one under ``BAND_GAP`` (a band has ended by
    then), a block at a time: most frames with a plain edge have no band, and stop early."""
    found: list[np.ndarray] = []
    for start in range(0, len(lines), 32):
        found.append(_in_colour(lines[start : start + 32], colour))
        if found[-1].min() < BAND_GAP:
            break
    return np.concatenate(found)


def _band_depth(lines: np.ndarray, least: int, step: int = 1) -> int:
    """How many of ``lines`` (RGB, the frame's edge first, ``step`` pixels apart) are a plain band
    with a sharp boundary after it: 0 when there is none, or it is thinner than ``least``.

    A band is lines in the colour of the frame's outer line, and between them lines of its text
    (big caption letters can cover half a line); it ends after its last line in its colour before
    a line that is hardly the band at all, and the lines after it must be mostly another colour
    (a dark coat may cross the boundary, not most of the width). Colours, not grey levels: a
    poster's teal frame line on its blue ground has the same grey. A band is flat, its colour
    near its end the colour of its first line, and ends at a step: a gradient sky that drifts
    from the outer row's colour is picture. JPEG blurs the boundary over a few pixels (colour
    over 16): the lines just past it and the band's last block are read past that blur."""
    if len(lines) <= least:
        return 0
    shares = _shares_until_gap(lines, _colour(lines[0]))
    if shares[0] < BAND_CLEAN:
        return 0
    ended = np.flatnonzero(shares < BAND_GAP)
    if ended.size == 0:
        return 0  # in its colour all the way in: a plain picture, or more band than picture
    depth = int(np.flatnonzero(shares[: ended[0]] >= BAND_CLEAN)[-1]) + 1
    blur = -(-JPEG_BLUR // step)  # lines
    past = lines[depth : depth + blur + 1]
    inside = lines[max(0, depth - 1 - blur)]
    if (
        depth < least
        or shares[depth : depth + blur + 1].min() >= BAND_INK
        or np.abs(past - lines[depth - 1].astype(np.int16)).sum(axis=2).mean(axis=1).max()
        < BAND_STEP
        or np.abs(_colour(inside) - _colour(lines[0])).sum() > BORDER_TOLERANCE
    ):
        return 0  # too thin, the picture's side still mostly the band, no step, or a drift
    return depth


def _colour(line: np.ndarray) -> np.ndarray:
    """A line's dominant colour: the median of each channel."""
    return np.asarray(np.median(line, axis=0), dtype=np.int16)


def _band_edge(lines: np.ndarray, depth: int, step: int) -> int:
    """The full-resolution boundary of a band ``depth`` subsampled lines deep: the first line
    near it no longer in the band's colour. ``lines``: the frame's lines from that side, at full
    resolution, subsampled along each line."""
    if depth == 0 or step == 1:
        return depth * step
    low = (depth - 1) * step + 1
    shares = _in_colour(lines[low : depth * step + 1], _colour(lines[0]))
    below = np.flatnonzero(shares < BAND_CLEAN)
    return low + int(below[0]) if below.size else depth * step


def _margin_rows(margins: np.ndarray) -> np.ndarray:
    """The rows where margin columns (RGB, columns x rows) are in their own colour."""
    colour = np.median(margins, axis=1, keepdims=True).astype(np.int16)
    plain = np.abs(margins - colour).sum(axis=2, dtype=np.int16) <= 3 * BORDER_TOLERANCE
    return np.flatnonzero(plain.mean(axis=0) >= BAND_CLEAN)


def strip_bands(rgb: np.ndarray) -> np.ndarray | None:
    """The picture without the plain bands around it, or None when it has none worth stripping.

    A meme's caption strip, a reposting channel's watermark band, an app's header, footer and
    margins in a screenshot: each is a band along a side of the frame, mostly one colour (its
    text, an avatar or buttons on it), ending at a sharp boundary where the picture starts.
    Unlike ``trim_borders`` each side has its own colour and the bands may carry text; unlike
    ``locate_pictures`` the picture needs no straight edge of its own: a dark photograph above a
    dark band, or a picture that blends into a margin somewhere along its side, still ends where
    the band's lines stop being mostly the band. The top and bottom bands are read across the
    whole width, the margins beside the picture between them; where margins were found, the
    picture's top and bottom are also where the margins start and end (a dark sky under a dark
    app header shows no boundary, the light margins beside it do). Found on a subsample of about
    256 lines a side, each boundary then placed at full resolution.
    """
    height, width = rgb.shape[:2]
    step = max(1, min(height, width) // 256)
    small = rgb[::step, ::step]
    outer = (small[0], small[-1], small[:, 0], small[:, -1])
    if not any(_in_colour(line, _colour(line)) >= BAND_CLEAN for line in outer):
        return None  # no side starts with a plain line: the common case, at almost no cost
    rows, cols = small.shape[:2]
    across = np.swapaxes(small, 0, 1)  # columns as lines
    most, least = int(rows * BAND_MAX), max(2, int(rows * BAND_MIN))
    top = _band_depth(small[:most], least, step)
    bottom = _band_depth(small[: rows - most - 1 : -1], least, step)
    down = slice(top, rows - bottom)
    most, least = int(cols * BAND_MAX), max(2, int(cols * BAND_MIN))
    left = _band_depth(across[:most, down], least, step)
    right = _band_depth(across[: cols - most - 1 : -1, down], least, step)
    if left or right:
        margins = np.concatenate((across[:left, down], across[cols - right :, down]))
        plain = _margin_rows(margins)
        if plain.size:
            top = max(top, down.start + int(plain[0]))
            bottom = max(bottom, rows - down.start - int(plain[-1]) - 1)
    full_rows, full_cols = rgb[:, ::step], np.swapaxes(rgb, 0, 1)[:, ::step]
    top = _band_edge(full_rows, top, step)
    bottom = height - _band_edge(full_rows[::-1], bottom, step)
    left = _band_edge(full_cols, left, step)
    right = width - _band_edge(full_cols[::-1], right, step)
    stripped = max((top + height - bottom) / height, (left + width - right) / width)
    if stripped < MIN_TRIM or min(bottom - top, right - left) < MIN_TRIMMED_SIDE:
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
        """The crop hashes, the border-trimmed hash and the middle-masked hash (what a caption
        across the picture is matched by, ``pdq.MIDDLE_MASKED``) of an RGB array."""
        # One luminance plane for the grid and the masked hash (a 12 MP photo's is 48 MB).
        plane = pdq_plane.luma(rgb) if pdq_plane.NATIVE else None
        hashes = crop_hashes(rgb, plane)
        trimmed = trim_borders(rgb)
        if trimmed is not None:
            computed = hash_array(trimmed)
            hashes.append(Hash(computed.value, computed.quality, {"crop": "trimmed"}))
        masked = middle_masked(rgb, plane)
        if masked is not None:
            hashes.append(Hash(masked.value, masked.quality, {"crop": MIDDLE_MASKED}))
        return hashes

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        return PdqSignal.compare(a, b, THRESHOLD if threshold is None else threshold)
