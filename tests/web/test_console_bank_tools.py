"""Bank pages for leads, on both databases: blurred thumbnails of entries added from a case's
media (never the original), each entry's matches linked to the cases they opened, and match
thresholds a lead edits within each signal type's range, audited."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from redline.banks import manage
from redline.model import AuditEvent, BankEntry, Match
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in
from tests.web.test_console_protection import case_with_image


def banked_case(desk: Desk, tmp_path: Path) -> tuple[int, str, bytes, TestClient, str]:
    """An image case confirmed by two reviewers and added to the bank "known" from its page;
    (case, media sha256, original bytes, the lead's client, CSRF)."""
    case, sha, original = case_with_image(desk, tmp_path)
    now = utcnow()
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "known", actor="test", now=now)
        for reviewer in ("rev1", "rev2"):
            decide(
                connection,
                desk.users[reviewer],
                case,
                Verdict("violating", category="recruitment"),
                now,
            )
    lead = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    added = lead.post(f"/cases/{case}/bank", data={"csrf": csrf, "bank": "known"})
    assert added.status_code == 303, added.text
    return case, sha, original, lead, csrf


def test_entries_from_media_show_a_blurred_thumbnail_and_their_matches(
    desk: Desk, tmp_path: Path
) -> None:
    case, sha, original, lead, _csrf = banked_case(desk, tmp_path)
    with desk.engine.begin() as connection:
        media_entry, text_entry = (
            connection.scalar(select(BankEntry.id).where(BankEntry.media_sha256 == sha)),
            connection.scalar(select(BankEntry.id).where(BankEntry.media_sha256.is_(None))),
        )
        # What the matcher writes when the banked image turns up: a match to the entry.
        connection.execute(
            Match.__table__.insert(),
            {
                "media_sha256": sha,
                "bank_entry_id": media_entry,
                "signal_type": "pdq",
                "distance": 0,
                "created_at": utcnow(),
            },
        )
    page = lead.get("/banks/known")
    assert page.status_code == 200
    thumb = f"/banks/known/entries/{media_entry}/preview"
    assert f'src="{thumb}"' in page.text
    assert f"/banks/known/entries/{text_entry}/preview" not in page.text
    assert re.search(rf'1 match: <a href="/cases/{case}">case {case}</a>', page.text)
    assert page.text.count(">none<") == 1  # the text entry matched nothing
    shown = lead.get(thumb)
    assert shown.headers["content-type"] == "image/jpeg" and shown.content != original
    preview = Image.open(io.BytesIO(shown.content))
    assert preview.mode == "L"
    pixels = np.asarray(preview, dtype=np.int16)
    assert np.abs(np.diff(pixels, axis=1)).mean() < 3  # the noise of the photo is blurred away
    # Nothing else serves the entry's media: not another bank's name, not a text entry.
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "other", actor="test", now=utcnow())
    assert lead.get(f"/banks/other/entries/{media_entry}/preview").status_code == 404
    assert lead.get(f"/banks/known/entries/{text_entry}/preview").status_code == 404
    assert lead.get(f"/banks/known/entries/{media_entry}/full").status_code in (404, 405)
    reviewer = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(reviewer, "rev1")
    assert reviewer.get(thumb).status_code == 200  # reviewers read banks, blurred
    anonymous = TestClient(create_app(desk.settings), follow_redirects=False)
    assert anonymous.get(thumb).status_code in (303, 401)


def test_a_lead_edits_thresholds_within_range_and_it_is_audited(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "known", actor="test", now=utcnow())
    lead = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    saved = lead.post(
        "/banks/known/thresholds",
        data={"csrf": csrf, "pdq_threshold": "20", "text_threshold": "0.9"},
    )
    assert saved.status_code == 303
    with desk.engine.connect() as connection:
        bank = manage.get_bank(connection, "known")
        event = connection.execute(
            select(AuditEvent.actor, AuditEvent.before, AuditEvent.after).where(
                AuditEvent.action == "bank.update"
            )
        ).one()
    assert (bank.pdq_threshold, bank.text_threshold) == (20, 0.9)
    assert event.actor == "user:lead1"
    assert event.before == {"pdq_threshold": 31, "text_threshold": 0.8}
    assert event.after == {"pdq_threshold": 20, "text_threshold": 0.9}
    assert 'value="20"' in lead.get("/banks/known").text


@pytest.mark.parametrize(
    ("pdq", "text"),
    [
        ("64", "0.8"),
        ("-1", "0.8"),
        ("abc", "0.8"),
        ("31.5", "0.8"),
        ("99999999999", "0.8"),
        ("31", "0.2"),
        ("31", "1.5"),
        ("31", "nan"),
        ("31", "inf"),
        ("31", "1e309"),
        ("31", "x" * 11),
        ("", ""),
    ],
)
def test_hostile_thresholds_get_a_4xx_and_change_nothing(desk: Desk, pdq: str, text: str) -> None:
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "known", actor="test", now=utcnow())
    lead = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    answer = lead.post(
        "/banks/known/thresholds", data={"csrf": csrf, "pdq_threshold": pdq, "text_threshold": text}
    )
    assert 400 <= answer.status_code < 500, (pdq, text, answer.status_code)
    with desk.engine.connect() as connection:
        bank = manage.get_bank(connection, "known")
    assert (bank.pdq_threshold, bank.text_threshold) == (31, 0.8)


def test_only_leads_change_thresholds(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        manage.create_bank(connection, "known", actor="test", now=utcnow())
    for who in ("rev1", "aud1"):
        client = TestClient(create_app(desk.settings), follow_redirects=False)
        csrf = sign_in(client, who)
        answer = client.post(
            "/banks/known/thresholds",
            data={"csrf": csrf, "pdq_threshold": "10", "text_threshold": "0.9"},
        )
        assert answer.status_code == 403
        assert 'action="/banks/known/thresholds"' not in client.get("/banks/known").text
    lead = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    missing = lead.post(
        "/banks/nosuch/thresholds",
        data={"csrf": csrf, "pdq_threshold": "10", "text_threshold": "0.9"},
    )
    assert missing.status_code == 404
