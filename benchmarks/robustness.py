"""How often PDQ, as redline computes and matches it, still finds an image after it was altered.

    python benchmarks/robustness.py [--generated N] [--photos N] [--quick] [--workers N]
                                    [--only images|texts|videos] [--videos N]
                                    [--video-seconds S]
                                    [--shared-data DIR]

Prints JSON. The corpus is the real photographs shipped inside scikit-image (read from the
installed package's files, never downloaded) plus ``--generated`` synthetic images of several
kinds (``benchmarks/_corpus.py``). Every image goes through every transformation of
``TRANSFORMS`` (JPEG quality, resizing, crops, borders, text overlays, brightness and contrast,
grayscale, flips, rotations, a screenshot-style re-render), each a small pure function with its
parameters swept; ``--quick`` keeps one parameter per family.

Hashes come from redline's own functions (``redline.signals.pdq.hash_array`` and
``dihedral_hashes`` on the image's RGB array). For each transformation:
- detection rate, per matching method of ``METHODS``: the share of corpus images whose
  transformed copy matches the original at redline's default threshold (distance <= 31). A
  transformed copy whose quality is below 50 counts as missed, because redline never searches
  such a hash; originals below quality 50 are left out of the corpus and listed;
- the distance from the original: median, 95th percentile and maximum, for the plain hash and
  for the nearest of the transformed copy's eight dihedral hashes;
- false matches: transformed copies within 31 of a *different* original.
False matches among the originals themselves are counted over all pairs.

Texts (``_texts.py``, the ``texts`` section): known 200-word texts from the shared data altered
as re-posters do (case, commas, typos, reordered sentences, a comment around it, an excerpt of the
middle half), matched rates by whole-text Jaccard and by containment side by side, and the pairs
of distinct shared texts that match each other; skipped when the shared data is not found.

Videos (``_videos.py``, the ``videos`` section): natural-looking videos made here from real
photographs (pans and zooms, no download), banked as ``redline bank add`` banks them and altered
as re-uploaders do (re-encode, half size, a clip, brightness and contrast, 15 fps, letterbox to
4:3, a 10% crop, mirror, a banked clip inside a longer upload); matched rates by plain vPDQ and
by redline's matching side by side, false matches between distinct videos, and the hash-time
cost of a scan's query against plain vPDQ on the same files.

Goals, reported next to the results and not asserted: at least 95% detection for every
transformation that keeps the whole picture (crops and rotations are reported as measured;
the flip's goal is with dihedral matching on), and no false match between distinct images.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import skimage
from PIL import Image

import _corpus
import _texts
import _videos
from redline import __version__
from redline.signals import pdq
from redline.signals.base import Hash
from redline.signals.pdq_crop import PdqCropSignal

# Photographs that scikit-image ships in its wheel (name -> file in skimage/data/). ``cat`` is
# left out: it is ``chelsea`` again, and a duplicate would count as a false match.
PHOTOS = {
    "astronaut": "astronaut.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "immunohistochemistry": "ihc.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "brick": "brick.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "moon": "moon.png",
    "coins": "coins.png",
    "clock": "clock_motion.png",
    "cell": "cell.png",
    "motorcycle": "motorcycle_left.png",
    "page": "page.png",
    "text": "text.png",
    "microaneurysms": "microaneurysms.png",
}
SEED = 20261123
GOAL_DETECTION = 0.95
GOAL_FALSE_MATCHES = 0


# --- transformations (data: add a row to measure a new one) ---------------------------------


WITH_DIHEDRAL = "pdq+dihedral"
REDLINE = "redline"  # what scan does: PDQ, border-trimmed PDQ, crop hashes
REDLINE_DIHEDRAL = "redline+dihedral"
# The first generation's scan, as the reference measured in the same run: PDQ and border-trimmed
# PDQ against the bank (no located picture, no enlarged hash, the mirror from PDQ's DCT).
FIRST = "redline_first_generation"
FIRST_DIHEDRAL = "redline_first_generation+dihedral"


@dataclass(frozen=True)
class Transform:
    """One alteration of an image, with the detection rate it is expected to keep."""

    name: str
    family: str
    apply: Callable[[Image.Image], Image.Image]
    goal: float | None = GOAL_DETECTION  # None: reported as measured, no goal
    goal_method: str = "redline"  # the method the goal (and detection_by_kind) is measured with
    quick: bool = False  # kept by --quick (one parameter per family)


P = functools.partial
NO_GOAL = None  # crops and rotations: reported as measured
BLACK, WHITE = (0, 0, 0), (255, 255, 255)
crop_left = P(_corpus.crop, sides="left")
TRANSFORMS: list[Transform] = [
    Transform("jpeg_q30", "jpeg", P(_corpus.jpeg, quality=30)),
    Transform("jpeg_q50", "jpeg", P(_corpus.jpeg, quality=50)),
    Transform("jpeg_q70", "jpeg", P(_corpus.jpeg, quality=70), quick=True),
    Transform("jpeg_q95", "jpeg", P(_corpus.jpeg, quality=95)),
    Transform("resize_0.25x", "resize", P(_corpus.resize, factor=0.25)),
    Transform("resize_0.5x", "resize", P(_corpus.resize, factor=0.5), quick=True),
    Transform("resize_1.5x", "resize", P(_corpus.resize, factor=1.5)),
    Transform("resize_2x", "resize", P(_corpus.resize, factor=2.0)),
    Transform("crop_2pct_each_side", "crop", P(_corpus.crop, fraction=0.02), NO_GOAL, quick=True),
    Transform("crop_5pct_each_side", "crop", P(_corpus.crop, fraction=0.05), NO_GOAL),
    Transform("crop_10pct_each_side", "crop", P(_corpus.crop, fraction=0.10), NO_GOAL),
    # Between the crop grid's steps (whole percents): how far the grid's cover reaches.
    Transform("crop_3.5pct_each_side", "crop", P(_corpus.crop, fraction=0.035), NO_GOAL),
    Transform("crop_7.5pct_left", "crop_one_side", P(crop_left, fraction=0.075), NO_GOAL),
    Transform("crop_2pct_left", "crop_one_side", P(crop_left, fraction=0.02), NO_GOAL),
    Transform("crop_5pct_left", "crop_one_side", P(crop_left, fraction=0.05), NO_GOAL, quick=True),
    Transform("crop_10pct_left", "crop_one_side", P(crop_left, fraction=0.10), NO_GOAL),
    Transform(
        "letterbox_black_12pct",
        "border",
        P(_corpus.border, vertical=0.125, horizontal=0.0, fill=BLACK),
        quick=True,
    ),
    Transform(
        "pillarbox_black_12pct",
        "border",
        P(_corpus.border, vertical=0.0, horizontal=0.125, fill=BLACK),
    ),
    Transform(
        "border_white_5pct",
        "border",
        P(_corpus.border, vertical=0.05, horizontal=0.05, fill=WHITE),
    ),
    Transform("watermark_corner", "overlay", _corpus.watermark, quick=True),
    Transform("caption_across", "overlay", _corpus.caption),
    Transform("caption_strip_above", "strip", _corpus.caption_strip, quick=True),
    Transform("watermark_strip_below", "strip", _corpus.watermark_strip),
    Transform("brightness_+30pct", "brightness", P(_corpus.brightness, factor=1.3), quick=True),
    Transform("brightness_-30pct", "brightness", P(_corpus.brightness, factor=0.7)),
    Transform("contrast_+30pct", "contrast", P(_corpus.contrast, factor=1.3), quick=True),
    Transform("contrast_-30pct", "contrast", P(_corpus.contrast, factor=0.7)),
    Transform("grayscale", "grayscale", _corpus.grayscale, quick=True),
    Transform(
        "flip_horizontal", "flip", _corpus.flip_horizontal, goal_method=REDLINE_DIHEDRAL, quick=True
    ),
    Transform(
        "rotate_90", "rotate", P(_corpus.rotate, degrees=90), NO_GOAL, REDLINE_DIHEDRAL, quick=True
    ),
    Transform("rotate_180", "rotate", P(_corpus.rotate, degrees=180), NO_GOAL, REDLINE_DIHEDRAL),
    Transform("screenshot_rerender", "screenshot", _corpus.screenshot, quick=True),
]


# --- matching methods: the extension point --------------------------------------------------
#
# A method answers "does this transformed image match its original?" the way a bank look-up
# would, from the two images alone. To measure another signal (the crop-robust secondary signal
# planned next to PDQ, for example), write a function of (original, transformed) -> bool and add
# it to METHODS: every transformation is measured with every method, in the same table.


Method = Callable[[Image.Image, Image.Image], bool]
T = TypeVar("T")


class LastResults(Generic[T]):
    """The last few results of an expensive function of an image, found by identity.

    PIL images cannot be dict keys; the images are held here, so identity cannot be reused.
    It lets a method hash the original once per image instead of once per transformation.
    """

    def __init__(self, compute: Callable[[Image.Image], T], size: int = 4) -> None:
        self.compute, self.size = compute, size
        self.entries: list[tuple[Image.Image, T]] = []

    def __call__(self, image: Image.Image) -> T:
        kept = [entry for entry in self.entries if entry[0] is not image]
        if len(kept) < len(self.entries):
            value = next(v for held, v in self.entries if held is image)
        else:
            value = self.compute(image)
        self.entries = [(image, value), *kept[: self.size - 1]]  # most recently used first
        return value


pdq_of: LastResults[Hash] = LastResults(_corpus.pdq_hash)
dihedral_of: LastResults[list[str]] = LastResults(_corpus.pdq_dihedral)


def _bank_hashes(image: Image.Image) -> list[str]:
    """What a bank holds for an image added from its file: its PDQ, its crop grid and its
    middle-masked hash."""
    return [
        pdq_of(image).value,
        *(h.value for h in PdqCropSignal.compute_array(_corpus.rgb(image))),
    ]


def _scan_query(image: Image.Image) -> pdq.PdqQuery:
    """What scan looks up for an image (``redline.signals.pdq.query_of_array``)."""
    return pdq.query_of_array(_corpus.rgb(image))


bank_of: LastResults[list[str]] = LastResults(_bank_hashes)
scan_query_of: LastResults[pdq.PdqQuery] = LastResults(_scan_query)


def query_of(image: Image.Image) -> list[str]:
    """The upright hashes scan looks up for an image: its PDQ, the PDQ without uniform borders,
    of the picture located in a screenshot or under a caption strip, of the image enlarged, of
    the image with its middle band masked."""
    query = scan_query_of(image)
    trimmed = [] if query.trimmed is None else [query.trimmed]
    return [query.value, *trimmed, *(value for _name, value in query.variants)]


def first_generation_queries(image: Image.Image) -> list[str]:
    """The upright hashes the first generation's scan looked up: PDQ and border-trimmed PDQ."""
    trimmed = scan_query_of(image).trimmed
    return [pdq_of(image).value, *([] if trimmed is None else [trimmed])]


