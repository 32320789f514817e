"""The outcomes dashboard: the transparency report's figures and charts in the console."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from redline.errors import Invalid
from redline.metrics import outcomes, report
from redline.metrics.report import plots
from redline.model.base import utcnow
from redline.store.audit import record_event
from redline.web import App
from redline.web.auth import Me
from redline.web.ui.periods import asked_period
from redline.web.ui.render import page

router = APIRouter()
# What the dashboard offers to download, and the media type each is served as.
DOWNLOADS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def _period(start: str, end: str) -> outcomes.Period:
    """The period of ``from``/``to`` (the last 30 days by default); Invalid for a bad one."""
    return outcomes.Period(*asked_period(start, end, timedelta(days=30), utcnow()))


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
    period = _period(start, end)
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
        # The download covers exactly what the page shows: the same parameters, defaults alike.
        asked={"from": start, "to": end},
    )


@router.get("/dashboard/report", include_in_schema=False)
def download_report(
    me: Me,
    app: App,
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
    format: Annotated[str, Query(max_length=10)] = "pdf",
) -> Response:
    """The transparency report of the period as ``redline report`` writes it (PDF or CSV); the
    download is audited, since the report leaves the console."""
    me.reviewer.require("action.view")
    if format not in DOWNLOADS:
        raise Invalid(f"format: one of {', '.join(DOWNLOADS)}")
    period = _period(start, end)
    with app.engine.connect() as connection:
        figures = outcomes.figures(connection, period)
    data = report.render(figures, format)
    name = f"report-{period.start.date().isoformat()}-{period.end.date().isoformat()}.{format}"
    with app.engine.begin() as connection:
        record_event(
            connection,
            me.reviewer.actor,
            "report.download",
            "report",
            name,
            detail={
                "from": period.start.isoformat(),
                "to": period.end.isoformat(),
                "format": format,
            },
        )
    return Response(
        data,
        media_type=DOWNLOADS[format],
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "private, no-store",
        },
    )
