"""Admin pages: users (add, disable, enable) and API tokens (create, revoke)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from redline.errors import NotFound
from redline.model.base import utcnow
from redline.review import accounts, tokens
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(me: Me, app: App, request: Request, created: str = "") -> Response:
    """Users and API tokens."""
    me.reviewer.require("user.manage")
    with app.engine.begin() as connection:
        listed = _users_and_tokens(connection)
    return page(request, "admin.html", me, **listed, created=created)


def _users_and_tokens(connection: Connection) -> dict[str, Any]:
    """What the admin page lists and offers: every user and token, the roles and the scopes."""
    return {
        "users": accounts.list_users(connection),
        "tokens": tokens.list_tokens(connection),
        "roles": accounts.ROLES,
        "scopes": tokens.SCOPES,
    }


@router.post("/admin/users", include_in_schema=False)
def add_user(
    me: Checked,
    app: App,
    username: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1024)],
) -> RedirectResponse:
    """Create a user with the password the admin hands over."""
    me.reviewer.require("user.manage")
    with app.engine.begin() as connection:
        accounts.add_user(connection, username, role, password, me.reviewer.actor)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{username}/{state}", include_in_schema=False)
def set_user(me: Checked, app: App, username: str, state: str) -> RedirectResponse:
    """Disable (signing them out everywhere) or enable a user."""
    me.reviewer.require("user.manage")
    if state not in {"disable", "enable"}:
        raise NotFound(f"no action {state!r}")
    with app.engine.begin() as connection:
        accounts.set_disabled(connection, username, state == "disable", me.reviewer.actor)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tokens", include_in_schema=False)
async def create_token(me: Checked, app: App, request: Request) -> Response:
    """Create an API token; its secret is shown on this one page, never again."""
    me.reviewer.require("token.manage")
    form = await request.form()
    user = str(form.get("user", ""))[:100]
    name = str(form.get("name", ""))[:200]
    scopes = [str(s) for s in form.getlist("scope")][:10]
    with app.engine.begin() as connection:
        secret = tokens.create_token(connection, user, name, scopes, me.reviewer.actor)
        listed = _users_and_tokens(connection)
    # The secret is shown on this answer alone: no redirect, so it is never in a URL or history.
    return page(request, "admin.html", me, **listed, secret=secret)


@router.post("/admin/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token(me: Checked, app: App, token_id: RowId) -> RedirectResponse:
    """Revoke an API token at once."""
    me.reviewer.require("token.manage")
    with app.engine.begin() as connection:
        tokens.revoke_token(connection, token_id, utcnow(), me.reviewer.actor)
    return RedirectResponse("/admin", status_code=303)
