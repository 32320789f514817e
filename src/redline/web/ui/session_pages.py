"""Signing in and out, and a user's own settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.model.base import utcnow
from redline.review import accounts
from redline.review.errors import ReviewError
from redline.review.protection import BLUR_RADII, blur_of, exposure, organisation
from redline.store.audit import record_event
from redline.web import App
from redline.web.auth import COOKIE, CheckedSelf, Me, client_address
from redline.web.ui.cookies import (
    form_token,
    form_token_matches,
    new_form_token,
    set_cookie,
    set_form_token,
)
from redline.web.ui.render import page

router = APIRouter()
# The sign-in form's token (``web.ui.cookies``): another site cannot sign a browser in.
LOGIN_COOKIE = "redline_login"


def _safe_next(target: str) -> str:
    # Only local paths: an open redirect after login is a phishing tool.
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/queue"


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The console starts at the queue."""
    return RedirectResponse("/queue", status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(app: App, request: Request, next: str = "/queue") -> Response:
    """The sign-in form."""
    token = new_form_token()
    response = page(request, "login.html", None, login_csrf=token, next=_safe_next(next))
    set_form_token(response, request, app, LOGIN_COOKIE, token)
    return response


@router.post("/login", include_in_schema=False)
def login(
    app: App,
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/queue",
) -> Response:
    """Check the password, start a session, go where the user was going."""
    expected = form_token(request, LOGIN_COOKIE)
    if not form_token_matches(expected, csrf):
        return page(
            request,
            "login.html",
            None,
            status_code=403,
            next=_safe_next(next),
            login_csrf=expected,
            error="The form expired: sign in again.",
        )
    client = client_address(request)
    now = utcnow()
    limits = accounts.LoginLimits(
        app.settings.login_attempts_per_network,
        app.settings.login_attempts_per_minute,
        app.settings.login_failures_per_user,
    )
    try:
        with app.engine.begin() as connection:  # committed first: a refusal still counts
            accounts.admit_login(connection, username, accounts.client_network(client), now, limits)
        with app.engine.begin() as connection:
            reviewer = accounts.authenticate(connection, username, password, now, client)
            token, _csrf = accounts.start_session(connection, reviewer, now)
    except ReviewError as refused:
        with app.engine.begin() as connection:
            accounts.record_refusal(connection, username, refused, client)
        return page(
            request,
            "login.html",
            None,
            status_code=refused.status,
            login_csrf=expected,
            next=_safe_next(next),
            error=str(refused),
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(
        response,
        request,
        app,
        COOKIE,
        token,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout", include_in_schema=False)
def logout(me: CheckedSelf, app: App) -> RedirectResponse:
    """End this browser's session."""
    with app.engine.begin() as connection:
        accounts.end_session(connection, me.token)
        record_event(connection, me.reviewer.actor, "logout", "user", me.reviewer.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.post("/logout-everywhere", include_in_schema=False)
def logout_everywhere(me: CheckedSelf, app: App) -> RedirectResponse:
    """End every session of this user, on every device."""
    with app.engine.begin() as connection:
        ended = accounts.end_all_sessions(connection, me.reviewer.id)
        record_event(
            connection,
            me.reviewer.actor,
            "logout.everywhere",
            "user",
            me.reviewer.username,
            detail={"sessions": ended},
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/settings", response_class=HTMLResponse, include_in_schema=False)
def settings_page(me: Me, app: App, request: Request) -> Response:
    """The user's protection settings and today's exposure."""
    with app.engine.begin() as connection:
        seen = exposure(connection, me.reviewer, utcnow())
        blur = blur_of(connection, me.reviewer)
        default = organisation(connection).blur
    return page(
        request,
        "settings.html",
        me,
        exposure=seen,
        blur=blur,
        default_blur=default,
        radii=BLUR_RADII,
    )


@router.post("/settings", include_in_schema=False)
def save_settings(
    me: CheckedSelf,
    app: App,
    break_after: Annotated[int, Form(ge=1, le=10_000)],
    always_blur: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Save the protection settings."""
    with app.engine.begin() as connection:
        accounts.set_protection(connection, me.reviewer, always_blur == "on", break_after)
    return RedirectResponse("/settings?saved=1", status_code=303)
