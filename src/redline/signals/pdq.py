"""PDQ: Meta's perceptual hash for photos, as python-threatexchange and HMA compute and compare it.

The hex form is the 256 bits of ``pdqhash.compute`` read as one binary number, most significant
bit first, which is python-threatexchange's order and so every shared hash list's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pdqhash
from PIL import Image

from redline.signals import pdq_plane
from redline.signals.base import (
    BadSignal,
    BankedSignal,
    BankLookup,
    BankMatch,
    BankRules,
    Comparison,
    Hash,
    Hit,
    Indexed,
    Query,
    SignalType,
)
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
MIN_TRIMMED_SIDE = 32  # a trimmed picture smaller than this is mostly border: not hashed
# Query-time variants beside the plain hash: the picture found inside a screenshot's chrome or
# under a caption strip (``pdq_crop.locate_pictures``), and a small image enlarged before hashing.
# "located_inset": the picture with chrome all round it; "located_spanning": across the frame's
# width or height, with strips above and below or beside it; "stripped": the frame without the
# plain bands along its sides (``pdq_crop.strip_bands``), where the picture's own edges are faint.
LOCATED = ("located_inset", "located_spanning", "stripped")
ENLARGED = "enlarged"
# A caption laid across the middle of the picture (meme text over a photo) changes the pixels
# PDQ sees there, and 21-25% of such copies drift past the threshold. The rows of the middle band
# are replaced, in the query and in the banked image alike, by a blend from the row above the band
# to the row below it, and that hash is looked up among the crop hashes, where the banked image's
# own is: on the robustness corpus the captioned copies' masked hashes are 0 bits from their
# originals', and distinct images' masked hashes still 86 bits apart at the closest.
MIDDLE_MASKED = "middle_masked"
MIDDLE_BAND = (0.36, 0.64)  # the rows masked, as shares of the height from the top
# The query hashes also looked up among crops (the upright ones).
UPRIGHT = frozenset({"original", "trimmed", *LOCATED, ENLARGED, MIDDLE_MASKED})
# PDQ's downsampling box (Jarosz filter) is ceil(side / 128) pixels wide: on a 160-pixel side it
# is 2 pixels, 1/80 of the side, against 1/128 on the 640-pixel original, so a quarter-size copy
# is blurred more than its original and drifts (measured: 17 of 117 quarter-size copies past 31
# bits). Enlarged so its shorter side is ENLARGED_SIDE, the box is in proportion again.
SMALL_SIDE = 400  # images whose shorter side is under this also get an enlarged hash
ENLARGED_SIDE = 512
ENLARGED_MAX_SIDE = 2048
MIRROR = DIHEDRAL.index("mirror") - 1  # its place in ``PdqQuery.rotations``
MIRROR_SIDE = 512  # big images are reduced to about this before their mirror is hashed


@dataclass(frozen=True, slots=True)
class PdqQuery(Query):
    """A PDQ hash to look up, with its seven other orientations (``DIHEDRAL[1:]`` order, for
    banks with dihedral matching on) and its hash without uniform borders, when known."""

    rotations: tuple[str, ...] = ()
    trimmed: str | None = None
    # (one of LOCATED, ENLARGED or MIDDLE_MASKED, hash), upright
    variants: tuple[tuple[str, str], ...] = ()

    def stored_meta(self) -> dict[str, Any] | None:
        meta: dict[str, Any] = {"dihedral": list(self.rotations)}
        if self.trimmed:
            meta["trimmed"] = self.trimmed
        if self.variants:
            meta["variants"] = dict(self.variants)
        return meta


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
        # An image already in the mode wanted is read as it is: converting it would copy it.
        if image.format != "JPEG" or image.mode != "L":
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        luma = np.asarray(image)
        return np.broadcast_to(luma[..., None], (*luma.shape, 3))


def hash_array(rgb: np.ndarray) -> Hash:
    """The PDQ hash of an RGB array."""
    if pdq_plane.NATIVE:
        return Hash(*pdq_plane.hash_plane(pdq_plane.luma(rgb)))
    bits, quality = pdqhash.compute(rgb)
    return Hash(to_hex(bits), int(quality))


def enlarged(rgb: np.ndarray) -> np.ndarray:
    """A small image resampled (bicubic) so its shorter side is ``ENLARGED_SIDE``, its longer
    at most ``ENLARGED_MAX_SIDE`` (a 1x5000 strip must not become gigabytes)."""
    height, width = rgb.shape[:2]
    scale = min(ENLARGED_SIDE / min(height, width), ENLARGED_MAX_SIDE / max(height, width))
    if scale <= 1:
        return rgb
    size = (round(width * scale), round(height * scale))
    return np.asarray(
        Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.Resampling.BICUBIC)
    )


def middle_masked(
    rgb: np.ndarray, plane: np.ndarray | None = None, *, reduced: np.ndarray | None = None
) -> Hash | None:
    """The PDQ hash of the image with its ``MIDDLE_BAND`` rows replaced by a linear blend from
    the row above the band to the row below it (in pixels, rounded to 8 bits); None for an image
    too short to have rows on both sides.

    A big image is reduced first, as for its mirror (``_mirror_source``; ``reduced`` when the
    caller has it): hashed at full size, this one hash doubled the cost of a photo's query.
    ``plane``: the image's luminance plane when already made (``pdq_plane``), used when the
    image is not reduced; luminance is per pixel, so the masked plane is it with the band's rows
    taken from the blended pixels: the same hash as hashing the masked pixels with pdqhash."""
    source = _mirror_source(rgb) if reduced is None else reduced
    if source is not rgb:
        rgb, plane = source, None
    height = rgb.shape[0]
    top, bottom = int(height * MIDDLE_BAND[0]), int(height * MIDDLE_BAND[1])
    if top < 1 or bottom >= height or bottom <= top:
        return None
    steps = np.arange(1, bottom - top + 1, dtype=np.float32) / (bottom - top + 1)
    steps = steps.reshape(-1, *([1] * (rgb.ndim - 1)))
    above, below = rgb[top - 1].astype(np.float32), rgb[bottom].astype(np.float32)
    band = np.rint(above * (1 - steps) + below * steps).astype(np.uint8)
    if pdq_plane.NATIVE:
        masked = (pdq_plane.luma(rgb) if plane is None else plane).copy()
        masked[top:bottom] = pdq_plane.luma(band)
        return Hash(*pdq_plane.hash_plane(masked))
    pixels = np.array(rgb)  # a copy, and a contiguous one (a JPEG's luminance is a view)
    pixels[top:bottom] = band
    return hash_array(pixels)


def _mirror_source(rgb: np.ndarray) -> np.ndarray:
    """The pixels the mirror is hashed from: a big image reduced (box filter) by a whole factor
    to about ``MIRROR_SIDE`` a side (``mirror_hash``); a smaller one as it is."""
    factor = round(min(rgb.shape[:2]) / MIRROR_SIDE)
    if factor < 2:
        return rgb
    if rgb.strides[2] == 0:  # a JPEG's luminance shown as three channels (load_for_pdq)
        # Reduce the one plane: the same pixels as reducing three equal channels, without
        # first copying them out to three (most of this function's cost on big photos).
        luma = np.asarray(Image.fromarray(rgb[..., 0]).reduce(factor))
        return np.broadcast_to(luma[..., None], (*luma.shape, 3))
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).reduce(factor))


def mirror_hash(rgb: np.ndarray) -> str:
    """The PDQ hash of the image mirrored left-right, hashed from the mirrored pixels.

    PDQ's orientations are sign flips of its DCT, exact only if its downsampling were
    mirror-symmetric; it is not, and mirrored textures and text pages drift 32-86 bits (14% of
    mirrored copies were missed). A mirror is the commonest of the eight, so it is hashed from
    pixels; a big image first reduced (box filter) to about MIRROR_SIDE a side, which costs a
    tenth of hashing it at full size and moved no mirrored copy more than 12 bits (measured on
    the robustness corpus enlarged 2.5x)."""
    return hash_array(np.ascontiguousarray(_mirror_source(rgb)[:, ::-1])).value


def query_of_array(rgb: np.ndarray) -> PdqQuery:
    """PDQ of an RGB array with what a look-up can use besides: its other seven orientations
    (the mirror hashed from the mirrored pixels), when it has uniform borders the hash of the
    image without them (letterboxed re-uploads), when it sits in a screenshot's chrome or under a
    caption strip the hash of the picture found there (by its edges, and by stripping the plain
    bands around it), when it is small its enlarged hash, and its hash with the middle band
    masked (a caption across the picture, ``middle_masked``).

    The luminance plane PDQ hashes is made once (``pdq_plane``) and the orientations, the
    mirror of a small image and the border-trimmed hash taken from it: the same hashes as
    hashing each array with pdqhash, at a fraction of the cost.
    """
    from redline.signals.pdq_crop import (  # they build on this module
        border_box,
        locate_pictures,
        strip_bands,
    )

    plane = pdq_plane.luma(rgb) if pdq_plane.NATIVE else None
    if plane is not None:
        hexes, quality = pdq_plane.dihedral_plane(plane)
    else:
        vectors, quality = pdqhash.compute_dihedral(rgb)
        hexes = [to_hex(v) for v in vectors]
    rotations = hexes[1:]
    mirror_source = _mirror_source(rgb)
    if plane is not None and mirror_source is rgb:
        # Luminance is per pixel, so the mirrored plane is the plane of the mirrored pixels.
        rotations[MIRROR] = pdq_plane.hash_plane(plane[:, ::-1])[0]
    else:
        rotations[MIRROR] = hash_array(np.ascontiguousarray(mirror_source[:, ::-1])).value
    box = border_box(rgb)
    trimmed_hex = None
    trimmed: np.ndarray | None = None
    if box is not None:
        top, bottom, left, right = box
        if min(bottom - top, right - left) >= MIN_TRIMMED_SIDE:
            trimmed = rgb[top:bottom, left:right]
            if plane is not None:
                trimmed_hex = pdq_plane.hash_plane(plane[top:bottom, left:right])[0]
            else:
                trimmed_hex = hash_array(np.ascontiguousarray(rgb[top:bottom, left:right])).value
    variants: list[tuple[str, str]] = []
    found = [(f"located_{reading}", picture) for reading, picture in locate_pictures(rgb)]
    stripped = strip_bands(rgb)
    if stripped is not None:
        found.append(("stripped", stripped))
    hashed = [] if trimmed_hex is None or trimmed is None else [trimmed]
    for name, picture in found:
        if any(np.array_equal(picture, seen) for seen in hashed):
            continue  # the bands and the edges found the same picture: one hash
        hashed.append(picture)
        small = min(picture.shape[:2]) < SMALL_SIDE
        located = hash_array(enlarged(picture) if small else picture)
        if (located.quality or 0) >= QUALITY_THRESHOLD and located.value != trimmed_hex:
            variants.append((name, located.value))
    if min(rgb.shape[:2]) < SMALL_SIDE:
        larger = enlarged(rgb)
        if larger is not rgb:  # a thin strip cannot be enlarged within bounds
            variants.append((ENLARGED, hash_array(larger).value))
    masked = middle_masked(rgb, plane, reduced=mirror_source)
    if masked is not None and (masked.quality or 0) >= QUALITY_THRESHOLD:
        variants.append((MIDDLE_MASKED, masked.value))
    return PdqQuery(hexes[0], int(quality), tuple(rotations), trimmed_hex, tuple(variants))


def hash_image(path: Path, *, full_size: bool = False) -> PdqQuery:
    """The one way redline hashes a photo with PDQ: scans, bank uploads and the HMA API.

    ``full_size`` decodes without the JPEG draft and in colour, as python-threatexchange does,
    so the HMA API gives the hash HMA gives for the same file, bit for bit; otherwise big JPEGs
    are decoded drafted and as luminance (``load_for_pdq``). BadSignal for unreadable files
    and decompression bombs.
    """
    return query_of_array(load_rgb(path, draft=False) if full_size else load_for_pdq(path))


def dihedral_hashes(rgb: np.ndarray) -> list[str]:
    """The eight PDQ hashes of the image's rotations and flips (``DIHEDRAL`` order)."""
    if pdq_plane.NATIVE:
        return pdq_plane.dihedral_plane(pdq_plane.luma(rgb))[0]
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

    indexed: ClassVar[Indexed | None] = Indexed.WHOLE
    min_quality: ClassVar[int] = QUALITY_THRESHOLD

    @classmethod
    def compute(cls, path: Path) -> list[Hash]:
        query = hash_image(path)
        return [Hash(query.value, query.quality)]

    @classmethod
    def hash_query(cls, path: Path) -> PdqQuery:
        return hash_image(path)

    @classmethod
    def query(
        cls, value: str, quality: int | None = None, meta: Mapping[str, Any] | None = None
    ) -> PdqQuery:
        meta = meta or {}
        return PdqQuery(
            value,
            quality,
            tuple(meta.get("dihedral") or ()),
            meta.get("trimmed"),
            tuple((meta.get("variants") or {}).items()),
        )

    @classmethod
    def compare(cls, a: str, b: str, threshold: float | None = None) -> Comparison:
        d = distance(cls.validate(a), cls.validate(b))
        return Comparison(d <= (MATCH_THRESHOLD if threshold is None else threshold), d)

    @classmethod
    def match(
        cls, lookup: BankLookup, queries: Sequence[Query], *, include_disabled_banks: bool = False
    ) -> list[list[BankMatch]]:
        """Matches of each PDQ query, best first, one per bank entry: within each bank's own
        threshold; its rotations searched for banks with dihedral matching on; it and its
        trimmed form also looked up among the banks' crop hashes (``pdq_crop``). A query of
        known quality under ``QUALITY_THRESHOLD`` is never matched, as python-threatexchange
        does."""
        from redline.signals import pdq_crop  # pdq_crop builds on this module

        banks = lookup.banks()
        usable = [b for b in banks.values() if include_disabled_banks or b.enabled]
        results: list[list[BankMatch]] = [[] for _ in queries]
        if not queries or not usable:
            return results
        dihedral = any(b.dihedral for b in usable)
        probes: list[str] = []
        owners: list[tuple[int, str]] = []  # (query position, transform)
        for position, query in enumerate(queries):
            if query.quality is not None and query.quality < cls.min_quality:
                continue
            probes.append(query.value)
            owners.append((position, "original"))
            trimmed = query.trimmed if isinstance(query, PdqQuery) else None
            if trimmed:
                probes.append(trimmed)
                owners.append((position, "trimmed"))
            for name, variant in query.variants if isinstance(query, PdqQuery) else ():
                probes.append(variant)
                owners.append((position, name))
            if dihedral and isinstance(query, PdqQuery):
                for name, variant in zip(DIHEDRAL[1:], query.rotations, strict=False):
                    probes.append(variant)
                    owners.append((position, name))
        if not probes:
            return results
        plain = lookup.near(cls.name, probes, max(b.threshold for b in usable))
        # Crops are searched with the upright query (and its trimmed form) only.
        upright = [i for i, (_p, t) in enumerate(owners) if t in UPRIGHT]
        cropped_hits = lookup.near(
            pdq_crop.PdqCropSignal.name, [probes[i] for i in upright], pdq_crop.THRESHOLD
        )
        cropped: list[list[Hit]] = [[] for _ in probes]
        for slot, hits in zip(upright, cropped_hits, strict=True):
            cropped[slot] = hits
        entries = lookup.entries(
            h.signal_id for hit_lists in (plain, cropped) for hits in hit_lists for h in hits
        )
        best: dict[tuple[int, int], BankMatch] = {}
        for number, (position, transform) in enumerate(owners):
            for crop, hits in ((False, plain[number]), (True, cropped[number])):
                for hit in hits:
                    match = _hit_match(
                        crop, hit, transform, probes[number], entries, banks, include_disabled_banks
                    )
                    if match is None:
                        continue
                    key = (position, match.entry_id)
                    # A whole-image match wins over a crop match; then the closer one.
                    if key not in best or _rank(match) < _rank(best[key]):
                        best[key] = match
        for (position, _entry), match in sorted(
            best.items(), key=lambda kv: (kv[0][0], _rank(kv[1]))
        ):
            results[position].append(match)
        return results