def scan_dihedral(image: Image.Image) -> list[str]:
    """The eight orientations scan looks up for a bank with dihedral matching on."""
    query = scan_query_of(image)
    return [query.value, *query.rotations]


def searchable(hashed: Hash) -> bool:
    """redline keeps hashes below the quality threshold but never matches them."""
    return (hashed.quality or 0) >= pdq.QUALITY_THRESHOLD


def pdq_match(original: Image.Image, transformed: Image.Image) -> bool:
    """Plain PDQ: the transformed image's hash within 31 of the original's."""
    query = pdq_of(transformed)
    return searchable(query) and pdq.distance(pdq_of(original).value, query.value) <= (
        pdq.MATCH_THRESHOLD
    )


def pdq_dihedral_match(original: Image.Image, transformed: Image.Image) -> bool:
    """PDQ with dihedral matching on: any of the query's 8 rotations/flips within 31."""
    reference = pdq_of(original).value
    return searchable(pdq_of(transformed)) and any(
        pdq.distance(reference, variant) <= pdq.MATCH_THRESHOLD
        for variant in dihedral_of(transformed)
    )


def redline_match(original: Image.Image, transformed: Image.Image) -> bool:
    """redline's scan: the query's upright hashes (PDQ, border-trimmed, located picture,
    enlarged) against the original's PDQ and its 64 crop hashes (pdq_crop), all <= 31."""
    if not searchable(pdq_of(transformed)):
        return False
    bank = bank_of(original)
    return any(
        pdq.distance(q, b) <= pdq.MATCH_THRESHOLD for q in query_of(transformed) for b in bank
    )


