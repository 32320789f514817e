"""The FastAPI app: one database, its bank indexes and matcher, and the routers over them.

Serve it with ``uvicorn --factory redline.web.app:create_app`` (settings from ``REDLINE_*``).
Routers are mounted under their own prefix: ``/hma`` is the HMA-compatible API, so an existing
Hasher-Matcher-Actioner client works unchanged with ``http://host:port/hma`` as its base URL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from redline import __version__
from redline.config import Settings, get_settings
from redline.index.store import IndexStore
from redline.pipeline.match import Matcher
from redline.store import ensure_schema, make_engine
from redline.web import Services
from redline.web.hma import router as hma_router

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web app over the database of ``settings`` (the process's settings by default)."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    indexes = IndexStore(engine, settings.data_dir)
    services = Services(settings, engine, indexes, Matcher(engine, indexes))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="redline", version=__version__, lifespan=lifespan)
    app.state.services = services
    app.include_router(hma_router, prefix="/hma")
    for unavailable in (OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    # A lost connection or a full disk is the server's state, not the request's fault: 503 tells
    # clients and load balancers to retry later, where a bare 500 would say nothing.
    log.error("database error on %s %s: %s", request.method, request.url.path, error)
    return JSONResponse({"message": "database unavailable, try again later"}, status_code=503)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # Every known bad input is refused with a 4xx by the routers; reaching here is a bug in
    # redline, so it is logged with its traceback and answered as JSON like every other error.
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse({"message": "internal error (logged on the server)"}, status_code=500)