def _rank(match: BankMatch) -> tuple[bool, float]:
    return (match.signal_type != PdqSignal.name, match.distance)


def _hit_match(
    crop: bool,
    hit: Hit,
    transform: str,
    probe: str,
    entries: dict[int, BankedSignal],
    banks: dict[int, BankRules],
    include_disabled_banks: bool,
) -> BankMatch | None:
    """The match a PDQ index hit makes (``crop``: among the crop hashes), or None when the
    entry, bank or transform rules it out."""
    from redline.signals import pdq_crop

    entry = entries.get(hit.signal_id)
    if entry is None:
        return None  # deleted since the index was built
    bank = banks.get(entry.bank_id)
    if bank is None or not bank.usable(entry.enabled, include_disabled_banks):
        return None
    threshold = min(bank.threshold, pdq_crop.THRESHOLD) if crop else bank.threshold
    if hit.distance > threshold:
        return None
    if transform not in UPRIGHT and not bank.dihedral:
        return None
    detail: dict[str, Any] = {"query": probe}
    if transform != "original":
        detail["transform"] = transform
    if crop:
        detail["crop"] = (entry.meta or {}).get("crop")
    return BankMatch(
        bank.name,
        bank.id,
        entry.entry_id,
        pdq_crop.PdqCropSignal.name if crop else PdqSignal.name,
        float(hit.distance),
        entry.category,
        bank.confirmed,
        detail,
    )
