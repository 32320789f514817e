"""The complaint form: the one page for people outside the team, whose content was acted on.

It needs no account (the complainant has none); it takes the decision reference given in the
notice, the complaint and an optional contact, and answers with the complaint's number. A
double-submit token stops other sites from filing complaints through a visitor's browser.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from redline.actions import complaints
from redline.model.base import utcnow
from redline.review.errors import Invalid, NotFound, ReviewError
from redline.web import App, RowId
from redline.web.auth import client_address
from redline.web.ui.cookies import form_token, form_token_matches, new_form_token, set_form_token
from redline.web.ui.render import page

router = APIRouter()
FORM_COOKIE = "redline_complaint"
UNKNOWN = (
    "We could not find a decision open to complaint with this reference. Check the"
    " reference in the notice you received."
)


@router.get("/complaints/new", response_class=HTMLResponse, include_in_schema=False)
def complaint_form(app: App, request: Request, decision: RowId | None = None) -> Response:
    """The form, with the decision reference filled in from the notice's link."""
    token = new_form_token()
    response = page(request, "complaint.html", None, form_csrf=token, decision=decision)
    set_form_token(response, request, app, FORM_COOKIE, token)
    return response


@router.post("/complaints/new", response_class=HTMLResponse, include_in_schema=False)
def file_complaint(
    app: App,
    request: Request,
    decision: Annotated[RowId, Form()],
    text: Annotated[str, Form(max_length=complaints.MAX_TEXT)],
    contact: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """File it; the answer gives its number and when it will be decided by."""
    expected = form_token(request, FORM_COOKIE)
    if not form_token_matches(expected, csrf):
        return page(
            request,
            "complaint.html",
            None,
            status_code=403,
            form_csrf=expected,
            decision=decision,
            text=text,
            contact=contact,
            error="The form expired: please send it again.",
        )

    def refuse(status: int, error: str) -> Response:
        return page(
            request,
            "complaint.html",
            None,
            status_code=status,
            form_csrf=expected,
            decision=decision,
            text=text,
            contact=contact,
            error=error,
        )

    if not text.strip():
        return refuse(422, "Please say why the decision was wrong.")
    now = utcnow()
    network = complaints.client_network(client_address(request))
    try:
        with app.engine.begin() as connection:  # committed first: a refusal still counts
            complaints.admit_public_complaint(connection, network, now)
        with app.engine.begin() as connection:
            number = complaints.file_public_complaint(
                connection, network, decision, text, now, contact.strip() or None
            )
            filed = complaints.get_complaint(connection, number)
    except (NotFound, Invalid):
        # The text is fine (checked above), so the decision is unknown or not final; both get
        # the same answer: the public form must not tell strangers which numbers are in use.
        with app.engine.begin() as connection:
            complaints.record_refused(connection, network, decision)
        return refuse(404, UNKNOWN)
    except ReviewError as refused:
        return refuse(refused.status, str(refused))
    return page(request, "complaint.html", None, status_code=201, filed=filed)
