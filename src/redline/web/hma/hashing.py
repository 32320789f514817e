"""HMA's hashing routes (``/h``): the hashes of an uploaded photo or video.

redline never fetches content from URLs (no outbound requests from the server: no SSRF, no
fetching material on a caller's say-so), so ``GET /h/hash?url=`` is refused with a message
saying to upload the file instead.
"""

from __future__ import annotations

from fastapi import APIRouter

from redline.web import App
from redline.web.hma.errors import HmaRoute, abort
from redline.web.hma.matching import NO_FETCH, hash_uploaded
from redline.web.hma.payloads import FormBody
from redline.web.security import body_limit

router = APIRouter(route_class=HmaRoute, tags=["HMA hashing"])


@router.get("/h/hash")
def hash_url() -> dict[str, str]:
    """Refused: redline does not fetch URLs."""
    abort(400, NO_FETCH.format(route="/h/hash"))


@router.post("/h/hash", openapi_extra=body_limit("media"))
def hash_post(app: App, form: FormBody, types: str | None = None) -> dict[str, str]:
    """The hashes of an uploaded file: ``{"pdq": "..."}`` for a photo, ``video_md5`` and
    ``vpdq`` for a video. As in HMA, a photo too plain to match on (PDQ quality under 50)
    hashes as ``""``."""
    hashes = hash_uploaded(app, form, types)
    return {
        kind.name: "" if (h.quality or 0) < kind.signal.min_quality else h.value
        for kind, h in hashes
    }
