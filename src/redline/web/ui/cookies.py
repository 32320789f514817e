"""The console's cookies, and the tokens of the forms used before there is a session.

Every cookie is HTTP-only and same-site strict, and Secure when the console is served over TLS
(directly, or behind a proxy when ``REDLINE_SECURE_COOKIES`` says so). Before sign-in there is no
session to hold a CSRF token, so the sign-in form and the public complaint form carry one that
must equal a cookie set with the form (double submit): another site can neither sign a browser in
to its account nor file complaints through a visitor's browser.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from fastapi import Request
from fastapi.responses import Response

from redline.web import Services

FORM_TOKEN_LIFETIME: Final = 3600  # seconds a form may stay open before it must be reloaded


def set_cookie(
    response: Response, request: Request, app: Services, name: str, value: str, *, max_age: int
) -> None:
    """Set a console cookie on ``response``."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=app.settings.secure_cookies or request.url.scheme == "https",
        max_age=max_age,
    )


def new_form_token() -> str:
    """A fresh token for a form's hidden field and its cookie (``set_form_token``)."""
    return secrets.token_urlsafe(24)


def set_form_token(
    response: Response, request: Request, app: Services, cookie: str, token: str
) -> None:
    """Keep the form's token in ``cookie`` for as long as the form may stay open."""
    set_cookie(response, request, app, cookie, token, max_age=FORM_TOKEN_LIFETIME)


def form_token(request: Request, cookie: str) -> str:
    """The token the browser keeps for the form ("" when it has none, or it expired)."""
    return request.cookies.get(cookie, "")


def form_token_matches(expected: str, sent: str) -> bool:
    """Whether the form sent the token its cookie holds (compared in constant time)."""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
