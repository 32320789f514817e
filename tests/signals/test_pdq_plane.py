"""The plane path hashes (``pdq_plane``: the luminance made once, the column passes a row at a
time) give exactly the bits pdqhash gives, and a scan's query is the one hashing each array
with pdqhash gives: PDQ, its orientations, the mirror from pixels, the trimmed, located and
enlarged hashes, on real photographs decoded as the scan decodes them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from redline.signals import pdq, pdq_plane
from redline.signals.pdq_crop import (
    CROPS,
    PdqCropSignal,
    border_box,
    crop,
    locate_pictures,
    strip_bands,
    trim_borders,
)
from tests.media_fixtures import generated, photo
from tests.pipeline.test_reframed_images import app_screenshot, captioned

plane_path = pytest.mark.skipif(
    not pdq_plane.NATIVE, reason="this pdqhash build does not export its C functions"
)

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field")


def pdqhash_hash(rgb: np.ndarray) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return pdq.to_hex(bits), int(quality)


def straightforward_query(rgb: np.ndarray) -> pdq.PdqQuery:
    """The query as it was computed before the plane path: every hash by pdqhash itself, on its
    own array."""
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    hexes = [pdq.to_hex(v) for v in vectors]
    rotations = hexes[1:]
    factor = round(min(rgb.shape[:2]) / pdq.MIRROR_SIDE)
    source = np.ascontiguousarray(rgb)
    if factor >= 2:
        source = np.asarray(Image.fromarray(source).reduce(factor))
    rotations[pdq.MIRROR] = pdqhash_hash(source[:, ::-1])[0]
    trimmed = trim_borders(rgb)
    trimmed_hex = None
    if trimmed is not None and min(trimmed.shape[:2]) >= pdq.MIN_TRIMMED_SIDE:
        trimmed_hex = pdqhash_hash(trimmed)[0]
    variants = []
    found = [(f"located_{reading}", picture) for reading, picture in locate_pictures(rgb)]
    stripped = strip_bands(rgb)
    if stripped is not None:
        found.append(("stripped", stripped))
    hashed = [] if trimmed_hex is None or trimmed is None else [trimmed]
    for name, picture in found:
        if any(np.array_equal(picture, seen) for seen in hashed):
            continue
        hashed.append(picture)
        small = min(picture.shape[:2]) < pdq.SMALL_SIDE
        value, located_quality = pdqhash_hash(pdq.enlarged(picture) if small else picture)
        if located_quality >= pdq.QUALITY_THRESHOLD and value != trimmed_hex:
            variants.append((name, value))
    if min(rgb.shape[:2]) < pdq.SMALL_SIDE:
        larger = pdq.enlarged(rgb)
        if larger is not rgb:
            variants.append((pdq.ENLARGED, pdqhash_hash(larger)[0]))
    masked = masked_pixels(source)  # reduced first, as the mirror is
    if masked is not None:
        value, masked_quality = pdqhash_hash(masked)
        if masked_quality >= pdq.QUALITY_THRESHOLD:
            variants.append((pdq.MIDDLE_MASKED, value))
    return pdq.PdqQuery(hexes[0], int(quality), tuple(rotations), trimmed_hex, tuple(variants))


def masked_pixels(rgb: np.ndarray) -> np.ndarray | None:
    """The pixels with the middle band's rows blended, row by row, from the row above the band
    to the row below it (what ``pdq.middle_masked`` hashes)."""
    height = rgb.shape[0]
    top, bottom = (int(height * share) for share in pdq.MIDDLE_BAND)
    if top < 1 or bottom >= height:
        return None
    pixels = np.array(rgb)
    above, below = rgb[top - 1].astype(np.float32), rgb[bottom].astype(np.float32)
    for row in range(top, bottom):
        share = np.float32(row - top + 1) / np.float32(bottom - top + 1)
        pixels[row] = np.rint(above * (1 - share) + below * share).astype(np.uint8)
    return pixels


def decoded(image: Image.Image, tmp_path: Path, name: str, fmt: str = "JPEG") -> np.ndarray:
    """The image as a scan decodes its file (a JPEG as its luminance, drafted when big)."""
    path = tmp_path / f"{name}.{fmt.lower()}"
    image.convert("RGB").save(path, fmt)
    return pdq.load_for_pdq(path)


@plane_path
def test_each_grey_level_is_its_own_luminance() -> None:
    levels = np.arange(256, dtype=np.uint8)
    weighted = (levels * 0.299 + levels * 0.587 + levels * 0.114).astype(np.float32)
    assert np.array_equal(weighted, levels.astype(np.float32))
    grey = np.broadcast_to(levels.reshape(16, 16)[..., None], (16, 16, 3))
    assert np.array_equal(pdq_plane.luma(grey), pdq_plane.luma(np.ascontiguousarray(grey)))


@pytest.mark.parametrize("name", PHOTOS)
@plane_path
def test_plane_hashes_are_pdqhash_bits(name: str) -> None:
    picture = photo(name)
    sizes = [(640, 480), (1280, 960), (2000, 1500), (517, 333), (64, 999), (7, 5), (5, 4)]
    for size in sizes:
        rgb = np.asarray(picture.resize(size, Image.Resampling.BILINEAR))
        grey = np.asarray(picture.resize(size, Image.Resampling.BILINEAR).convert("L"))
        shown = np.broadcast_to(grey[..., None], (*grey.shape, 3))
        # Colour, a JPEG's luminance shown as three channels, and grey copied into three.
        for array in (rgb, shown, np.ascontiguousarray(shown)):
            computed = pdq.hash_array(array)
            assert (computed.value, computed.quality) == pdqhash_hash(array), size
            vectors, _quality = pdqhash.compute_dihedral(np.ascontiguousarray(array))
            assert pdq.dihedral_hashes(array) == [pdq.to_hex(v) for v in vectors], size


@plane_path
def test_scan_queries_are_the_straightforward_ones(tmp_path: Path) -> None:
    """Every kind of query a scan makes, from files: big and small photographs (mirror reduced
    or not, enlarged hash), letterboxed (trimmed), a screenshot and a captioned meme (located
    pictures), generated images, and a colour PNG (decoded in colour, not as luminance)."""
    arrays: dict[str, np.ndarray] = {}
    for number, name in enumerate(PHOTOS):
        size = ((640, 480), (1280, 960), (2048, 1536), (4000, 3000), (360, 270))[number]
        arrays[f"{name}-{size[0]}"] = decoded(photo(name).resize(size), tmp_path, name)
    boxed = Image.new("RGB", (800, 600), (0, 0, 0))
    boxed.paste(photo("coffee").resize((800, 450)), (0, 75))
    arrays["letterboxed"] = decoded(boxed, tmp_path, "letterboxed")
    arrays["screenshot"] = decoded(app_screenshot(photo("astronaut")), tmp_path, "screenshot")
    arrays["captioned"] = decoded(captioned(photo("chelsea")), tmp_path, "captioned")
    arrays["small-captioned"] = decoded(
        captioned(photo("rocket").resize((300, 200))), tmp_path, "sc"
    )
    for number in range(3):
        arrays[f"generated-{number}"] = decoded(generated(number), tmp_path, f"g{number}")
    arrays["colour-png"] = decoded(photo("chelsea"), tmp_path, "colour", "PNG")
    readings = set()
    for label, rgb in arrays.items():
        query = pdq.query_of_array(rgb)
        assert query == straightforward_query(rgb), label
        readings.update(name for name, _value in query.variants)
        if query.trimmed:
            readings.add("trimmed")
    # The corpus did exercise every variant the plane path takes a shortcut for.
    assert {
        "trimmed",
        "enlarged",
        "located_inset",
        "located_spanning",
        "stripped",
        "middle_masked",
    } <= readings
    assert arrays["colour-png"].strides[2] != 0


@plane_path
def test_border_box_is_the_trimmed_picture() -> None:
    picture = np.asarray(photo("coffee").resize((400, 300)))
    framed = np.zeros((400, 500, 3), dtype=np.uint8)
    framed[50:350, 50:450] = picture
    box = border_box(framed)
    assert box is not None
    top, bottom, left, right = box
    trimmed = trim_borders(framed)
    assert trimmed is not None
    assert np.array_equal(trimmed, framed[top:bottom, left:right])
    assert abs(top - 50) <= 2 and abs(bottom - 350) <= 2
    assert border_box(picture) is None


@plane_path
def test_a_decoded_file_hashes_as_before(tmp_path: Path) -> None:
    """The whole of ``hash_image`` (decode, then the plane path) against pdqhash on the same
    decoded pixels."""
    buffer = io.BytesIO()
    photo("astronaut").resize((1500, 1500)).save(buffer, "JPEG", quality=90)
    path = tmp_path / "photo.jpg"
    path.write_bytes(buffer.getvalue())
    assert pdq.hash_image(path) == straightforward_query(pdq.load_for_pdq(path))


@plane_path
def test_bank_crop_hashes_are_pdqhash_bits(tmp_path: Path) -> None:
    """A bank upload's 64 crop hashes and its middle-masked hash, cut from the luminance plane,
    are pdqhash's of the crops cut from the pixels (a JPEG's luminance, and a colour PNG)."""
    for fmt in ("JPEG", "PNG"):
        rgb = decoded(photo("coffee").resize((900, 600)), tmp_path, "bank", fmt)
        stored = PdqCropSignal.compute_array(rgb)
        expected = [pdqhash_hash(crop(rgb, *sides)) for _name, *sides in CROPS]
        trimmed = trim_borders(rgb)
        if trimmed is not None:
            expected.append(pdqhash_hash(trimmed))
        masked = masked_pixels(rgb)
        assert masked is not None
        expected.append(pdqhash_hash(masked))
        assert [(h.value, h.quality) for h in stored] == expected
        assert [h.meta for h in stored[: len(CROPS)]] == [{"crop": name} for name, *_ in CROPS]


@plane_path
def test_a_process_that_never_called_pdqhash_hashes_the_same() -> None:
    """pdqhash's DCT matrix is filled when its module loads, not on its first compute: a fresh
    process hashing through the plane path alone gets pdqhash's bits."""
    rgb = np.asarray(photo("rocket").resize((700, 500)))
    script = (
        "import sys, numpy as np\n"
        "from redline.signals import pdq\n"
        "rgb = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(500, 700, 3)\n"
        "print(pdq.hash_array(rgb).value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=rgb.tobytes(),
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.stdout.decode().strip() == pdqhash_hash(rgb)[0]


def test_the_plane_path_is_taken_with_the_pinned_pdqhash() -> None:
    """The pinned pdqhash (Linux wheels) exports its C functions and agrees with this path on
    the import-time check: an upgrade that breaks either falls back to pdqhash, correct but
    slower, and this says so."""
    assert pdq_plane.NATIVE, "pdq_plane is off: hashing falls back to pdqhash.compute"
    assert pdq_plane._agrees_with_pdqhash()
