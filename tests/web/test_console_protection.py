"""Reviewer protection in the console: blurred previews, audited reveals, exposure, and the
audit page that shows them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from redline.config import Settings
from redline.ingest.run import ingest
from redline.model import AuditEvent, Case, Item
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in


def case_with_image(desk: Desk, tmp_path: Path) -> tuple[int, str, bytes]:
    """A post with a photo, ingested from JSONL, and its case: (case id, sha256, bytes)."""
    rng = np.random.default_rng(7)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(photo)
    export = tmp_path / "with-media.jsonl"
    export.write_text(
        json.dumps({"id": "m1", "text": "caption", "account": "acct_m", "media": ["photo.png"]})
        + "\n"
    )
    settings: Settings = desk.settings
    ingest(export, "media-export", engine=desk.engine, settings=settings, actor="test")
    with desk.engine.begin() as connection:
        item = connection.scalar(select(Item.id).where(Item.external_id == "m1"))
        assert item is not None
        open_item_cases(connection, {item: CaseReason(100, "bank match")}, utcnow())
        case = connection.scalar(select(Case.id).where(Case.item_id == item))
    import hashlib

    data = photo.read_bytes()
    return int(case or 0), hashlib.sha256(data).hexdigest(), data


def test_media_stay_blurred_until_an_audited_reveal(desk: Desk, tmp_path: Path) -> None:
    case, sha, original = case_with_image(desk, tmp_path)
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "rev1")
    page = client.get(f"/cases/{case}")
    assert f"/cases/{case}/media/{sha}/preview" in page.text and "/full" not in page.text
    preview = client.get(f"/cases/{case}/media/{sha}/preview")
    shown = Image.open(io.BytesIO(preview.content))
    assert preview.headers["content-type"] == "image/jpeg" and shown.mode == "L"
    assert client.get(f"/cases/{case}/media/{sha}/full").status_code == 403
    revealed = client.post(
        f"/cases/{case}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert revealed.status_code == 200 and f"/media/{sha}/full" in revealed.text
    assert "1 today" in revealed.text
    full = client.get(f"/cases/{case}/media/{sha}/full")
    assert full.status_code == 200 and full.content == original
    # Another reviewer has not revealed it: still refused for them.
    other = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(other, "rev2")
    assert other.get(f"/cases/{case}/media/{sha}/full").status_code == 403
    # A file that is not this case's is never served through it.
    assert client.get(f"/cases/{desk.cases['p1']}/media/{sha}/preview").status_code == 404
    with desk.engine.connect() as connection:
        reveal = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "media.reveal")
        ).one()
    assert reveal.actor == "user:rev1" and reveal.subject_id == sha
    assert reveal.detail == {"case": case}


def test_keep_blurred_and_break_reminder_settings(desk: Desk, tmp_path: Path) -> None:
    case, sha, _ = case_with_image(desk, tmp_path)
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "rev1")
    saved = client.post("/settings", data={"csrf": csrf, "break_after": "1"})
    assert saved.status_code == 303
    client.post(f"/cases/{case}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf})
    assert "Time for a break?" in client.get(f"/cases/{case}").text
    assert "Media revealed today: <strong>1</strong>" in client.get("/settings").text
    client.post("/settings", data={"csrf": csrf, "break_after": "50", "always_blur": "on"})
    page = client.get(f"/cases/{case}")
    assert "Reveal image" not in page.text
    refused = client.post(f"/cases/{case}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403 and "blurred" in refused.text
    assert client.get(f"/cases/{case}/media/{sha}/full").status_code == 403
    bad = client.post("/settings", data={"csrf": csrf, "break_after": "0"})
    assert bad.status_code == 422


def test_audit_page_filters_and_exports_csv(desk: Desk) -> None:
    reviewer = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(reviewer, "rev1")
    reviewer.get(f"/cases/{desk.cases['p2']}")
    auditor = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(auditor, "aud1")
    page = auditor.get(f"/audit?actor=user:rev1&action=case.view&subject=case:{desk.cases['p2']}")
    assert page.status_code == 200 and page.text.count("<td>case.view</td>") == 1
    exported = auditor.get("/audit.csv?actor=user:rev1")
    assert exported.headers["content-type"].startswith("text/csv")
    # The last line names the chain's head, for checking the copy later.
    *rows, head = list(csv.DictReader(io.StringIO(exported.text)))
    assert head["id"] == "# chain head"
    assert {r["action"] for r in rows} == {"login", "case.view"}
    assert all(r["actor"] == "user:rev1" for r in rows)
    assert auditor.get("/audit?since=yesterday").status_code == 422


def test_video_preview_is_a_blurred_frame_and_the_revealed_video_is_muted(
    desk: Desk, tmp_path: Path
) -> None:
    import hashlib

    from tests.media_fixtures import generated, make_video

    video = make_video(tmp_path / "clip.mp4", [generated(1), generated(2)])
    export = tmp_path / "with-video.jsonl"
    export.write_text(json.dumps({"id": "v1", "text": "clip", "media": ["clip.mp4"]}) + "\n")
    ingest(export, "video-export", engine=desk.engine, settings=desk.settings, actor="test")
    with desk.engine.begin() as connection:
        item = connection.scalar(select(Item.id).where(Item.external_id == "v1"))
        assert item is not None
        open_item_cases(connection, {item: CaseReason(100, "bank match")}, utcnow())
        case = connection.scalar(select(Case.id).where(Case.item_id == item))
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "rev1")
    preview = client.get(f"/cases/{case}/media/{sha}/preview")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).mode == "L"
    revealed = client.post(
        f"/cases/{case}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert "<video" in revealed.text and "muted" in revealed.text
    assert "autoplay" not in revealed.text
