"""Serving stored media files to the console: inline only what a browser shows as a picture.

A file's name and its stored MIME type say nothing reliable: an ingested ``page.html`` or
``evil.js`` served inline with a type guessed from its name would run as the console itself
(its CSP allows scripts from 'self'). So the type is sniffed from the file's first bytes, and
only images and videos are served inline, as exactly that type; anything else is an attachment
with a neutral type, ``Content-Security-Policy: sandbox`` and ``nosniff``, so even a browser
told to open it renders it in an opaque origin with scripts off.
"""

from __future__ import annotations

from typing import Final

from fastapi.responses import Response

from redline.ingest.media import _video_type

# Formats every browser renders as a picture and never as a document (SVG is a document).
_IMAGE_MAGIC: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
SNIFF_BYTES: Final = 512
NEUTRAL_TYPE: Final = "application/octet-stream"


def sniffed_type(head: bytes) -> str | None:
    """The image or video MIME type the file's first bytes say it is; None for anything else."""
    for magic, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return mime
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    video = _video_type(head)
    return video[0] if video is not None else None


def media_response(data: bytes, name: str) -> Response:
    """The file as a response: inline when it sniffs as an image or video, else an attachment
    called ``name`` that the browser may not render in the console's origin."""
    # X-Content-Type-Options: nosniff comes with every response (web.security.Guard).
    headers = {"cache-control": "no-store"}
    mime = sniffed_type(data[:SNIFF_BYTES])
    if mime is not None:
        return Response(data, media_type=mime, headers=headers)
    headers["content-disposition"] = f'attachment; filename="{name}"'
    headers["content-security-policy"] = "sandbox"
    return Response(data, media_type=NEUTRAL_TYPE, headers=headers)