def redline_dihedral_match(original: Image.Image, transformed: Image.Image) -> bool:
    """redline's scan for a bank with dihedral matching on (its mirror hashed from pixels)."""
    reference = pdq_of(original).value
    return redline_match(original, transformed) or (
        searchable(pdq_of(transformed))
        and any(
            pdq.distance(reference, variant) <= pdq.MATCH_THRESHOLD
            for variant in scan_dihedral(transformed)
        )
    )


def first_generation_match(original: Image.Image, transformed: Image.Image) -> bool:
    """The first generation's scan: PDQ and border-trimmed PDQ vs PDQ and crops, <= 31."""
    if not searchable(pdq_of(transformed)):
        return False
    bank = bank_of(original)
    return any(
        pdq.distance(q, b) <= pdq.MATCH_THRESHOLD
        for q in first_generation_queries(transformed)
        for b in bank
    )


def first_generation_dihedral_match(original: Image.Image, transformed: Image.Image) -> bool:
    return first_generation_match(original, transformed) or pdq_dihedral_match(
        original, transformed
    )


METHODS: dict[str, tuple[Method, str]] = {
    "pdq": (pdq_match, "PDQ distance <= 31, as a bank without dihedral matching"),
    WITH_DIHEDRAL: (
        pdq_dihedral_match,
        "any of the 8 dihedral PDQ hashes of the query <= 31, as a bank with dihedral on",
    ),
    REDLINE: (
        redline_match,
        "redline scan: PDQ, border-trimmed, located-picture and enlarged PDQ of the query vs the"
        " banked image's PDQ and its 64 crop hashes, <= 31",
    ),
    REDLINE_DIHEDRAL: (redline_dihedral_match, "redline scan with dihedral matching on"),
    FIRST: (
        first_generation_match,
        "the first generation's scan (reference): PDQ and border-trimmed PDQ vs PDQ and crops",
    ),
    FIRST_DIHEDRAL: (first_generation_dihedral_match, "the same with dihedral matching on"),
}


