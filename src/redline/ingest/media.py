"""Storing media files: content-addressed copies in the media store, checked before acceptance.

Each file is read once: hashed (SHA-256 and MD5) while it is copied into the store, then opened
to learn what it is. A file that claims to be an image must decode (truncated and corrupt files do
not), and decompression bombs are refused before any pixels are allocated.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from redline.signals.base import BadSignal
from redline.signals.decoding import open_image
from redline.store.media import MediaStore

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".webm",
        ".mkv",
        ".avi",
        ".3gp",
        ".flv",
        ".ts",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".ogv",
    }
)
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
_IMAGE_SUFFIX = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "GIF": ".gif",
    "WEBP": ".webp",
    "BMP": ".bmp",
    "TIFF": ".tif",
}
_CHUNK = 1 << 20


class BadMedia(ValueError):
    """A media file redline will not store, with the reason."""


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A media file now in the store."""

    sha256: str
    md5: str
    size: int
    kind: str  # image | video | file
    mime: str | None
    width: int | None
    height: int | None
    path: str  # its key in the media store (relative to the data dir in the folder store)


def _video_type(head: bytes) -> tuple[str, str] | None:
    """(mime, suffix) from a video container's magic bytes, or None."""
    if head[4:8] == b"ftyp":
        return ("video/quicktime", ".mov") if head[8:12] == b"qt  " else ("video/mp4", ".mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ("video/webm", ".webm") if b"webm" in head[:64] else ("video/x-matroska", ".mkv")
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo", ".avi"
    if head.startswith(b"FLV"):
        return "video/x-flv", ".flv"
    if head.startswith(b"\x30\x26\xb2\x75"):
        return "video/x-ms-wmv", ".wmv"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video/mpeg", ".mpg"
    if head[:1] == b"\x47" and len(head) > 188 and head[188:189] == b"\x47":
        return "video/mp2t", ".ts"
    if head.startswith(b"OggS"):
        return "video/ogg", ".ogv"
    return None


def _probe_image(path: Path) -> tuple[str, int, int] | None:
    """(format, width, height) when ``path`` is a decodable image, None when not an image at all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # open_image decides
            with Image.open(path) as header:  # the header alone: is this an image at all?
                fmt, (width, height) = header.format or "", header.size
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        pass  # an image, but a bad one: open_image says why
    try:
        # Decoded within the pixel budget (a JPEG at 1/8, as cheap as it gets): truncated or
        # corrupt data fails here, not later; a bomb is refused before a pixel is allocated.
        with open_image(path, draft=("RGB", (1, 1))) as image:
            image.load()
    except BadSignal as error:
        raise BadMedia(str(error)) from None
    return fmt, width, height


def store_media(source: Path, media: MediaStore, max_bytes: int) -> StoredMedia:
    """Copy ``source`` into the media store (once per distinct content) and describe it.

    MediaStoreError when the store cannot take it (an object store that is down or refuses).
    """
    try:
        size = source.stat().st_size
    except FileNotFoundError:
        raise BadMedia("file not found") from None
    except OSError as error:
        raise BadMedia(f"cannot read file: {error.strerror}") from None
    if size == 0:
        raise BadMedia("empty file (0 bytes)")
    if size > max_bytes:
        raise BadMedia(
            f"file is {size:,} bytes, over the limit of {max_bytes:,} (REDLINE_MAX_MEDIA_BYTES)"
        )
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    # The copy is what gets checked and stored, so a source changed meanwhile cannot slip
    # unchecked bytes in; in the folder store it is on the same disk, so storing is a rename.
    fd, temp_name = tempfile.mkstemp(dir=media.staging())
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as stream:
            head = stream.read(512)
            for chunk in (head, *iter(lambda: stream.read(_CHUNK), b"")):
                sha256.update(chunk)
                md5.update(chunk)
                out.write(chunk)
        kind, mime, suffix, width, height = _identify(temp, source, head)
        digest = sha256.hexdigest()
        key = f"media/{digest[:2]}/{digest[2:4]}/{digest}{suffix}"
        media.put(key, temp)
        return StoredMedia(digest, md5.hexdigest(), size, kind, mime, width, height, key)
    finally:
        temp.unlink(missing_ok=True)


def _identify(
    copy: Path, source: Path, head: bytes
) -> tuple[str, str | None, str, int | None, int | None]:
    suffix = source.suffix.lower()
    video = _video_type(head)
    if video is not None:
        return "video", video[0], video[1], None, None
    image = _probe_image(copy)
    if image is not None:
        fmt, width, height = image
        mime = Image.MIME.get(fmt)
        return "image", mime, _IMAGE_SUFFIX.get(fmt, suffix), width, height
    if suffix in IMAGE_SUFFIXES:
        raise BadMedia(f"unreadable image: not a {suffix} file (or any image format redline reads)")
    if suffix in VIDEO_SUFFIXES:
        raise BadMedia(f"unreadable video: not a {suffix} file (no known container header)")
    return "file", mimetypes.guess_type(source.name)[0], suffix[:10], None, None
