"""Re-uploads that put a known picture in a new frame are found by ``redline scan``: a screenshot
of it inside an app's chrome, it under a meme caption strip, it at a quarter of its size; two
different pictures shown in the same app frame are not taken for each other. On SQLite and
PostgreSQL, from files on disk through the scan's hashing and matching, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import Engine

from redline import banks
from redline.config import Settings
from redline.index.store import IndexStore
from redline.model.base import utcnow
from redline.pipeline.scan import scan
from redline.signals import pdq
from redline.store.matches import list_matches
from redline.store.media import FolderStore
from tests.helpers import run_ingest
from tests.media_fixtures import generated, photo


def app_screenshot(picture: Image.Image, width: int = 1080) -> Image.Image:
    """A phone screenshot of a post: status bar, a channel header with an avatar and a name, the
    picture scaled into a card with margins, a line of text and action buttons below it, and
    the next post's header peeking in at the bottom."""
    margin = width // 24
    shown = picture.convert("RGB")
    inner = width - 2 * margin
    shown = shown.resize(
        (inner, round(shown.height * inner / shown.width)), Image.Resampling.BILINEAR
    )
    status, header, footer, peek = 60, 150, 260, 180
    height = status + header + shown.height + footer + peek
    canvas = Image.new("RGB", (width, height), (242, 243, 245))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, width, status], fill=(24, 26, 30))
    draw.text((margin, 14), "12:04", fill=(230, 230, 230), font_size=30)
    draw.text((width - 4 * margin, 14), "87%", fill=(230, 230, 230), font_size=30)
    draw.ellipse([margin, status + 25, margin + 100, status + 125], fill=(70, 120, 190))
    draw.text((margin + 130, status + 35), "some channel", fill=(20, 20, 20), font_size=40)
    draw.text((margin + 130, status + 85), "2,481 subscribers", fill=(120, 120, 120), font_size=28)
    top = status + header
    canvas.paste(shown, (margin, top))
    below = top + shown.height
    draw.text((margin, below + 30), "look at this one, pass it on", fill=(30, 30, 30), font_size=36)
    for number in range(4):
        x = margin + number * (inner // 4) + 40
        draw.ellipse([x, below + 120, x + 70, below + 190], outline=(110, 110, 110), width=4)
    draw.ellipse(
        [margin, below + footer + 40, margin + 100, below + footer + 140], fill=(200, 90, 60)
    )
    draw.text(
        (margin + 130, below + footer + 60), "another channel", fill=(20, 20, 20), font_size=40
    )
    return canvas


def captioned(picture: Image.Image, text: str = "WHEN IT IS MONDAY AGAIN") -> Image.Image:
    """A meme: a white strip above the picture with a line of large black words."""
    shown = picture.convert("RGB")
    band = shown.height // 5
    canvas = Image.new("RGB", (shown.width, shown.height + band), (255, 255, 255))
    canvas.paste(shown, (0, band))
    draw = ImageDraw.Draw(canvas)
    size = band // 2
    span = draw.textlength(text, font_size=size)
    draw.text(((shown.width - span) / 2, band // 4), text, fill=(0, 0, 0), font_size=size)
    return canvas


def big_photo(folder: Path) -> Path:
    """A multi-megabyte camera-sized JPEG of a real photograph, with a camera's sensor noise."""
    path = folder / "known-photo.jpg"
    large = np.asarray(photo("astronaut").resize((3000, 3000), Image.Resampling.BICUBIC))
    noise = np.random.default_rng(7).normal(0, 3, large.shape)
    noisy = np.clip(large + noise, 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(path, quality=95)
    return path


def matches_by_file(engine: Engine) -> dict[str, list[tuple[str, str | None]]]:
    """Each matched file's matches: (signal type, the query-time variant that matched)."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for row in list_matches(engine):
        if row.signal_type in ("pdq", "pdq_crop"):
            transform = (row.detail or {}).get("transform")
            found.setdefault(row.file_name or "", []).append((row.signal_type, transform))
    return found


def bank_files(engine: Engine, settings: Settings, paths: list[Path]) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
    for path in paths:
        hashed = banks.hash_media(FolderStore(settings.data_dir), path)
        with engine.begin() as connection:
            banks.add_media(connection, "known", hashed, actor="t", now=utcnow(), category="x")


def run_scan(engine: Engine, settings: Settings) -> None:
    scan(engine, settings, IndexStore(engine, settings.data_dir), actor="test", workers=1)


def test_screenshots_captions_and_small_copies_match_their_banked_original(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    known = tmp_path / "known"
    known.mkdir()
    photo_path = big_photo(known)
    assert photo_path.stat().st_size > 2_000_000
    poster = generated(4, (640, 480))  # the demo's kind of picture: shapes and large words
    poster.save(known / "known-poster.png")
    bank_files(engine, settings, [photo_path, known / "known-poster.png"])

    posts = tmp_path / "posts"
    posts.mkdir()
    with Image.open(photo_path) as opened:
        banked_photo = opened.convert("RGB")
    app_screenshot(banked_photo).save(posts / "screenshot.png")
    app_screenshot(photo("chelsea")).save(posts / "screenshot-other.png")
    captioned(banked_photo.resize((1200, 1200))).save(posts / "meme.jpg", quality=85)
    captioned(photo("coffee")).save(posts / "meme-other.jpg", quality=85)
    quarter = poster.resize((160, 120), Image.Resampling.LANCZOS)
    quarter.save(posts / "quarter.png")
    generated(9, (640, 480)).resize((160, 120), Image.Resampling.LANCZOS).save(
        posts / "quarter-other.png"
    )
    # Without the new variants these copies are out of reach: the plain hash is far away.
    for name, original in (("screenshot.png", banked_photo), ("quarter.png", poster)):
        with Image.open(posts / name) as copy:
            plain = pdq.hash_array(np.asarray(copy.convert("RGB"))).value
        reference = pdq.hash_array(np.asarray(original)).value
        assert pdq.distance(plain, reference) > pdq.MATCH_THRESHOLD, name

    run_ingest(posts, "channel", engine, settings)
    run_scan(engine, settings)

    found = matches_by_file(engine)
    assert set(found) == {"screenshot.png", "meme.jpg", "quarter.png"}
    # Found through the picture located in the app's chrome (inside its margins), and through
    # the picture located under the caption strip (across the frame's width).
    assert any(transform == "located_inset" for _signal, transform in found["screenshot.png"])
    assert any(transform == "located_spanning" for _signal, transform in found["meme.jpg"])
    assert any(transform == "enlarged" for _signal, transform in found["quarter.png"])


def test_different_pictures_in_the_same_app_frame_do_not_match(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    known = tmp_path / "known"
    known.mkdir()
    app_screenshot(photo("astronaut")).save(known / "screenshot-a.png")
    captioned(photo("coffee")).save(known / "meme-a.png")
    bank_files(engine, settings, [known / "screenshot-a.png", known / "meme-a.png"])

    posts = tmp_path / "posts"
    posts.mkdir()
    app_screenshot(photo("chelsea")).save(posts / "screenshot-b.png")
    app_screenshot(photo("rocket")).save(posts / "screenshot-c.jpg", quality=85)
    captioned(photo("immunohistochemistry")).save(posts / "meme-b.jpg", quality=85)
    app_screenshot(photo("astronaut")).save(posts / "screenshot-a-again.jpg", quality=85)
    run_ingest(posts, "channel", engine, settings)
    run_scan(engine, settings)

    # The same frame with the same picture matches (so the bank works); other pictures do not.
    assert set(matches_by_file(engine)) == {"screenshot-a-again.jpg"}


def test_small_images_are_enlarged_within_bounds() -> None:
    """A small image is hashed again enlarged; a thin strip is enlarged no further than
    ``ENLARGED_MAX_SIDE`` (a 2x3000 image must not become a 512x768,000 one)."""
    small = np.asarray(generated(4, (640, 480)).resize((160, 120)))
    assert min(pdq.enlarged(small).shape[:2]) == pdq.ENLARGED_SIDE
    thin = np.zeros((2, 1000, 3), dtype=np.uint8)
    assert pdq.enlarged(thin).shape[:2] == (4, pdq.ENLARGED_MAX_SIDE)
    longer = np.zeros((2, 3000, 3), dtype=np.uint8)
    assert pdq.enlarged(longer) is longer
    assert [name for name, _ in pdq.query_of_array(small).variants] == ["enlarged"]
    assert pdq.query_of_array(np.zeros((1, 5000, 3), dtype=np.uint8)).variants == ()
