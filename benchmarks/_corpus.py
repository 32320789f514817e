"""What the benchmarks share: generated images, image transformations, hashing, machine info,
scratch PostgreSQL databases, waiting for a served redline to answer.

Generated images come in several kinds so a corpus is not all alike: redline's demo images
(gradient, shapes, "DEMO n"), smooth colour fields with brush strokes, tile mosaics, flat
landscapes with skylines, and text posters. Each is a pure function of (index, seed), so a corpus
is the same on every machine and needs no download.

Transformations are small pure functions of a PIL image; the benchmarks sweep their parameters.
Hashing goes through redline's own functions (``redline.signals.pdq``), so the benchmarks
measure redline, not a re-implementation.
"""

from __future__ import annotations

import io
import os
import platform
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import psycopg
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from redline.demo.build import base_image
from redline.signals import pdq
from redline.signals.base import Hash

Size = tuple[int, int]
Colour = tuple[int, int, int]
BLACK: Colour = (0, 0, 0)
WHITE: Colour = (255, 255, 255)

SIZES: tuple[Size, ...] = ((640, 480), (480, 640), (800, 450), (512, 512), (600, 400))
WORDS = (
    "notice",
    "market",
    "river",
    "garden",
    "station",
    "weather",
    "morning",
    "library",
    "bridge",
    "festival",
    "harbour",
    "museum",
    "evening",
    "bakery",
    "league",
    "summer",
)


def machine() -> dict[str, object]:
    """Where the benchmark ran: timings only compare within one run on one machine."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "system": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def cache_dir() -> Path:
    """Where generated hash sets are kept between runs: never inside the repository."""
    configured = os.environ.get("REDLINE_BENCH_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "redline-bench"


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def colour(rng: random.Random) -> Colour:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


# --- generated images -----------------------------------------------------------------------


def demo_image(index: int, rng: random.Random, size: Size) -> Image.Image:
    """redline's own demo image: a gradient, random shapes and "DEMO n"."""
    return base_image(index, rng, size)


def colour_field(index: int, rng: random.Random, size: Size) -> Image.Image:
    """A smooth random colour field (a few control points, upscaled) with brush strokes."""
    columns, rows = rng.randint(3, 6), rng.randint(3, 5)
    grid = np.array([[colour(rng) for _ in range(columns)] for _ in range(rows)], dtype=np.uint8)
    image = Image.fromarray(grid).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    width, height = size
    for _ in range(rng.randint(3, 8)):
        points = [(rng.randrange(width), rng.randrange(height)) for _ in range(rng.randint(2, 5))]
        draw.line(points, fill=colour(rng), width=rng.randint(6, 30), joint="curve")
    return image


def mosaic(index: int, rng: random.Random, size: Size) -> Image.Image:
    """Tiles of random colours and sizes, a few of them outlined."""
    width, height = size
    image = Image.new("RGB", size, colour(rng))
    draw = ImageDraw.Draw(image)
    tile = rng.randint(24, 96)
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            if rng.random() < 0.7:
                outline = (0, 0, 0) if rng.random() < 0.3 else None
                draw.rectangle(
                    [x, y, x + tile - 1, y + tile - 1], fill=colour(rng), outline=outline
                )
    return image.filter(ImageFilter.GaussianBlur(rng.choice((0, 1, 2))))


