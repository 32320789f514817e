"""HMA's service routes: health checks for load balancers, and the site map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from redline.web import Services, services
from redline.web.hma.errors import HmaRoute

router = APIRouter(route_class=HmaRoute, tags=["HMA status"])


@router.get("/status", response_class=PlainTextResponse)
def status(app: Annotated[Services, Depends(services)]) -> PlainTextResponse:
    """``I-AM-ALIVE`` when the service can answer look-ups; 503 when its database is down, or
    (``INDEX-STALE``, as HMA says it) when this process has served an older banks version than
    the database's for longer than ``REDLINE_INDEX_MAX_STALE_SECONDS``.

    HMA also answers 503 while its in-memory index is loading; redline's indexes load on first
    use from the database, so the database is what readiness depends on. A probe here also
    lets an idle process notice a change to the banks and load it when its turn comes.
    """
    try:
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        app.indexes.current()
    except DBAPIError:
        return PlainTextResponse("DATABASE-UNAVAILABLE", status_code=503)
    if app.indexes.too_stale():
        return PlainTextResponse("INDEX-STALE", status_code=503)
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/status/live", response_class=PlainTextResponse)
def status_live() -> PlainTextResponse:
    """``I-AM-ALIVE`` whenever the process answers: a liveness probe never restarts a server
    that is only waiting for its database."""
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/site-map")
def site_map(request: Request) -> list[str]:
    """Every route of the app, sorted (HMA lists its Flask rules the same way)."""
    # The OpenAPI paths include routes of included routers, which newer FastAPI versions do
    # not list one by one in ``app.routes``; the top-level routes add the docs pages.
    paths = set(request.app.openapi().get("paths", {}))
    paths.update(path for route in request.app.routes if (path := getattr(route, "path", None)))
    return sorted(paths)
