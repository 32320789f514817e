"""Rendering console pages: one Jinja2 environment, autoescaped, with the filters pages share."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from redline import __version__
from redline.actions import orders
from redline.actions.takedown import OWN_INITIATIVE_BASIS
from redline.classify.features import evidence_words
from redline.metrics import report as report_words
from redline.model.base import utcnow
from redline.review import designations, protection, queue, taxonomy
from redline.web import services
from redline.web.auth import Visitor

HERE: Final = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# Jinja2Templates autoescapes .html; say so explicitly, it is the first wall against HTML in
# item texts and account names.
templates.env.autoescape = True


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _due(value: datetime, now: datetime | None = None) -> str:
    """'due in 42 min' / 'overdue by 3 h 5 min': how SLA timers read."""
    left = int((value - (now or utcnow())).total_seconds() // 60)
    hours, minutes = divmod(abs(left), 60)
    span = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"due in {span}" if left >= 0 else f"overdue by {span}"


def _age(span: timedelta) -> str:
    """'5 min old' / '3 h old' / '2 d old': how long a case has waited, at a glance."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min old"
    if minutes < 48 * 60:
        return f"{minutes // 60} h old"
    return f"{minutes // (24 * 60)} d old"


def _highlight(text: str, explanation: list[dict[str, Any]] | None) -> list[tuple[str, bool]]:
    """The text cut into (piece, is_evidence) parts from the explanation's spans, so the template
    can mark the words that drove the score without any HTML in Python."""
    marks = sorted({(int(a), int(b)) for f in explanation or [] for a, b in f.get("spans") or []})
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in marks:
        start = max(start, at)
        if start >= end or start >= len(text):
            continue
        pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    pieces.append((text[at:], False))
    return [p for p in pieces if p[0]]


templates.env.filters["when"] = _when
templates.env.filters["due"] = _due
templates.env.filters["age"] = _age
templates.env.filters["evidence"] = evidence_words
# The dashboard prints its figures in the report's words (decision keys, signals, no data).
templates.env.filters.update(report_words.FILTERS)
templates.env.globals["highlight"] = _highlight
templates.env.globals["version"] = __version__
templates.env.globals["CATEGORIES"] = taxonomy.CATEGORIES
templates.env.globals["REASONS"] = taxonomy.REASONS
templates.env.globals["NONE_IDENTIFIED"] = designations.NONE_IDENTIFIED
# The queue's signal filter offers what the queue accepts.
templates.env.globals["SIGNALS"] = queue.SIGNALS
# The take-down form of a confirmed case starts from the usual basis of an own-initiative removal.
templates.env.globals["OWN_INITIATIVE_BASIS"] = OWN_INITIATIVE_BASIS


def page(
    request: Request,
    name: str,
    visitor: Visitor | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render template ``name`` with the signed-in user, their CSRF token and ``context``; for
    those who act on orders, the count of orders overdue or nearly so, shown on every page."""
    now = utcnow()
    urgent = None
    grey = False
    if visitor is not None:
        with services(request).engine.connect() as connection:
            if visitor.reviewer.can("action.view"):
                urgent = orders.urgent(connection, now)
            # Revealed media stay grey for those who chose so (previews always are).
            grey = protection.blur_of(connection, visitor.reviewer).greyscale
    return templates.TemplateResponse(
        request,
        name,
        {
            "me": visitor.reviewer if visitor else None,
            "csrf": visitor.csrf if visitor else "",
            "now": now,
            "urgent_orders": urgent,
            "grey_reveals": grey,
            **context,
        },
        status_code=status_code,
    )
