"""Data for the console's browser tests, made the way production makes it.

The demo data set is built, ingested and scanned (``redline demo --no-week`` then
``redline scan``), so the cases, media and bank matches the browser sees come from the real
pipeline; the tests make their own decisions, so the demo's week is not played. Then one JSONL
record whose text and account name are HTML is ingested, and a case opened on it, for the
escaping checks; and one user per role is added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, select

from redline.config import Settings
from redline.demo import build_demo, seed_demo_banks
from redline.index.store import IndexStore
from redline.ingest.run import ingest
from redline.model import Case, Item, ItemMedia, Media, Source
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.pipeline.scan import scan
from redline.review.accounts import add_user
from redline.store import ensure_schema, make_engine
from redline.store.media import FolderStore

ACTOR: Final = "test:e2e-seed"
# One password per user, each longer than the 12-character minimum.
USERS: Final[dict[str, tuple[str, str]]] = {
    "rev1": ("reviewer", "rev1-long-password-1"),
    "rev2": ("reviewer", "rev2-long-password-2"),
    "lead1": ("lead", "lead1-long-password-3"),
    "admin1": ("admin", "admin1-long-password-4"),
    "aud1": ("auditor", "aud1-long-password-5"),
}
XSS: Final = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_SOURCE: Final = "e2e-escaping"
XSS_REASON: Final = "e2e escaping probe"


@dataclass(frozen=True, slots=True)
class ImageCase:
    """An open case whose item's first media file is an image."""

    id: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the console tests can count on finding in the database."""

    image_cases: list[ImageCase]  # in queue order: highest priority first
    xss_case: int
    open_cases: int


def seed_console(settings: Settings, work: Path) -> Seeded:
    """Fill the empty database of ``settings``: demo data scanned, the escaping probe, users.

    ``work`` is a scratch folder for the demo's source files (not the data directory).
    """
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        _demo(engine, settings, work / "demo")
        xss_case = _escaping_probe(engine, settings, work / "probe")
        with engine.begin() as connection:
            for username, (role, password) in USERS.items():
                add_user(connection, username, role, password, ACTOR)
        return Seeded(_image_cases(engine), xss_case, _count_open(engine))
    finally:
        engine.dispose()


def _demo(engine: Engine, settings: Settings, root: Path) -> None:
    """What ``redline demo --no-week`` and ``redline scan`` do, called as the CLI calls them."""
    demo = build_demo(root)
    for source, (path, fmt) in demo.sources.items():
        ingest(path, source, engine=engine, settings=settings, actor=ACTOR, format_name=fmt)
    seed_demo_banks(engine, FolderStore(settings.data_dir), demo, ACTOR)
    # One hashing process: the demo is small, and a pool is slower to start than to use here.
    scan(engine, settings, IndexStore(engine, settings.data_dir), actor=ACTOR, workers=1)


def _escaping_probe(engine: Engine, settings: Settings, folder: Path) -> int:
    """Ingest one post whose text and account name are HTML and open a case on it."""
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "probe.jsonl"
    record = {
        "id": "probe-1",
        "text": XSS,
        "account": "probe_account",
        "account_name": XSS,
        "time": "2026-11-20T14:00:00Z",
    }
    export.write_text(json.dumps(record) + "\n", encoding="utf-8")
    summary = ingest(export, XSS_SOURCE, engine=engine, settings=settings, actor=ACTOR)
    assert summary.stored == 1, summary.as_dict()
    with engine.begin() as connection:
        item_id = connection.scalar(
            select(Item.id)
            .join(Source, Source.id == Item.source_id)
            .where(Source.name == XSS_SOURCE, Item.external_id == "probe-1")
        )
        assert item_id is not None
        open_item_cases(connection, {item_id: CaseReason(60, XSS_REASON)}, utcnow())
        case_id = connection.scalar(select(Case.id).where(Case.item_id == item_id))
    assert case_id is not None
    return int(case_id)


def _image_cases(engine: Engine) -> list[ImageCase]:
    """Open cases whose first media is an image, in the queue's order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Case.id, ItemMedia.media_sha256, ItemMedia.position, Media.kind)
            .join(ItemMedia, ItemMedia.item_id == Case.item_id)
            .join(Media, Media.sha256 == ItemMedia.media_sha256)
            .where(Case.status == "open")
            .order_by(Case.priority.desc(), Case.opened_at, Case.id, ItemMedia.position)
        ).all()
    first: dict[int, tuple[str, str]] = {}
    for row in rows:
        first.setdefault(row.id, (row.media_sha256, row.kind))
    return [ImageCase(case_id, sha) for case_id, (sha, kind) in first.items() if kind == "image"]


def _count_open(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(connection.scalars(select(Case.id).where(Case.status == "open")).all())
