"""Security headers and request-size limits, as one ASGI middleware around the whole app.

The Content-Security-Policy allows no inline script and nothing from other origins: whatever an
item's text or an account name contains, the browser will not run it (templates escape it too;
this is the second wall).

Body limits are declared per route (``openapi_extra=body_limit("media")``, so the API's
description shows them too); a route that declares none takes forms only (``max_form_bytes``).
The limit is looked up when the handler first reads the body, after routing: an unknown path
answers 404 without a byte of its body read, and a declared length over the route's limit is
refused with 413 before any is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS: Final = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_TOO_LARGE: Final = b'{"message":"request body too large"}'
BODY_LIMIT: Final = "x-body-limit"
# form: console forms and JSON; upload: hash lists (bank imports); media: one photo or video;
# items: a batch of up to 1,000 records with their photos (POST /api/v1/items).
BodyKind = Literal["form", "upload", "media", "items"]


def body_limit(kind: BodyKind) -> dict[str, Any]:
    """A route's body-limit declaration, passed as its ``openapi_extra``."""
    return {BODY_LIMIT: kind}


def declared_kind(scope: Scope) -> str:
    """The body kind the matched route declares; ``form`` when it declares none."""
    extra = getattr(scope.get("route"), "openapi_extra", None) or {}
    return str(extra.get(BODY_LIMIT, "form"))


class TooLarge(HTTPException):
    """The body is over its route's limit (declared, or found while streaming in).

    An HTTPException, so frameworks that turn a failing body read into 400 pass it on as 413.
    """

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


class Guard:
    """Adds the security headers to every response and refuses oversized bodies with 413.

    ``limits`` maps each body kind (``body_limit``) to its largest size in bytes.
    """

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]) -> None:
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int | None = None
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal limit, received
            if limit is None:  # the first read: routing is done, the route is in the scope
                limit = self.limits[declared_kind(scope)]
                declared = dict(scope["headers"]).get(b"content-length")
                if declared is not None and (not declared.isdigit() or int(declared) > limit):
                    raise TooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except TooLarge:
            if not started:
                await _refuse(send)


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), *HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})
