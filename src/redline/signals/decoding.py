"""Opening images within a pixel budget: the one way redline opens an image it did not make.

A few kilobytes of PNG can claim 9400x9400 pixels; decoding and hashing it costs gigabytes. So
the size is read from the header, before anything is decoded, and checked against the budget
(``REDLINE_MAX_IMAGE_PIXELS``). A JPEG over the budget is decoded at 1/2, 1/4 or 1/8 scale by
libjpeg itself (Pillow's draft), which never allocates the full size, so a 100-megapixel camera
photo still hashes; any other image over the budget is refused. Pillow's own limit (a warning
at 89 MP, an error at 179 MP) stays as a last wall behind this one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from redline.config import get_settings
from redline.signals.base import BadSignal

BOMB = "refused as a decompression bomb"
SCALES = (1, 2, 4, 8)  # what libjpeg can decode a JPEG at directly, as 1/n of its size
Draft = tuple[str, tuple[int, int]]  # (mode, size) as Image.draft takes them


class ImageTooLarge(BadSignal):
    """An image with more pixels than the budget, refused before its pixels were decoded."""


def pixel_budget() -> int:
    """The process's pixel budget (``REDLINE_MAX_IMAGE_PIXELS``)."""
    return get_settings().max_image_pixels


def _too_large(width: int, height: int, budget: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"{BOMB}: {width}x{height} is {width * height:,} pixels, over the budget of"
        f" {budget:,} (REDLINE_MAX_IMAGE_PIXELS)"
    )


def _fit_budget(image: Image.Image, budget: int, draft: Draft | None) -> None:
    """Choose a JPEG's decoding scale (the caller's draft, or smaller when the budget needs it);
    refuse an image that will not fit the budget at any scale it can be decoded at."""
    width, height = image.size
    if image.format != "JPEG":
        if width * height > budget:
            raise _too_large(width, height, budget)
        return
    fitting = [s for s in SCALES if math.ceil(width / s) * math.ceil(height / s) <= budget]
    if not fitting:
        raise _too_large(width, height, budget)
    scale = fitting[0]
    if draft is not None:
        # Pillow's own choice for the requested size: the largest scale that stays at least that.
        wanted = min(width // max(1, draft[1][0]), height // max(1, draft[1][1]))
        scale = max(scale, max(s for s in SCALES if s <= max(1, wanted)))
    if scale > 1 or draft is not None:
        # Asking for (width // scale, height // scale) makes Pillow pick exactly this scale.
        mode = draft[0] if draft is not None else image.mode
        image.draft(mode, (max(1, width // scale), max(1, height // scale)))


@contextmanager
def open_image(
    source: Path | BinaryIO, max_pixels: int | None = None, draft: Draft | None = None
) -> Iterator[Image.Image]:
    """An image whose decoded size is within ``max_pixels`` (default: the settings' budget).

    ``draft`` asks for a JPEG to be decoded in that mode at the smallest scale that keeps it at
    least that size (``Image.draft``); the budget may make the scale smaller still.

    Nothing is decoded before the check; the caller decodes (``convert``, ``load``) inside the
    ``with``. ImageTooLarge for an image over the budget, BadSignal for anything unreadable,
    whether found on opening or while the caller decodes.
    """
    budget = max_pixels or pixel_budget()
    with warnings.catch_warnings():
        # The budget decides; Pillow's warning between its 1x and 2x limit would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:
                _fit_budget(image, budget, draft)
                yield image
        except BadSignal:
            raise  # already says why (a ValueError, so it must pass before the next clauses)
        except Image.DecompressionBombError as error:
            raise ImageTooLarge(f"{BOMB}: {error}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise BadSignal(f"unreadable image: {error}") from None
