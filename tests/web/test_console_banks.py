"""Bank pages in the console, and adding a confirmed case to a bank."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from redline.banks import manage
from redline.model import AuditEvent, BankEntry, Case, ItemMedia, Media
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.signals import BadSignal
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.media_fixtures import photo
from tests.review_desk import Desk
from tests.web.test_console import sign_in

PDQ_A = "f" * 64
PDQ_B = "0f" * 32
HASH_LIST = (
    "signal_type,signal,category,tags,source_org,added_at,note\n"
    f"pdq,{PDQ_A},support_glorification,,ngo-x,,poster one\n"
    f"pdq,{PDQ_B},recruitment,,ngo-x,,poster two\n"
    "pdq,not-a-hash,recruitment,,ngo-x,,broken row\n"
)


def test_a_lead_creates_fills_searches_and_exports_a_bank(desk: Desk) -> None:
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "lead1")
    made = client.post(
        "/banks",
        data={"csrf": csrf, "name": "posters", "confirmed": "on", "description": "known posters"},
    )
    assert made.status_code == 303 and made.headers["location"] == "/banks/posters"
    assert client.post("/banks", data={"csrf": csrf, "name": "posters"}).status_code == 409
    assert client.post("/banks", data={"csrf": csrf, "name": "bad name!"}).status_code == 422
    imported = client.post(
        "/banks/posters/import",
        data={"csrf": csrf},
        files={"file": ("list.csv", HASH_LIST.encode())},
    )
    assert imported.status_code == 303
    assert "imported=2" in imported.headers["location"]
    assert "quarantined=1" in imported.headers["location"]
    page = client.get("/banks/posters?q=poster two")
    assert "poster two" in page.text and "poster one" not in page.text
    entry = re.search(r"/banks/posters/entries/(\d+)/disable", page.text)
    assert entry is not None
    unsaid = client.post(f"/banks/posters/entries/{entry.group(1)}/disable", data={"csrf": csrf})
    assert unsaid.status_code == 422  # a disable says why
    off = client.post(
        f"/banks/posters/entries/{entry.group(1)}/disable",
        data={"csrf": csrf, "reason": "matches unrelated posters"},
    )
    assert off.status_code == 303
    with desk.engine.connect() as connection:
        assert manage.get_entry(connection, int(entry.group(1))).enabled is False
    exported = client.get("/banks/posters/export?format=plain")
    assert exported.status_code == 200 and PDQ_A in exported.text
    assert client.get("/banks/posters/export?format=xml").status_code == 422
    listing = client.get("/banks")
    assert "posters" in listing.text and "known posters" in listing.text
    with desk.engine.connect() as connection:
        actions = set(
            connection.scalars(select(AuditEvent.action).where(AuditEvent.actor == "user:lead1"))
        )
    assert {"login", "bank.create", "bank.import", "bank.entry.disable"} <= actions


def test_a_confirmed_case_goes_into_a_text_bank_from_its_page(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "statements", actor="test", now=utcnow())
    case = desk.cases["p3"]
    now = utcnow()
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "lead1")
    early = client.post(f"/cases/{case}/bank", data={"csrf": csrf, "bank": "statements"})
    assert early.status_code == 409  # not confirmed yet
    with desk.engine.begin() as connection:
        for reviewer in ("rev1", "rev2"):
            decide(
                connection,
                desk.users[reviewer],
                case,
                Verdict("violating", category="recruitment"),
                now,
            )
    page = client.get(f"/cases/{case}")
    assert "Add to bank" in page.text
    added = client.post(f"/cases/{case}/bank", data={"csrf": csrf, "bank": "statements"})
    assert added.status_code == 303 and "banked=1" in added.headers["location"]
    with desk.engine.connect() as connection:
        bank = manage.get_bank(connection, "statements")
    assert bank.entries == 1
    missing = client.post(f"/cases/{case}/bank", data={"csrf": csrf, "bank": "nope"})
    assert missing.status_code == 422 and "no bank" in missing.text


def test_adding_a_case_to_a_bank_stores_all_of_its_entries_or_none(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text and the media of a case go in one transaction: when the second entry is
    refused, the first is not left behind in the bank."""
    case = desk.cases["p3"]
    image = tmp_path / "poster.jpg"
    photo("rocket").save(image, quality=92)
    stored = manage.hash_media(FolderStore(desk.settings.data_dir), image).stored
    now = utcnow()
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "known", actor="test", now=now)
        connection.execute(
            Media.__table__.insert(),
            {
                "sha256": stored.sha256,
                "md5": stored.md5,
                "size": stored.size,
                "kind": stored.kind,
                "mime": stored.mime,
                "width": stored.width,
                "height": stored.height,
                "path": stored.path,
                "created_at": now,
            },
        )
        item = connection.scalar(select(Case.item_id).where(Case.id == case))
        connection.execute(
            ItemMedia.__table__.insert(),
            {"item_id": item, "position": 0, "media_sha256": stored.sha256},
        )
        for reviewer in ("rev1", "rev2"):
            decide(
                connection,
                desk.users[reviewer],
                case,
                Verdict("violating", category="recruitment"),
                now,
            )
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "lead1")
    real_add_media = manage.add_media

    def refused_after_storing(*args: Any, **kwargs: Any) -> manage.EntryInfo:
        real_add_media(*args, **kwargs)  # the entry is written, then the second one is refused
        raise BadSignal("poster.jpg: refused for this test")

    monkeypatch.setattr(manage, "add_media", refused_after_storing)
    refused = client.post(f"/cases/{case}/bank", data={"csrf": csrf, "bank": "known"})
    assert refused.status_code == 422 and "refused for this test" in refused.text
    with desk.engine.connect() as connection:
        assert manage.get_bank(connection, "known").entries == 0
        assert connection.scalar(select(func.count()).select_from(BankEntry)) == 0
        added_events = connection.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "bank.entry.add")
        )
    assert added_events == 0
    monkeypatch.setattr(manage, "add_media", real_add_media)
    added = client.post(f"/cases/{case}/bank", data={"csrf": csrf, "bank": "known"})
    assert added.status_code == 303 and "banked=2" in added.headers["location"]
    with desk.engine.connect() as connection:
        bank = manage.get_bank(connection, "known")
    assert bank.entries == 2 and {"text_minhash", "pdq"} <= set(bank.signals)
