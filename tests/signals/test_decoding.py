"""The one bounded image opener (issue 14, row 2): sizes checked from the header before any
pixel is decoded, JPEGs over the budget decoded at a reduced scale, everything else refused."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from redline.ingest.media import BadMedia, store_media
from redline.pipeline.hashing import HashJob, hash_one
from redline.signals import BadSignal
from redline.signals.decoding import ImageTooLarge, open_image
from redline.signals.pdq import load_for_pdq, load_rgb
from redline.store.media import FolderStore
from tests.media_fixtures import photo


def bomb_png() -> bytes:
    """10.8 kB of real, fully decodable PNG: a blank 1-bit 9400x9400 image (88 MP)."""
    out = io.BytesIO()
    Image.new("1", (9400, 9400)).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(bomb_png())
    return path


def big_photo(path: Path, size: tuple[int, int], fmt: str) -> Path:
    """A real photograph scaled up to ``size`` and saved as ``fmt``."""
    photo("astronaut").resize(size).save(path, fmt)
    return path


def test_a_bomb_is_refused_from_its_header_in_every_path_that_opens_images(
    bomb: Path, tmp_path: Path
) -> None:
    assert bomb.stat().st_size < 12_000
    server = psutil.Process()
    before = server.memory_info().rss
    too_large = pytest.raises(ImageTooLarge, match=r"9400x9400 is 88,360,000 pixels, over the")
    with too_large, open_image(bomb):
        pass
    for load in (load_for_pdq, load_rgb):
        with pytest.raises(ImageTooLarge, match="refused as a decompression bomb"):
            load(bomb)
    # Pipeline hashing (quarantined with this reason) and ingest's validation say the same.
    result = hash_one(HashJob("0" * 64, "image", bomb.name, FolderStore(bomb.parent)))
    assert result.error is not None and result.error.startswith("refused as a decompression bomb")
    with pytest.raises(BadMedia, match="refused as a decompression bomb: 9400x9400"):
        store_media(bomb, FolderStore(tmp_path / "data"), 10**9)
    # Decoding it would have cost 88 MB for its 1-bit pixels alone, and gigabytes to hash.
    assert server.memory_info().rss - before < 50_000_000


def test_a_jpeg_over_the_budget_is_decoded_at_a_reduced_scale(tmp_path: Path) -> None:
    jpeg = big_photo(tmp_path / "large.jpg", (4000, 3000), "JPEG")
    with open_image(jpeg, max_pixels=4_000_000) as image:
        assert image.size == (2000, 1500)
        image.load()
    with open_image(jpeg, max_pixels=200_000) as image:
        assert image.size == (500, 375)  # 1/8, the smallest libjpeg decodes at
    with pytest.raises(ImageTooLarge, match="4000x3000"), open_image(jpeg, max_pixels=100_000):
        pass
    # Within the budget it is decoded at full size, as HMA decodes it.
    with open_image(jpeg) as image:
        assert image.size == (4000, 3000)
    # A caller's own draft still applies, at the smaller of the two scales.
    with open_image(jpeg, max_pixels=4_000_000, draft=("L", (400, 300))) as image:
        assert image.size == (500, 375) and image.mode == "L"


def test_other_formats_over_the_budget_are_refused(tmp_path: Path) -> None:
    png = big_photo(tmp_path / "large.png", (2000, 1500), "PNG")
    too_large = pytest.raises(ImageTooLarge, match="2000x1500 is 3,000,000 pixels")
    with too_large, open_image(png, max_pixels=2_999_999):
        pass
    with open_image(png, max_pixels=3_000_000) as image:
        assert np.asarray(image.convert("RGB")).shape == (1500, 2000, 3)


def test_unreadable_files_are_bad_signals_not_crashes(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(big_photo(tmp_path / "ok.png", (300, 200), "PNG").read_bytes()[:500])
    text = tmp_path / "notes.png"
    text.write_bytes(b"plain text, not a picture")
    for path in (truncated, text):
        with pytest.raises(BadSignal, match="unreadable image"):
            load_rgb(path)