# --- the corpus -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One corpus image, by how to make it (so worker processes make it themselves)."""

    name: str
    kind: str  # "photo" or the generator's name
    source: str  # "photo" or "generated"
    number: int = 0


def photo_dir() -> Path:
    return Path(skimage.__file__).parent / "data"


def available_photos(limit: int | None) -> tuple[list[Entry], list[str]]:
    """The photographs found in the installed scikit-image, and those that are not there."""
    found: list[str] = []
    missing: list[str] = []
    for name, filename in PHOTOS.items():
        (found if (photo_dir() / filename).is_file() else missing).append(name)
    if limit is not None:
        found = found[:limit]
    return [Entry(name, "photo", "photo") for name in found], missing


def load(entry: Entry) -> Image.Image:
    """The entry's image, RGB."""
    if entry.source == "photo":
        with Image.open(photo_dir() / PHOTOS[entry.name]) as opened:
            # 16-bit, float and 1-bit photos have no direct RGB conversion: through 8-bit grey.
            grey = opened.mode in ("1", "I;16", "I", "F")
            return (opened.convert("L") if grey else opened).convert("RGB")
    _kind, image = _corpus.generated_image(entry.number, SEED)
    return image


# --- measuring one image (in a worker process) ----------------------------------------------


@dataclass
class Measured:
    """One transformed copy of one image, compared with its original."""

    distance: int  # PDQ distance to the original's hash
    dihedral_distance: int  # the nearest of the copy's 8 dihedral hashes to the original's
    quality: int  # the copy's PDQ quality
    matched: dict[str, bool]  # method -> found
    value: str  # the copy's hash
    dihedral: list[str]  # the copy's 8 dihedral hashes
    queries: list[str]  # what redline's scan looks up for the copy (its upright hashes)
    scan_dihedral: list[str]  # the copy's 8 orientations as scan computes them
    first_queries: list[str]  # what the first generation's scan looked up


@dataclass
class Outcome:
    """What one corpus image gave: its hashes, and each transformed copy's measurement."""

    entry: Entry
    quality: int
    value: str
    dihedral: list[str]
    bank: list[str]  # what a bank holds for the image: its PDQ and crop hashes
    scan_dihedral: list[str]  # the image's 8 orientations as scan computes them
    queries: list[str]  # its upright hashes as scan looks them up
    transformed: dict[str, Measured]  # by transform name; empty when the image is left out