def skyline(index: int, rng: random.Random, size: Size) -> Image.Image:
    """A flat landscape: sky gradient, sun, hills and a row of buildings."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top, bottom = colour(rng), colour(rng)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    sun = rng.randint(20, height // 5)
    cx, cy = rng.randrange(width), rng.randrange(height // 2)
    draw.ellipse([cx - sun, cy - sun, cx + sun, cy + sun], fill=colour(rng))
    horizon = rng.randint(height // 2, height * 4 // 5)
    hills = (
        [(0, height)]
        + [(x, horizon - rng.randint(0, height // 6)) for x in range(0, width + 80, 80)]
        + [(width, height)]
    )
    draw.polygon(hills, fill=colour(rng))
    x = rng.randint(-20, 20)
    while x < width:
        w, h = rng.randint(20, 70), rng.randint(height // 10, height // 2)
        draw.rectangle([x, horizon - h, x + w, height], fill=colour(rng))
        x += w + rng.randint(0, 30)
    return image


def poster(index: int, rng: random.Random, size: Size) -> Image.Image:
    """A text poster: coloured background, a framed band and a few lines of large words."""
    width, height = size
    image = Image.new("RGB", size, colour(rng))
    draw = ImageDraw.Draw(image)
    band = rng.randint(height // 6, height // 3)
    y0 = rng.randint(0, height - band)
    draw.rectangle([0, y0, width, y0 + band], fill=colour(rng))
    draw.rectangle([8, 8, width - 9, height - 9], outline=colour(rng), width=rng.randint(4, 16))
    y = rng.randint(10, height // 5)
    while y < height - 60:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))).upper()
        size_px = rng.randint(32, 72)
        draw.text(
            (rng.randint(10, width // 4), y),
            text,
            font=font(size_px),
            fill=colour(rng),
            stroke_width=2,
            stroke_fill=(0, 0, 0),
        )
        y += size_px + rng.randint(10, 60)
    return image


GENERATORS: dict[str, Callable[[int, random.Random, Size], Image.Image]] = {
    "demo": demo_image,
    "colour_field": colour_field,
    "mosaic": mosaic,
    "skyline": skyline,
    "poster": poster,
}


def generated_kind(index: int) -> str:
    """The generator of a corpus's ``index``-th image: kinds take turns."""
    return list(GENERATORS)[index % len(GENERATORS)]


def generated_image(index: int, seed: int, scale: float = 1.0) -> tuple[str, Image.Image]:
    """The ``index``-th generated image of a corpus: (kind, image)."""
    rng = random.Random(f"{seed}:{index}")
    kind = generated_kind(index)
    width, height = rng.choice(SIZES)
    size = (max(160, round(width * scale)), max(160, round(height * scale)))
    return kind, GENERATORS[kind](index, rng, size)


# --- transformations ------------------------------------------------------------------------


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Re-encoded as JPEG at ``quality`` and decoded again."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def png_round_trip(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def resize(image: Image.Image, factor: float) -> Image.Image:
    """Scaled by ``factor`` (Lanczos), as upload pipelines do."""
    width, height = image.size
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def crop(image: Image.Image, fraction: float, *, sides: str = "all") -> Image.Image:
    """``fraction`` of the width/height cut from each side (``all``) or from the left only."""
    width, height = image.size
    dx, dy = round(width * fraction), round(height * fraction)
    if sides == "all":
        return image.crop((dx, dy, width - dx, height - dy))
    if sides == "left":
        return image.crop((dx, 0, width, height))
    raise ValueError(f"unknown crop sides {sides!r}")


def border(image: Image.Image, vertical: float, horizontal: float, fill: Colour) -> Image.Image:
    """Bars of ``vertical`` x height above and below and ``horizontal`` x width left and right."""
    width, height = image.size
    dx, dy = round(width * horizontal), round(height * vertical)
    return ImageOps.expand(image.convert("RGB"), border=(dx, dy, dx, dy), fill=fill)


