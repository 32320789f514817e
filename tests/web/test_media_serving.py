"""Revealed media are served inline only when their bytes say image or video (issue 14, row 5).

An ingested ``page.html`` or ``evil.js`` served inline as text/html or text/javascript would run
as the console (its CSP allows script from 'self'): it must come as an attachment, with a
neutral type, a sandbox CSP and nosniff, whatever its name or stored type says.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select, update

from redline.ingest.run import ingest
from redline.model import Case, Item, Media
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.web.app import create_app
from redline.web.media import sniffed_type
from tests.media_fixtures import generated, make_video
from tests.review_desk import Desk
from tests.web.test_console import sign_in

PAGE = b"<!doctype html><html><body><script src='evil.js'></script>synthetic page</body></html>"
SCRIPT = b"document.title = 'synthetic script';\n"


def _png() -> bytes:
    rng = np.random.default_rng(3)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def _case_with_files(desk: Desk, tmp_path: Path, files: dict[str, bytes]) -> int:
    """An item ingested from JSONL with these media files, and its open case."""
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    export = tmp_path / "post.jsonl"
    record = {"id": "w1", "text": "synthetic post", "media": list(files)}
    export.write_text(json.dumps(record) + "\n")
    ingest(export, "web-export", engine=desk.engine, settings=desk.settings, actor="test")
    with desk.engine.begin() as connection:
        item = connection.scalar(select(Item.id).where(Item.external_id == "w1"))
        assert item is not None
        open_item_cases(connection, {item: CaseReason(100, "bank match")}, utcnow())
        case = connection.scalar(select(Case.id).where(Case.item_id == item))
    return int(case or 0)


def _revealed(client: TestClient, csrf: str, case: int, data: bytes) -> object:
    sha = hashlib.sha256(data).hexdigest()
    reveal = client.post(
        f"/cases/{case}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert reveal.status_code == 200, reveal.text
    return client.get(f"/cases/{case}/media/{sha}/full")


def test_html_and_script_are_attachments_and_images_and_videos_inline(
    desk: Desk, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "clip.mp4", [generated(1), generated(2)]).read_bytes()
    files = {"page.html": PAGE, "evil.js": SCRIPT, "photo.png": _png(), "clip.mp4": video}
    case = _case_with_files(desk, tmp_path, files)
    # Even a stored type that claims a picture is not believed: the bytes decide.
    with desk.engine.begin() as connection:
        sha = hashlib.sha256(SCRIPT).hexdigest()
        connection.execute(update(Media).where(Media.sha256 == sha).values(mime="image/png"))
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(client, "rev1")
    for name in ("page.html", "evil.js"):
        full = _revealed(client, csrf, case, files[name])
        assert full.status_code == 200 and full.content == files[name]  # type: ignore[attr-defined]
        headers = full.headers  # type: ignore[attr-defined]
        assert headers["content-type"] == "application/octet-stream", name
        assert headers["content-disposition"].startswith("attachment;"), name
        assert "sandbox" in headers.get_list("content-security-policy"), name
        assert headers["x-content-type-options"] == "nosniff", name
    for name, mime in (("photo.png", "image/png"), ("clip.mp4", "video/mp4")):
        full = _revealed(client, csrf, case, files[name])
        headers = full.headers  # type: ignore[attr-defined]
        assert full.status_code == 200 and full.content == files[name]  # type: ignore[attr-defined]
        assert headers["content-type"] == mime and "content-disposition" not in headers, name
        assert "sandbox" not in headers.get_list("content-security-policy"), name


def test_sniffing_reads_bytes_not_names() -> None:
    assert sniffed_type(_png()) == "image/png"
    assert sniffed_type(b"\xff\xd8\xff\xe0" + b"\x00" * 20) == "image/jpeg"
    assert sniffed_type(b"GIF89a...") == "image/gif"
    assert sniffed_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniffed_type(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert sniffed_type(b"\x1a\x45\xdf\xa3" + b"\x00" * 30 + b"webm") == "video/webm"
    for document in (PAGE, SCRIPT, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7", b""):
        assert sniffed_type(document) is None