def measure(entry: Entry, transform_names: Sequence[str]) -> Outcome:
    original = load(entry)
    hashed = pdq_of(original)
    outcome = Outcome(
        entry, hashed.quality or 0, hashed.value, dihedral_of(original), [], [], [], {}
    )
    if not searchable(hashed):
        return outcome  # left out of the corpus: redline would refuse it as a bank entry
    outcome.bank = bank_of(original)
    outcome.scan_dihedral = scan_dihedral(original)
    outcome.queries = query_of(original)
    chosen = {t.name: t for t in TRANSFORMS}
    for name in transform_names:
        altered = chosen[name].apply(original)
        query, variants = pdq_of(altered), dihedral_of(altered)
        outcome.transformed[name] = Measured(
            distance=pdq.distance(hashed.value, query.value),
            dihedral_distance=min(pdq.distance(hashed.value, v) for v in variants),
            quality=query.quality or 0,
            matched={method: match(original, altered) for method, (match, _) in METHODS.items()},
            value=query.value,
            dihedral=variants,
            queries=query_of(altered),
            scan_dihedral=scan_dihedral(altered),
            first_queries=first_generation_queries(altered),
        )
    return outcome


def measure_task(task: tuple[Entry, list[str]]) -> Outcome:
    return measure(*task)


# --- summarising ----------------------------------------------------------------------------


def codes(hexes: Sequence[str]) -> np.ndarray:
    """(N, 32) uint8 rows, for vectorised Hamming distances."""
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances between rows of two code arrays."""
    counts: np.ndarray = np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int32)
    return counts


def nearest_dihedral(hexes: Sequence[str], originals: np.ndarray) -> np.ndarray:
    """Per group of 8 hashes, the distance of the group's nearest hash to each original."""
    nearest: np.ndarray = distances(codes(hexes), originals).reshape(-1, 8, len(originals)).min(1)
    return nearest


def nearest_sets(queries: Sequence[Sequence[str]], banks: Sequence[Sequence[str]]) -> np.ndarray:
    """(queries, banks) matrix: the smallest distance between any hash of each pair of sets."""
    query_codes = codes([h for group in queries for h in group])
    bank_codes = codes([h for group in banks for h in group])
    all_pairs = distances(query_codes, bank_codes)
    query_owner = np.repeat(np.arange(len(queries)), [len(g) for g in queries])
    bank_starts = np.cumsum([0, *(len(g) for g in banks[:-1])])
    per_bank = np.minimum.reduceat(all_pairs, bank_starts, axis=1)
    result = np.full((len(queries), len(banks)), 256, dtype=np.int32)
    np.minimum.at(result, query_owner, per_bank)
    return result


