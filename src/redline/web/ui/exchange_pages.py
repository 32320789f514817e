"""The exchanges that feed the banks: what each fetched last, from where it will go on, and
what went wrong, for everyone who may view banks (settings shown without their secrets)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redline.exchanges import run
from redline.web import App
from redline.web.auth import Me
from redline.web.ui.render import page

router = APIRouter()


@router.get("/exchanges", response_class=HTMLResponse, include_in_schema=False)
def exchanges_page(me: Me, app: App, request: Request) -> Response:
    """Every exchange with its bank, state, last fetch, checkpoint, last error and counts."""
    me.reviewer.require("bank.view")
    with app.engine.connect() as connection:
        listed = run.list_exchanges(connection)
    # A checkpoint that stands for a time (ThreatExchange's, TAT's) is shown as one too.
    times = {
        x.name: datetime.fromtimestamp(seconds, UTC)
        for x in listed
        if (seconds := run.checkpoint_time(x.kind, x.checkpoint)) is not None
    }
    return page(request, "exchanges.html", me, exchanges=listed, checkpoint_times=times)
