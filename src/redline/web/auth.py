"""Who is asking: the console's session cookie (with its CSRF token) or an API bearer token.

Both end in a ``Reviewer``; the domain functions check what that reviewer's role allows.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from redline.model.base import utcnow
from redline.review.accounts import WRITE_SCOPE_SUFFIX, Reviewer, session_user
from redline.review.errors import Forbidden, ReviewError
from redline.review.tokens import token_user
from redline.web import App, Services, services

COOKIE: Final = "redline_session"


def client_address(request: Request) -> str:
    """The address of the client that sent ``request``, the one every rate limit and the audit
    trail use. The connecting peer's, unless the peer is one of ``REDLINE_TRUSTED_PROXIES``:
    then the X-Forwarded-For entry nearest to it that is not itself a trusted proxy (entries
    further left are whatever the client chose to send)."""
    peer = request.client.host if request.client else ""
    trusted = services(request).settings.trusted_networks

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy passed on garbage: the proxy is the one we know
    return peer


class NotSignedIn(ReviewError):
    """No session, or a forged or expired one."""

    status = 401


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in console user and their session's CSRF token."""

    reviewer: Reviewer
    csrf: str
    token: str


def visitor(app: App, request: Request) -> Visitor:
    """The signed-in user of a console request; NotSignedIn otherwise."""
    token = request.cookies.get(COOKIE, "")
    with app.engine.begin() as connection:
        found = session_user(connection, token, utcnow())
    if found is None:
        raise NotSignedIn("sign in first")
    return Visitor(found[0], found[1], token)


async def checked_self(app: App, request: Request) -> Visitor:
    """``visitor`` for a request that changes only the user's own session or settings, or
    records an audited read: the form field ``csrf`` or the header ``X-CSRF-Token`` must equal
    the session's token, or the request is refused with 403. Any role may."""
    signed_in = visitor(app=app, request=request)
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), signed_in.csrf.encode()):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    return signed_in


async def checked_visitor(app: App, request: Request) -> Visitor:
    """``checked_self`` for every other state-changing console request: a read-only role
    (auditor) is refused here, whatever the route."""
    signed_in = await checked_self(app=app, request=request)
    signed_in.reviewer.require_write()
    return signed_in


# Declared as a security scheme, so the API docs offer "Authorize" for a token.
_bearer = HTTPBearer(auto_error=False, description="An API token from `redline token create`.")
Me = Annotated[Visitor, Depends(visitor)]
Checked = Annotated[Visitor, Depends(checked_visitor)]
# Signing out, one's own protection settings, an audited reveal: open to read-only roles too.
CheckedSelf = Annotated[Visitor, Depends(checked_self)]


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def token_reviewer(
    app: Services, credentials: HTTPAuthorizationCredentials | None, scope: str
) -> Reviewer:
    """The user of a bearer token that carries ``scope``; NotSignedIn or Forbidden otherwise."""
    if credentials is None or not credentials.credentials:
        raise NotSignedIn("an API token is required: Authorization: Bearer <token>")
    with app.engine.begin() as connection:
        found = token_user(connection, credentials.credentials.strip(), utcnow())
    if found is None:
        raise NotSignedIn("unknown or revoked API token")
    reviewer, scopes = found
    if scope not in scopes:
        raise Forbidden(f"this token lacks the {scope} scope")
    if scope.endswith(WRITE_SCOPE_SUFFIX):
        reviewer.require_write()  # a token made before its user became an auditor
    return reviewer


def api_user(scope: str) -> object:
    """A dependency: the user of an API request's bearer token, if it carries ``scope``."""

    def dependency(app: App, credentials: Bearer) -> Reviewer:
        return token_reviewer(app, credentials, scope)

    return Depends(dependency)


# Who changes banks through /hma when it runs without tokens (REDLINE_HMA_AUTH=false).
HMA_ANONYMOUS: Final = "api:hma"


def hma_access(app: App, request: Request, credentials: Bearer) -> str:
    """The HMA routes' guard: reads need a ``banks:read`` token, bank changes a ``banks:write``
    token of a user who may edit banks. Off with ``REDLINE_HMA_AUTH=false``, for HMA clients
    that cannot send a token, on a network that is trusted. Returns who is acting, as the audit
    trail names them: the token's user, or ``api:hma`` without tokens."""
    if not app.settings.hma_auth:
        return HMA_ANONYMOUS
    changes = request.method not in {"GET", "HEAD"} and "/c/" in request.url.path
    reviewer = token_reviewer(app, credentials, "banks:write" if changes else "banks:read")
    reviewer.require("bank.edit" if changes else "bank.view")
    return reviewer.actor


# The actor of an /hma request (FastAPI runs the guard once per request and reuses its answer).
HmaActor = Annotated[str, Depends(hma_access)]