def spread(values: Sequence[int]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)]
    return {"median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def rate(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def transform_row(transform: Transform, used: list[Outcome]) -> dict[str, object]:
    """The detection rates, distances and false matches of one transformation."""
    copies = [o.transformed[transform.name] for o in used]
    detection = {method: rate([c.matched[method] for c in copies]) for method in METHODS}
    by_kind = {
        kind: rate(
            [
                c.matched[transform.goal_method]
                for o, c in zip(used, copies, strict=True)
                if o.entry.kind == kind
            ]
        )
        for kind in dict.fromkeys(o.entry.kind for o in used)
    }
    # Copies within 31 of a *different* original: the diagonal is the copy's own original.
    originals = codes([o.value for o in used])
    plain = distances(codes([c.value for c in copies]), originals)
    turned = nearest_dihedral([h for c in copies for h in c.dihedral], originals)
    scan_turned = nearest_dihedral([h for c in copies for h in c.scan_dihedral], originals)
    np.fill_diagonal(plain, 256)
    np.fill_diagonal(turned, 256)
    np.fill_diagonal(scan_turned, 256)
    # redline: any of a copy's query hashes near any of another original's bank hashes.
    by_scan = nearest_sets([c.queries for c in copies], [o.bank for o in used])
    np.fill_diagonal(by_scan, 256)
    by_first = nearest_sets([c.first_queries for c in copies], [o.bank for o in used])
    np.fill_diagonal(by_first, 256)
    missed = [
        {
            "image": o.entry.name,
            "distance": c.distance,
            "dihedral_distance": c.dihedral_distance,
            "quality": c.quality,
        }
        for o, c in zip(used, copies, strict=True)
        if not c.matched[transform.goal_method]
    ]
    found = detection[transform.goal_method]
    return {
        "name": transform.name,
        "family": transform.family,
        "images": len(copies),
        "detection": detection,
        "detection_by_kind": by_kind,  # with goal_method
        "distance": spread([c.distance for c in copies]),
        "dihedral_distance": spread([c.dihedral_distance for c in copies]),
        "low_quality_transformed": sum(c.quality < pdq.QUALITY_THRESHOLD for c in copies),
        "false_matches_vs_other_originals": {
            "pdq": int((plain <= pdq.MATCH_THRESHOLD).sum()),
            WITH_DIHEDRAL: int((turned <= pdq.MATCH_THRESHOLD).sum()),
            REDLINE: int((by_scan <= pdq.MATCH_THRESHOLD).sum()),
            REDLINE_DIHEDRAL: int(
                ((by_scan <= pdq.MATCH_THRESHOLD) | (scan_turned <= pdq.MATCH_THRESHOLD)).sum()
            ),
            FIRST: int((by_first <= pdq.MATCH_THRESHOLD).sum()),
            FIRST_DIHEDRAL: int(
                ((by_first <= pdq.MATCH_THRESHOLD) | (turned <= pdq.MATCH_THRESHOLD)).sum()
            ),
        },
        "goal": transform.goal,
        "goal_method": transform.goal_method,
        "goal_met": None if transform.goal is None else found >= transform.goal,
        "missed_count": len(missed),
        "missed": missed[:12],
    }


def false_matches(used: list[Outcome], table: list[dict[str, Any]]) -> dict[str, object]:
    """Distinct originals within 31 of each other, and transformed copies near other originals."""
    names = [o.entry.name for o in used]
    originals = codes([o.value for o in used])
    upper = np.triu_indices(len(used), k=1)
    plain = distances(originals, originals)[upper]
    turned = nearest_dihedral([h for o in used for h in o.dihedral], originals)
    turned = np.minimum(turned, turned.T)[upper]
    scan_turned = nearest_dihedral([h for o in used for h in o.scan_dihedral], originals)
    scan_turned = np.minimum(scan_turned, scan_turned.T)[upper]
    # redline: one original's look-up hashes against another's bank hashes (PDQ, crops).
    scanned = nearest_sets([o.queries for o in used], [o.bank for o in used])
    scanned = np.minimum(scanned, scanned.T)[upper]
    first = nearest_sets([[o.value] for o in used], [o.bank for o in used])
    first = np.minimum(first, first.T)[upper]
    close = [
        {"a": names[i], "b": names[j], "distance": int(d)}
        for i, j, d in zip(*upper, plain, strict=True)
        if d <= pdq.MATCH_THRESHOLD
    ]
    nearest = int(np.argmin(plain))
    cross_pairs = len(used) * (len(used) - 1) * len(table)
    cross = {
        method: sum(row["false_matches_vs_other_originals"][method] for row in table)
        for method in METHODS
    }
    return {
        "original_pairs": len(plain),
        "original_pairs_matching": {
            "pdq": len(close),
            WITH_DIHEDRAL: int((turned <= pdq.MATCH_THRESHOLD).sum()),
            REDLINE: int((scanned <= pdq.MATCH_THRESHOLD).sum()),
            REDLINE_DIHEDRAL: int(
                ((scanned <= pdq.MATCH_THRESHOLD) | (scan_turned <= pdq.MATCH_THRESHOLD)).sum()
            ),
            FIRST: int((first <= pdq.MATCH_THRESHOLD).sum()),
            FIRST_DIHEDRAL: int(
                ((first <= pdq.MATCH_THRESHOLD) | (turned <= pdq.MATCH_THRESHOLD)).sum()
            ),
        },
        "original_pair_rate": round(len(close) / len(plain), 6),
        "matching_pairs": close[:20],
        "nearest_distinct_pair": {
            "a": names[upper[0][nearest]],
            "b": names[upper[1][nearest]],
            "distance": int(plain[nearest]),
        },
        "original_pair_distance": spread(plain.tolist()),
        "transformed_vs_other_pairs": cross_pairs,
        "transformed_vs_other_matching": cross,
        "transformed_vs_other_rate": {
            method: round(count / cross_pairs, 8) for method, count in cross.items()
        },
        "goal": GOAL_FALSE_MATCHES,
        "goal_met": int((scanned <= pdq.MATCH_THRESHOLD).sum()) == GOAL_FALSE_MATCHES,
    }


def summary(table: list[dict[str, Any]], found: dict[str, Any]) -> dict[str, object]:
    with_goal = [row for row in table if row["goal"] is not None]
    return {
        "transforms": len(table),
        "families": sorted({row["family"] for row in table}),
        "goal_detection": GOAL_DETECTION,
        "transforms_meeting_goal": [row["name"] for row in with_goal if row["goal_met"]],
        "transforms_missing_goal": {
            row["name"]: {"method": row["goal_method"], "detection": row["detection"]}
            for row in with_goal
            if not row["goal_met"]
        },
        "measured_without_goal": {
            row["name"]: row["detection"] for row in table if row["goal"] is None
        },
        "lowest_detection_pdq": min(table, key=lambda row: row["detection"]["pdq"])["name"],
        "false_matches_among_originals": found["original_pairs_matching"],
        "false_match_goal_met": found["goal_met"],
    }


# --- the run --------------------------------------------------------------------------------


def shared_data(given: Path | None) -> Path | None:
    """The shared data sets: as given, $REDLINE_SHARED_DATA, or a shared/data above the
    checkout (as the tests find them)."""
    candidates = [given, os.environ.get("REDLINE_SHARED_DATA")]
    candidates += [parent / "shared" / "data" for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "fakes_syria_war_news.csv").is_file():
            return Path(candidate)
    return None


def _print_one_section(name: str, section: Any, quick: bool, started: float) -> None:
    """The JSON of a run of one section (``--only videos`` or ``--only texts``)."""
    result = {
        "benchmark": "robustness",
        "redline_version": __version__,
        "machine": _corpus.machine(),
        "quick": quick,
        name: section,
        "seconds": round(time.perf_counter() - started, 1),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generated", type=int, default=100, help="generated images")
    parser.add_argument("--photos", type=int, default=None, help="at most this many photos")
    parser.add_argument("--quick", action="store_true", help="one parameter per family")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=("images", "texts", "videos"), help="one section only")
    parser.add_argument("--videos", type=int, default=6, help="distinct videos (0: none)")
    parser.add_argument("--video-seconds", type=float, default=_videos.SECONDS, help="their length")
    parser.add_argument(
        "--shared-data", type=Path, default=None, help="the shared data sets (for the texts)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    wanted = args.only == "videos" or (args.only is None and args.videos > 0)
    videos = _videos.run(args.videos, args.quick, PHOTOS, args.video_seconds) if wanted else None
    if args.only == "videos":
        _print_one_section("videos", videos, args.quick, started)
        return
    texts = None if args.only == "images" else _texts.run(shared_data(args.shared_data), args.quick)
    if args.only == "texts":
        _print_one_section("texts", texts, args.quick, started)
        return

    transforms = [t for t in TRANSFORMS if t.quick or not args.quick]
    photos, missing = available_photos(args.photos)
    generated = [
        Entry(f"generated-{n}", _corpus.generated_kind(n), "generated", n)
        for n in range(args.generated)
    ]
    entries = photos + generated
    if len(entries) < 2:
        parser.exit(2, "robustness.py: error: the corpus needs at least two images\n")
    tasks = [(entry, [t.name for t in transforms]) for entry in entries]
    with multiprocessing.get_context("fork").Pool(max(1, args.workers)) as pool:
        outcomes = pool.map(measure_task, tasks, chunksize=1)

    used = [o for o in outcomes if o.transformed]
    excluded = [
        {"image": o.entry.name, "quality": o.quality} for o in outcomes if not o.transformed
    ]
    table = [transform_row(transform, used) for transform in transforms]
    found = false_matches(used, table)
    result = {
        "benchmark": "robustness",
        "redline_version": __version__,
        "machine": _corpus.machine(),
        "threshold": pdq.MATCH_THRESHOLD,
        "quality_threshold": pdq.QUALITY_THRESHOLD,
        "quick": args.quick,
        "corpus": {
            "photos": [e.name for e in photos],
            "photos_unavailable": missing,
            "photos_source": str(photo_dir()),
            "generated": len(generated),
            "generated_kinds": dict(Counter(e.kind for e in generated)),
            "excluded_low_quality": excluded,
            "images_measured": len(used),
        },
        "methods": {name: description for name, (_, description) in METHODS.items()},
        "transforms": table,
        "false_matches": found,
        "summary": summary(table, found),
        **({} if texts is None else {"texts": texts}),
        **({} if videos is None else {"videos": videos}),
        "seconds": round(time.perf_counter() - started, 1),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
