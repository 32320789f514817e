"""Small helpers the tests share."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from redline.config import Settings
from redline.ingest.records import CsvColumns
from redline.ingest.run import IngestSummary, ingest
from redline.model import Item, Quarantine, Source, TextBody


def only_on(database: str) -> pytest.MarkDecorator:
    """Run a test on one of the two databases (``sqlite`` or ``postgresql``), not both.

    For a property the database does not take part in (a body limit, a decoder, a served
    process's start-up), or one only that database has: running it twice costs the suite's time
    and proves nothing more."""
    return pytest.mark.parametrize("database_url", [database], indirect=True)


def run_ingest(
    path: Path, source: str, engine: Engine, settings: Settings, fmt: str = "auto", **columns: Any
) -> IngestSummary:
    return ingest(
        path,
        source,
        engine=engine,
        settings=settings,
        actor="test",
        format_name=fmt,
        columns=CsvColumns(**columns),
    )


def items(engine: Engine, source: str | None = None) -> list[dict[str, Any]]:
    """Every item as a dict of its columns plus ``body`` (its text) and ``source``, by id."""
    query = (
        select(*Item.__table__.columns, TextBody.body, Source.name.label("source"))
        .join(Source, Source.id == Item.source_id)
        .outerjoin(TextBody, TextBody.sha256 == Item.text_sha256)
        .order_by(Item.id)
    )
    if source is not None:
        query = query.where(Source.name == source)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def quarantined(engine: Engine) -> list[Quarantine]:
    with Session(engine) as session:
        return list(session.scalars(select(Quarantine).order_by(Quarantine.id)))


def wait_until_listening(
    url: str, alive: Callable[[], bool], what: str, timeout: float = 180.0
) -> None:
    """Return once something accepts TCP connections at ``url``'s host and port; fail at once if
    ``alive()`` turns false, or after ``timeout`` seconds (a bound for a stuck start, not a speed:
    on a 2-core machine under a load of 20, ``serve --workers 2`` took over a minute to listen).

    A bare connect, not an HTTP request: each ``httpx.get`` builds a TLS context (about 25 ms of
    CPU), so polling with it every 50 ms from a few tests at once starved the very servers they
    waited for on a 2-core machine."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    deadline = time.monotonic() + timeout
    while True:
        if not alive():
            raise AssertionError(f"{what} stopped while starting")
        try:
            with socket.create_connection(address, timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what} did not listen at {url} within {timeout:g} s"
                ) from None
            time.sleep(0.05)


def pending_texts_of(engine: Engine, scope: Any, stage: str, version: str) -> list[tuple[str, str]]:
    """The (sha256, body) of the texts of ``scope`` that ``stage`` has not done at ``version``:
    what a text stage (``extract_outlinks``, ``key_texts``, ...) is given by the scan."""
    from redline.pipeline.text_scan import pending_texts

    with engine.connect() as connection:
        return pending_texts(connection, scope, {stage: version}).by_stage[stage]
