"""The list of designated organisations and movements: read by all, kept by leads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.errors import Invalid
from redline.model.base import utcnow
from redline.review import designations
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()


@router.get("/designations", response_class=HTMLResponse, include_in_schema=False)
def designations_page(me: Me, app: App, request: Request) -> Response:
    """Every designation, enabled or not, and (leads) the forms that keep the list."""
    me.reviewer.require("case.view")
    with app.engine.connect() as connection:
        listed = designations.list_designations(connection)
    return page(request, "designations.html", me, listed=listed)


@router.post("/designations", include_in_schema=False)
def add(
    me: Checked,
    app: App,
    name: Annotated[str, Form(max_length=designations.MAX_NAME)],
    listed_by: Annotated[str, Form(max_length=designations.MAX_NAME)] = "",
) -> RedirectResponse:
    """Put an organisation or movement on the list."""
    me.reviewer.require("designation.edit")
    with app.engine.begin() as connection:
        designations.add_designation(
            connection, name, listed_by or None, actor=me.reviewer.actor, now=utcnow()
        )
    return RedirectResponse("/designations", status_code=303)


@router.post("/designations/{designation_id}/{state}", include_in_schema=False)
def set_state(
    me: Checked,
    app: App,
    designation_id: RowId,
    state: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Stop offering a designation to reviewers (``disable``), or offer it again (``enable``)."""
    me.reviewer.require("designation.edit")
    if state not in {"enable", "disable"}:
        raise Invalid(f"unknown state {state!r} (enable or disable)")
    with app.engine.begin() as connection:
        designations.set_designation_enabled(
            connection,
            designations.name_of(connection, designation_id),
            state == "enable",
            actor=me.reviewer.actor,
            now=utcnow(),
            reason=reason,
        )
    return RedirectResponse("/designations", status_code=303)
