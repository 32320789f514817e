"""Referrals, notices to providers and complaints in the console: the follow-up work after a
decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from redline.actions import complaints, notices, referrals
from redline.model import Complaint, Decision
from redline.model.base import utcnow
from redline.web import App, RowId
from redline.web.auth import Checked, Me
from redline.web.ui.render import page

router = APIRouter()


@router.get("/referrals", response_class=HTMLResponse, include_in_schema=False)
def referrals_page(me: Me, app: App, request: Request) -> Response:
    """Referrals, newest first, with their service, status and checks."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        found = referrals.list_referrals(connection)
    return page(request, "referrals.html", me, referrals=found, next_statuses=referrals.NEXT)


@router.post("/cases/{case_id}/referrals", include_in_schema=False)
def refer(me: Checked, app: App, case_id: RowId) -> RedirectResponse:
    """Draft the referrals of a confirmed case."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        referrals.create_referrals(connection, me.reviewer.actor, case_id, utcnow())
    return RedirectResponse("/referrals", status_code=303)


@router.post("/referrals/{referral_id}/status", include_in_schema=False)
def referral_status(
    me: Checked, app: App, referral_id: RowId, status: Annotated[str, Form(max_length=20)]
) -> RedirectResponse:
    """Move a referral on."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        referrals.set_status(connection, me.reviewer.actor, referral_id, status, utcnow())
    return RedirectResponse("/referrals", status_code=303)


@router.get("/notices", response_class=HTMLResponse, include_in_schema=False)
def notices_page(
    me: Me, app: App, request: Request, status: Annotated[str, Query(max_length=10)] = "pending"
) -> Response:
    """Notices to providers by status: pending ones to deliver, withheld ones with the
    authority's reason and until when, sent ones with when."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        found = notices.list_notices(connection, status, limit=500)
    return page(
        request,
        "notices.html",
        me,
        notices=found,
        status=status,
        statuses=notices.STATUSES,
        public_url=app.settings.public_url,
    )


@router.post("/notices/{notice_id}/sent", include_in_schema=False)
def notice_sent(me: Checked, app: App, notice_id: RowId) -> RedirectResponse:
    """Record that a notice reached its provider (delivered outside redline)."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        notices.mark_sent(
            connection, me.reviewer.actor, notice_id, utcnow(), app.settings.public_url
        )
    return RedirectResponse("/notices", status_code=303)


@router.get("/complaints", response_class=HTMLResponse, include_in_schema=False)
def complaints_page(me: Me, app: App, request: Request) -> Response:
    """Complaints, open ones first by due date."""
    me.reviewer.require("action.view")
    with app.engine.connect() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(
                select(Complaint.__table__, Decision.case_id)
                .join(Decision, Decision.id == Complaint.decision_id)
                .order_by((Complaint.status != "open"), Complaint.due_at, Complaint.id)
                .limit(500)
            )
        ]
    return page(request, "complaints.html", me, complaints=rows)


@router.post("/complaints/{complaint_id}/decision", include_in_schema=False)
def decide(
    me: Checked,
    app: App,
    complaint_id: RowId,
    outcome: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=5000)],
) -> RedirectResponse:
    """Uphold (reinstating the content) or reject a complaint."""
    me.reviewer.require("action.manage")
    with app.engine.begin() as connection:
        complaints.decide_complaint(
            connection, me.reviewer.actor, complaint_id, outcome == "upheld", reason, utcnow()
        )
    return RedirectResponse("/complaints", status_code=303)