def watermark(image: Image.Image, text: str = "reposted") -> Image.Image:
    """A small text mark in the top right corner, as reposting accounts add."""
    marked = image.convert("RGB")
    width, height = marked.size
    size = max(12, height // 12)
    draw = ImageDraw.Draw(marked)
    left = draw.textlength(text, font=font(size))
    draw.text(
        (width - left - size // 2, size // 2),
        text,
        font=font(size),
        fill=(255, 255, 0),
        stroke_width=max(1, size // 20),
        stroke_fill=(0, 0, 0),
    )
    return marked


def caption(image: Image.Image, text: str = "SHARE THIS NOW") -> Image.Image:
    """A large semi-transparent caption across the middle, as meme-style edits add."""
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    width, height = base.size
    size = max(14, width // 12)
    draw = ImageDraw.Draw(layer)
    span = draw.textlength(text, font=font(size))
    draw.text(
        ((width - span) / 2, (height - size) / 2),
        text,
        font=font(size),
        fill=(255, 255, 255, 170),
        stroke_width=max(1, size // 16),
        stroke_fill=(0, 0, 0, 170),
    )
    return Image.alpha_composite(base, layer).convert("RGB")


def strip(
    image: Image.Image, text: str, *, above: bool, share: float, fill: Colour, ink: Colour
) -> Image.Image:
    """A band of ``share`` x height added above or below the picture, with a line of text on it."""
    picture = image.convert("RGB")
    width, height = picture.size
    band = max(20, round(height * share))
    canvas = Image.new("RGB", (width, height + band), fill)
    canvas.paste(picture, (0, band if above else 0))
    size = max(12, band // 2)
    draw = ImageDraw.Draw(canvas)
    span = draw.textlength(text, font=font(size))
    top = (band - size) // 2 + (0 if above else height)
    draw.text(((width - span) / 2, top), text, font=font(size), fill=ink)
    return canvas


def caption_strip(image: Image.Image) -> Image.Image:
    """A meme caption: a white band above the picture (a fifth of its height), black words on it."""
    return strip(image, "WHEN THE MONDAY MORNING", above=True, share=0.2, fill=WHITE, ink=BLACK)


def watermark_strip(image: Image.Image) -> Image.Image:
    """A reposting channel's mark: a dark band below the picture with its handle in light text."""
    return strip(
        image, "t.me/somechannel", above=False, share=0.12, fill=(20, 20, 20), ink=(240, 240, 240)
    )


def brightness(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image.convert("RGB")).enhance(factor)


def contrast(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Contrast(image.convert("RGB")).enhance(factor)


def grayscale(image: Image.Image) -> Image.Image:
    return image.convert("L").convert("RGB")


def flip_horizontal(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def rotate(image: Image.Image, degrees: int) -> Image.Image:
    """Rotated counter-clockwise by a multiple of 90 degrees (lossless)."""
    turns = {
        90: Image.Transpose.ROTATE_90,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_270,
    }
    return image.transpose(turns[degrees])


def screenshot(image: Image.Image) -> Image.Image:
    """A phone-style screenshot: the image at 0.9x in an app frame, saved as PNG, then JPEG q85.

    The frame is the image's width, with a dark header (avatar, name, time) and a light footer
    of action buttons, as a screenshot of a post in a messaging or social app shows it.
    """
    picture = resize(image.convert("RGB"), 0.9)
    width, height = image.size
    header, footer = max(24, height // 8), max(20, height // 10)
    canvas = Image.new("RGB", (width, header + picture.height + footer), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, width, header], fill=(32, 36, 44))
    avatar = header * 3 // 5
    draw.ellipse(
        [header // 5, header // 5, header // 5 + avatar, header // 5 + avatar], fill=(90, 140, 200)
    )
    text_size = max(10, header // 3)
    draw.text((header, header // 4), "channel name", font=font(text_size), fill=(235, 235, 235))
    draw.text(
        (width - 5 * text_size, header // 4), "12:04", font=font(text_size), fill=(180, 180, 180)
    )
    canvas.paste(picture, ((width - picture.width) // 2, header))
    top = header + picture.height
    for number in range(4):
        x = width * (2 * number + 1) // 8
        draw.ellipse(
            [x - footer // 4, top + footer // 4, x + footer // 4, top + footer * 3 // 4],
            outline=(120, 120, 120),
            width=2,
        )
    return jpeg(png_round_trip(canvas), 85)


# --- hashing through redline ----------------------------------------------------------------


def rgb(image: Image.Image) -> np.ndarray:
    """The RGB uint8 array redline hashes (what ``redline.signals.pdq.load_rgb`` gives)."""
    return np.asarray(image.convert("RGB"))


def pdq_hash(image: Image.Image) -> Hash:
    """redline's PDQ hash (hex and quality) of an image."""
    return pdq.hash_array(rgb(image))


def pdq_dihedral(image: Image.Image) -> list[str]:
    """redline's eight dihedral PDQ hashes of an image (original first)."""
    return pdq.dihedral_hashes(rgb(image))


class ScratchDatabases:
    """Fresh PostgreSQL databases on the server, dropped at the end."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.names: list[str] = []

    def new(self) -> str:
        name = f"redline_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return self.server.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as admin:
            for name in self.names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until_serving(base: str, stopped: Callable[[], str | None], seconds: float) -> None:
    """Return once ``base``/hma/status/live answers 200. ``stopped()`` says why a process the
    run needs has exited (None while all live); either that or ``seconds`` passing without an
    answer is a RuntimeError. One client for every poll: a new one builds a TLS context each
    time, CPU the starting server needs."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=2) as client:
        while True:
            why = stopped()
            if why is not None:
                raise RuntimeError(why)
            try:
                if client.get(f"{base}/hma/status/live").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redline serve did not answer at {base} within {seconds:g} s")
            time.sleep(0.2)
