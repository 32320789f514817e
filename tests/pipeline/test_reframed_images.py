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
from redline.signals import pdq, pdq_crop
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
    assert [name for name, _ in pdq.query_of_array(small).variants] == ["enlarged", "middle_masked"]
    assert pdq.query_of_array(np.zeros((1, 5000, 3), dtype=np.uint8)).variants == ()


def channel_band(picture: Image.Image, handle: str = "@somechannel") -> Image.Image:
    """A reposting channel's mark: a dark band below the picture with its handle in light text."""
    shown = picture.convert("RGB")
    band = shown.height // 8
    canvas = Image.new("RGB", (shown.width, shown.height + band), (20, 20, 20))
    canvas.paste(shown, (0, 0))
    draw = ImageDraw.Draw(canvas)
    size = band // 2
    span = draw.textlength(handle, font_size=size)
    draw.text(
        ((shown.width - span) / 2, shown.height + band // 4),
        handle,
        fill=(240, 240, 240),
        font_size=size,
    )
    return canvas


def dark_app_post(picture: Image.Image) -> Image.Image:
    """A post in a dark-headed app: a dark header with an avatar and a name, the picture at 0.9x
    between light margins, a light row of buttons below."""
    shown = picture.convert("RGB")
    width, height = shown.size
    shown = shown.resize((round(width * 0.9), round(height * 0.9)), Image.Resampling.LANCZOS)
    header, footer = height // 8, height // 10
    canvas = Image.new("RGB", (width, header + shown.height + footer), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, width, header], fill=(32, 36, 44))
    draw.ellipse([header // 5, header // 5, header * 4 // 5, header * 4 // 5], fill=(90, 140, 200))
    draw.text((header, header // 4), "channel name", fill=(235, 235, 235), font_size=header // 3)
    canvas.paste(shown, ((width - shown.width) // 2, header))
    below = header + shown.height
    for number in range(4):
        x = width * (2 * number + 1) // 8
        draw.ellipse(
            [x - footer // 4, below + footer // 4, x + footer // 4, below + footer * 3 // 4],
            outline=(120, 120, 120),
            width=2,
        )
    return canvas


def test_pictures_whose_edges_fade_into_the_bands_around_them_match(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A dark photograph above a dark channel band (the coat and the band are one shade: no
    straight edge along the boundary), and a photograph whose dark sky runs into an app's dark
    header, are found by stripping the plain bands around them; a different photograph under
    the same band is not taken for either."""
    known = tmp_path / "known"
    known.mkdir()
    for name in ("camera", "rocket"):
        photo(name).save(known / f"{name}.png")
    bank_files(engine, settings, [known / "camera.png", known / "rocket.png"])

    posts = tmp_path / "posts"
    posts.mkdir()
    channel_band(photo("camera")).save(posts / "banded.jpg", quality=90)
    dark_app_post(photo("rocket")).save(posts / "post.jpg", quality=85)
    channel_band(photo("coffee")).save(posts / "banded-other.jpg", quality=90)
    # The picture's own edges do not show: locating it by them finds nothing near the original.
    for name, original in (("banded.jpg", "camera"), ("post.jpg", "rocket")):
        with Image.open(posts / name) as copy:
            query = pdq.query_of_array(np.asarray(copy.convert("RGB")))
        reference = pdq.hash_array(np.asarray(photo(original))).value
        located = [value for kind, value in query.variants if kind.startswith("located_")]
        assert all(pdq.distance(v, reference) > pdq.MATCH_THRESHOLD for v in located), name

    run_ingest(posts, "channel", engine, settings)
    run_scan(engine, settings)

    found = matches_by_file(engine)
    assert set(found) == {"banded.jpg", "post.jpg"}
    assert ("pdq", "stripped") in found["banded.jpg"]
    assert any(transform == "stripped" for _signal, transform in found["post.jpg"])


def test_bands_are_stripped_only_from_frames_that_have_them() -> None:
    """The stripped picture is exactly the picture under a channel's band, and a frame with no
    band pays no extra hash: a photograph with a plain dark sky along its top (its colour drifts
    into the picture), a gradient with shapes, a poster-like image with a thin frame of its own."""
    camera = np.asarray(photo("camera").convert("RGB"))
    banded = np.asarray(channel_band(photo("camera")))
    stripped = pdq_crop.strip_bands(banded)
    assert stripped is not None
    assert np.array_equal(stripped, camera)
    framed = Image.new("RGB", (640, 480), (40, 90, 160))
    ImageDraw.Draw(framed).rectangle([8, 8, 631, 471], outline=(20, 150, 140), width=8)
    framed.paste(photo("astronaut").resize((600, 440)), (20, 20))
    for plain in (photo("rocket"), generated(8), framed):
        assert pdq_crop.strip_bands(np.asarray(plain.convert("RGB"))) is None


def caption_across(picture: Image.Image, text: str = "SHARE THIS NOW") -> Image.Image:
    """A meme's caption laid over the middle of the picture: large white words with a dark
    outline, a third transparent."""
    base = picture.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(14, base.width // 12)
    span = draw.textlength(text, font_size=size)
    draw.text(
        ((base.width - span) / 2, (base.height - size) / 2),
        text,
        font_size=size,
        fill=(255, 255, 255, 170),
        stroke_width=max(1, size // 16),
        stroke_fill=(0, 0, 0, 170),
    )
    return Image.alpha_composite(base, layer).convert("RGB")


def test_a_caption_across_the_picture_matches_through_its_masked_middle(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The caption changes the pixels PDQ sees; the query's hash with the middle band masked
    finds the banked picture's own masked hash. The same caption over another picture does
    not match it."""
    known = tmp_path / "known"
    known.mkdir()
    photo("rocket").save(known / "rocket.jpg", quality=95)
    bank_files(engine, settings, [known / "rocket.jpg"])
    posts = tmp_path / "posts"
    posts.mkdir()
    caption_across(photo("rocket")).save(posts / "meme.jpg", quality=85)
    caption_across(photo("coffee")).save(posts / "meme-other.jpg", quality=85)
    caption_across(photo("hubble_deep_field")).save(posts / "meme-third.jpg", quality=85)
    banked = pdq.hash_image(known / "rocket.jpg")
    query = pdq.hash_image(posts / "meme.jpg")
    assert pdq.distance(banked.value, query.value) > pdq.MATCH_THRESHOLD  # plain PDQ misses it

    run_ingest(posts, "channel", engine, settings)
    run_scan(engine, settings)

    found = matches_by_file(engine)
    assert set(found) == {"meme.jpg"}
    # Through the masked query: the banked picture's masked hash, or its whole hash when the
    # band it had there is close enough.
    assert [transform for _signal, transform in found["meme.jpg"]] == ["middle_masked"]


def test_the_middle_band_is_masked_only_where_rows_surround_it() -> None:
    """An image too short to have a row above and below the band has no masked hash; the mask
    reads the rows next to the band only, so pixels elsewhere keep the hash unchanged."""
    assert pdq.middle_masked(np.zeros((2, 500, 3), dtype=np.uint8)) is None
    picture = np.asarray(photo("rocket").convert("RGB"))
    scribbled = picture.copy()
    height = picture.shape[0]
    top, bottom = (int(height * share) for share in pdq.MIDDLE_BAND)
    scribbled[top:bottom, ::7] = 255  # anything inside the band
    masked, again = pdq.middle_masked(picture), pdq.middle_masked(scribbled)
    assert masked is not None and again is not None
    assert masked.value == again.value
