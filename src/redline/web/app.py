"""The FastAPI app: one database, its bank indexes and matcher, and the routers over them.

Serve it with ``redline serve`` or ``uvicorn --factory --no-proxy-headers
redline.web.app:served_app`` (settings from ``REDLINE_*``; the app reads X-Forwarded-For itself,
from trusted proxies only: ``REDLINE_TRUSTED_PROXIES``).
Routers are mounted under their own prefix: ``/hma`` is the HMA-compatible API, so an existing
Hasher-Matcher-Actioner client works unchanged with ``http://host:port/hma`` as its base URL;
``/api/v1`` is redline's own JSON API; everything else is the review console.

Refusals come out in the shape of where they happened: JSON ``{"message": ...}`` under the APIs,
an HTML page (or a redirect to sign in) in the console, with the status code saying why.
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from redline import __version__
from redline.config import Settings, get_settings
from redline.errors import Refused
from redline.index.store import Freshness, IndexStore
from redline.pipeline.match import Matcher
from redline.pipeline.work import Worksite
from redline.store import ensure_schema, make_engine
from redline.store.media import MediaStoreError, MissingMedia, media_store
from redline.web import HashingSlots, Services
from redline.web.api import router as api_router
from redline.web.auth import NotSignedIn, Visitor, visitor
from redline.web.hma import router as hma_router
from redline.web.hma.payloads import FORM_OVERHEAD
from redline.web.security import Guard, TooLarge
from redline.web.ui import router as ui_router
from redline.web.ui.render import HERE as UI_DIR
from redline.web.ui.render import page

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web app over the database of ``settings`` (the process's settings by default)."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    indexes = IndexStore(engine, settings.data_dir, Freshness.of(settings))
    matcher = Matcher(engine, indexes)
    services = Services(
        settings,
        engine,
        indexes,
        matcher,
        HashingSlots(settings.hash_concurrency),
        Worksite(engine, settings, matcher),
        media_store(settings),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="redline",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = services
    app.include_router(hma_router, prefix="/hma")
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(ui_router)
    app.add_api_route("/api/docs", _api_docs, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=UI_DIR / "static"), name="static")
    limits = {
        "form": settings.max_form_bytes,
        "upload": settings.max_upload_bytes,
        "media": settings.max_media_bytes + FORM_OVERHEAD,
        "items": settings.max_items_bytes,
    }
    app.add_middleware(Guard, limits=limits)
    app.add_middleware(OwnChanges, indexes=indexes)
    for unavailable in (OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(MediaStoreError, _media_unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(TooLarge, _too_large)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = _with_refusals(app.openapi)  # type: ignore[method-assign]
    return app


def served_app() -> FastAPI:
    """``create_app`` for a server process (``redline serve``, ``uvicorn --factory
    redline.web.app:served_app``): settings from ``REDLINE_*``, and what start-up built (the
    framework, the routes, the templates, the indexes) frozen out of the garbage collector's
    sight. A full collection otherwise walks those hundreds of thousands of long-lived objects
    every time a request allocates many (the dashboard's ten thousand times to decision): a tail
    of tens of milliseconds on unrelated requests. Only for a process that serves: a test that
    builds many apps would keep each one's objects for good."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


class OwnChanges:
    """After a request that may have changed something (not GET, HEAD or OPTIONS), this
    process's next look-up reads the banks counter and loads a change at once: whoever changed
    a bank through this process sees the change in its next look-up, while the other processes
    spread their reloads (``REDLINE_INDEX_RELOAD_JITTER``)."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, indexes: IndexStore) -> None:
        self.app, self.indexes = app, indexes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["method"] not in self.SAFE:
                self.indexes.expect_change()


# The refusals any operation can answer, whatever its route says: the handlers below and the
# Guard give every route the same shape of error, so the API document says so once, here.
REFUSALS: dict[int, str] = {
    400: "Bad request (HMA's refusals, or a body that cannot be parsed)",
    401: "No API token, or an unknown or revoked one",
    403: "The token's scope or its user's role does not allow this",
    404: "No such resource",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    422: "A parameter or the body is not valid",
    429: "Too many requests: try again later",
    503: "Service unavailable (database down, or too busy): try again later",
}
_AUTHENTICATED_ONLY = frozenset({401, 403})
# Ids are 64-bit database integers: the document says so, so clients (and schemathesis's
# boundary values) know that a larger number is refused, never stored.
_INTEGER_FORMAT = "int64"
_REFUSAL_SCHEMA = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


def _with_refusals(make_openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """FastAPI's OpenAPI document with ``REFUSALS`` on every operation, as ``{"message": ...}``
    (also replacing FastAPI's own 422 schema, which is not what redline answers), and every
    integer without a format marked as 64-bit."""

    def openapi() -> dict[str, Any]:
        document = make_openapi()  # cached by FastAPI: the same dict on every call
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "Refusal" in schemas:
            return document
        schemas["Refusal"] = _REFUSAL_SCHEMA
        refusal = {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}}
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in REFUSALS.items():
                    if status in _AUTHENTICATED_ONLY and not operation.get("security"):
                        continue
                    responses[str(status)] = {"description": description, "content": refusal}
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        _mark_integers(document)
        return document

    return openapi


def _mark_integers(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            node["format"] = _INTEGER_FORMAT
        for value in node.values():
            _mark_integers(value)
    elif isinstance(node, list):
        for value in node:
            _mark_integers(value)


def _api_docs(request: Request) -> Response:
    # FastAPI's own docs page loads Swagger UI from a CDN with inline script; this one is served
    # from the vendored copy, and starts it from a file, so the CSP stays strict.
    return page(request, "api_docs.html", None)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/hma/"))


def _refusal(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"message": message}, status_code=status)
    titles = {
        401: "Sign in",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        422: "Not valid",
        429: "Too many attempts",
    }
    # A signed-in user keeps the navigation on an error page, and goes back to the case.
    try:
        who: Visitor | None = visitor(request.app.state.services, request)
    except (Refused, OperationalError, InterfaceError):
        who = None
    case = _CASE_PATH.match(request.url.path)
    back = f"/cases/{case.group(1)}" if case else "/queue"
    return page(
        request,
        "error.html",
        who,
        status_code=status,
        back=back,
        title=titles.get(status, "Refused"),
        message=message,
        status=status,
    )


_CASE_PATH = re.compile(r"^/cases/(\d+)(?:/|$)")


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, Refused)
    if isinstance(error, NotSignedIn) and not _is_api(request):
        if request.method == "GET" and request.headers.get("hx-request") != "true":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        response = _refusal(request, 401, str(error))
        response.headers["HX-Redirect"] = "/login"
        return response
    return _refusal(request, error.status, str(error))


async def _invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in {'body', 'query', 'path'})}: "
        f"{e.get('msg', 'invalid')}"
        for e in error.errors()
    )
    return _refusal(request, 422, problems or "invalid request")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return _refusal(request, error.status_code, str(error.detail))


async def _too_large(request: Request, error: Exception) -> Response:
    return _refusal(request, 413, "request body too large")


async def _media_unavailable(request: Request, error: Exception) -> Response:
    # Where the file was looked for goes to the log, not to the client.
    if isinstance(error, MissingMedia):
        log.warning("missing media on %s %s: %s", request.method, request.url.path, error)
        return _refusal(request, 404, "the media file is missing from the media store")
    log.error("media store error on %s %s: %s", request.method, request.url.path, error)
    return _refusal(request, 503, "media store unavailable, try again later")


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
