"""redline's web app: FastAPI routers that are thin shells over the domain functions.

``redline.web.app.create_app`` builds the app. Every router gets the database, the bank indexes
and the matcher through ``Depends(services)``, so one app holds one set of them and a test can
build an app on its own database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Final, cast

from annotated_types import Ge, Le
from fastapi import Depends, Request
from sqlalchemy import Engine

from redline.config import Settings
from redline.index.store import IndexStore
from redline.pipeline.match import Matcher
from redline.pipeline.work import Worksite
from redline.store.media import MediaStore

RETRY_AFTER: Final = 2  # seconds: hashing an upload takes about that


class Busy(Exception):
    """Every hashing slot is taken: the client should retry after ``RETRY_AFTER`` seconds."""


class HashingSlots:
    """At most ``count`` uploads decoded and hashed at once, so memory and CPU under a flood of
    uploads stay bounded; one more is refused (Busy, answered 503), never queued."""

    def __init__(self, count: int) -> None:
        self._free = threading.BoundedSemaphore(count)

    @contextmanager
    def taken(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block; Busy when none is free."""
        if not self._free.acquire(blocking=False):
            raise Busy("too many uploads being hashed: retry shortly")
        try:
            yield
        finally:
            self._free.release()


@dataclass(frozen=True, slots=True)
class Services:
    """What the app's endpoints work with: built once per app by ``create_app``."""

    settings: Settings
    engine: Engine
    indexes: IndexStore
    matcher: Matcher
    hashing: HashingSlots
    worksite: Worksite  # what items submitted through the API are processed with, in-process
    media: MediaStore  # where stored media files are read from


def services(request: Request) -> Services:
    """The app's Services (use as ``Depends(services)``)."""
    return cast(Services, request.app.state.services)


App = Annotated[Services, Depends(services)]

# A row's id as a path, query, form or body parameter. Ids are 64-bit on PostgreSQL and SQLite,
# so a bigger number (or zero, or a negative one) cannot name a row: refused with 422 before it
# reaches the database driver, which would overflow converting it (a 500).
LARGEST_ROW_ID = 2**63 - 1
RowId = Annotated[int, Ge(1), Le(LARGEST_ROW_ID)]

__all__ = [
    "LARGEST_ROW_ID",
    "RETRY_AFTER",
    "App",
    "Busy",
    "HashingSlots",
    "RowId",
    "Services",
    "services",
]
