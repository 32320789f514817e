"""HMA's error shape: every refusal is ``{"message": "..."}`` with the status code HMA uses.

Endpoints call ``abort(status, message)``; ``HmaRoute`` turns that, FastAPI's own validation
errors, and redline's domain refusals that slip past an endpoint's checks (a bank deleted between
two statements) into that shape, so no bad input reaches the app's 500 handler. An image over
the pixel budget is 422, a body over its limit 413, and every hashing slot taken 503 with
``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from redline.banks import BankExists, UnknownBank, UnknownEntry
from redline.signals import BadSignal
from redline.signals.decoding import ImageTooLarge
from redline.web import RETRY_AFTER, Busy
from redline.web.security import TooLarge

TOO_LARGE = "Content too large"


class HmaError(Exception):
    """A request refused with an HMA status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def abort(status: int, message: str) -> NoReturn:
    """Refuse the request: HMA's ``flask.abort`` with its JSON error body."""
    raise HmaError(status, message)


def error_response(status: int, message: str) -> JSONResponse:
    """An HMA error body."""
    return JSONResponse({"message": message}, status_code=status)


def _describe(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in {"body", "query"})
        parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where else problem["msg"])
    return "; ".join(parts) or "invalid request"


class HmaRoute(APIRoute):
    """A route whose refusals come out in HMA's error shape, whatever raised them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped to answer refusals as ``{"message": ...}``."""
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except HmaError as error:
                return error_response(error.status, error.message)
            except RequestValidationError as error:
                return error_response(422, _describe(error))
            except (UnknownBank, UnknownEntry) as error:
                return error_response(404, str(error))
            except BankExists as error:
                return error_response(403, str(error))
            except TooLarge:
                return error_response(413, TOO_LARGE)
            except Busy as error:
                busy = error_response(503, str(error))
                busy.headers["retry-after"] = str(RETRY_AFTER)
                return busy
            except ImageTooLarge as error:
                return error_response(422, str(error))
            except BadSignal as error:
                return error_response(400, str(error))

        return answer
