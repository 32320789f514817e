"""Queue health and reviewer wellbeing (leads), the daily exposure cap and lifting a break, and
the blur of previews (each user's own, and the organisation's default an admin sets)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from redline.errors import Invalid
from redline.metrics import health
from redline.model.base import utcnow
from redline.review import protection
from redline.web import App
from redline.web.auth import Checked, CheckedSelf, Me
from redline.web.ui.periods import asked_period
from redline.web.ui.render import page

router = APIRouter()
# Decision rates and agreement cover the last week unless asked otherwise.
DEFAULT_PERIOD = timedelta(days=7)


@router.get("/health", response_class=HTMLResponse, include_in_schema=False)
def health_page(
    me: Me,
    app: App,
    request: Request,
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    """Backlog by age, SLA breaches, decisions per hour, second-review agreement and today's
    exposure per reviewer against the daily cap."""
    me.reviewer.require("team.view")
    now = utcnow()
    since, until = asked_period(start, end, DEFAULT_PERIOD, now)
    with app.engine.connect() as connection:
        waiting = health.backlog(connection, now)
        context: dict[str, Any] = {
            "backlog": waiting.by_age,
            "bands": waiting.bands,
            "breaches": waiting.breaches,
            "rates": health.decision_rates(connection, since, until),
            "agreement": health.second_review_agreement(connection, since, until),
            "exposures": health.exposures(connection, now),
            "organisation": protection.organisation(connection),
        }
    return page(
        request,
        "health.html",
        me,
        start=since.date().isoformat(),
        end=until.date().isoformat(),
        caps=protection.DAILY_CAPS,
        **context,
    )


@router.post("/health/cap", include_in_schema=False)
def set_cap(
    me: Checked,
    app: App,
    daily_cap: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Set the daily exposure cap (empty: no cap)."""
    me.reviewer.require("team.manage")
    text = daily_cap.strip()
    if text and not text.isdigit():
        raise Invalid(f"daily cap: a whole number of reveals and cases viewed, not {text!r}")
    with app.engine.begin() as connection:
        protection.set_daily_cap(connection, me.reviewer, int(text) if text else None, utcnow())
    return RedirectResponse("/health?saved=cap#exposure-h", status_code=303)


@router.post("/health/breaks/{username}/lift", include_in_schema=False)
def lift_break(me: Checked, app: App, username: str) -> RedirectResponse:
    """Lift a reviewer's enforced break for the rest of the day."""
    me.reviewer.require("team.manage")
    with app.engine.begin() as connection:
        protection.lift_break(connection, me.reviewer, username[:100], utcnow())
    return RedirectResponse("/health?saved=lifted#exposure-h", status_code=303)


def _blur(radius: str, greyscale: str) -> protection.Blur:
    if not radius.strip().isdigit():
        raise Invalid(f"blur strength: a whole number, not {radius[:20]!r}")
    return protection.Blur(int(radius), greyscale == "on")


@router.post("/settings/blur", include_in_schema=False)
def save_blur(
    me: CheckedSelf,
    app: App,
    blur_radius: Annotated[str, Form(max_length=10)] = "",
    greyscale: Annotated[str, Form(max_length=10)] = "",
    follow: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """One's own blur (or back to the organisation's default)."""
    blur = None if follow == "on" else _blur(blur_radius, greyscale)
    with app.engine.begin() as connection:
        protection.set_blur(connection, me.reviewer, blur)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/organisation", include_in_schema=False)
def save_organisation_blur(
    me: Checked,
    app: App,
    blur_radius: Annotated[str, Form(max_length=10)] = "",
    greyscale: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """The organisation's blur default (admins)."""
    me.reviewer.require("organisation.manage")
    with app.engine.begin() as connection:
        protection.set_default_blur(
            connection, me.reviewer, _blur(blur_radius, greyscale), utcnow()
        )
    return RedirectResponse("/settings?saved=1", status_code=303)
