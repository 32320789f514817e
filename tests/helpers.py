"""Small helpers the tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from redline.config import Settings
from redline.ingest.records import CsvColumns
from redline.ingest.run import IngestSummary, ingest
from redline.model import Item, Quarantine, Source, TextBody


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
