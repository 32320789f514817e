"""The outcomes dashboard: the transparency report's figures and charts in the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from redline.errors import Invalid
from redline.metrics import outcomes
from redline.metrics.report import plots
from redline.model.base import utcnow
from redline.web import App
from redline.web.auth import Me
from redline.web.ui.render import page

router = APIRouter()


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    me: Me,
    app: App,
    request: Request,
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    """Figures for a period (the last 30 days by default)."""
    me.reviewer.require("action.view")
    try:
        until = datetime.fromisoformat(end) if end else utcnow()
        since = datetime.fromisoformat(start) if start else until - timedelta(days=30)
    except ValueError:
        raise Invalid("from/to: ISO dates, e.g. 2026-11-01") from None
    period = outcomes.Period(
        since if since.tzinfo else since.replace(tzinfo=UTC),
        until if until.tzinfo else until.replace(tzinfo=UTC),
    )
    if period.end <= period.start:
        raise Invalid("'to' must be after 'from'")
    with app.engine.connect() as connection:
        figures = outcomes.figures(connection, period)
    since_day, until_day = period.start.date().isoformat(), period.end.date().isoformat()
    return page(
        request,
        "dashboard.html",
        me,
        f=figures,
        charts=plots(figures),
        start=since_day,
        end=until_day,
    )
