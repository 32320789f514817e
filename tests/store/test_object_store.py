"""Media in an S3-compatible object store (issue 16, item 3): web and workers on several machines
share media without a shared disk.

The store is moto's S3 server in its own process (tests/object_store.py), reached over HTTP by
boto3 as MinIO or AWS would be. The local data dir is deleted between ingest and scan, so nothing
can quietly rely on a file under it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select

from redline.config import Settings
from redline.ingest.media import store_media
from redline.model import Case, Item, Media, Signal
from redline.store.media import MissingMedia, S3Store, media_store
from redline.web.app import create_app
from tests.conftest import CliResult
from tests.helpers import only_on
from tests.media_fixtures import generated, make_video
from tests.object_store import Bucket
from tests.pipeline.test_scan import build_folder
from tests.review_desk import Desk
from tests.web.test_api_items import large_photo
from tests.web.test_console import sign_in

Cli = Callable[..., CliResult]


def media_folder(folder: Path) -> dict[str, Path]:
    """Posts of photos (a known one and its altered copies), a 4000x3000 camera JPEG and a
    short H.264 video; plus the known files a bank is made from, outside the folder."""
    paths = build_folder(folder)
    paths["camera.jpg"] = folder / "camera.jpg"
    paths["camera.jpg"].write_bytes(large_photo())
    paths["clip.mp4"] = make_video(folder / "clip.mp4", [generated(n) for n in range(1, 5)])
    return paths


def signals_and_matches(engine: Engine, cli: Cli) -> tuple[dict[tuple[str, str], str], set[Any]]:
    """The media signals by (media sha256, type) and the matches as (file, bank, signal,
    distance)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Signal.media_sha256, Signal.signal_type, Signal.value).where(
                Signal.media_sha256.is_not(None)
            )
        ).all()
    listed = cli("matches", "--json")
    assert listed.code == 0, listed.err
    found = {
        (m["item"]["file_name"], m["bank"], m["signal_type"], m["distance"])
        for m in json.loads(listed.out)
    }
    return {(r.media_sha256, r.signal_type): r.value for r in rows}, found


def ingest_bank_and_scan(cli: Cli, folder: Path, known: list[Path], wipe: Path | None) -> Any:
    assert cli("bank", "create", "known").code == 0
    added = cli("bank", "add", "known", *map(str, known), "--category", "support_glorification")
    assert added.code == 0, added.err
    ingested = cli("ingest", str(folder), "--source", "channel", "--json")
    assert ingested.code == 0, ingested.err
    if wipe is not None:
        # Another machine: nothing but the database and the bucket (with media in the bucket,
        # ingest leaves no data dir at all; if anything made one, it goes).
        shutil.rmtree(wipe, ignore_errors=True)
    scanned = cli("scan", "--workers", "2", "--json")
    assert scanned.code == 0, scanned.err
    return json.loads(scanned.out)


@pytest.mark.slow
@only_on("sqlite")  # the media store is the subject; the database takes no part
def test_scan_hashes_from_the_object_store_as_from_the_folder(
    cli: Cli,
    engine: Engine,
    s3_settings: Settings,
    bucket: Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = media_folder(tmp_path / "posts")
    known = [tmp_path / "known.png", tmp_path / "known.mp4"]
    shutil.copy(paths["known.png"], known[0])
    shutil.copy(paths["clip.mp4"], known[1])

    summary = ingest_bank_and_scan(cli, tmp_path / "posts", known, wipe=s3_settings.data_dir)
    assert (summary["media_in_scope"], summary["hashed"], summary["hash_errors"]) == (11, 11, 0)
    assert not (s3_settings.data_dir / "media").exists()  # nothing was put on the local disk
    with engine.connect() as connection:
        stored = connection.execute(select(Media.path, Media.width, Media.kind)).all()
    assert bucket.keys() == sorted(f"team-a/{m.path}" for m in stored)
    assert (4000, "image") in {(m.width, m.kind) for m in stored}
    in_s3 = signals_and_matches(engine, cli)

    # The same files through the local folder store, on a database of their own.
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    for name in ("MEDIA_URL", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(f"REDLINE_{name}")
    monkeypatch.setenv("REDLINE_DATABASE_URL", local_db)
    monkeypatch.setenv("REDLINE_DATA_DIR", str(tmp_path / "local-data"))
    local_summary = ingest_bank_and_scan(cli, tmp_path / "posts", known, wipe=None)
    local_engine = create_engine(local_db)
    try:
        in_folder = signals_and_matches(local_engine, cli)
    finally:
        local_engine.dispose()

    assert local_summary["hashed"] == summary["hashed"]
    assert in_s3 == in_folder
    signals, matches = in_s3
    assert {kind for _, kind in signals} >= {"pdq", "vpdq", "md5", "sha256"}
    files = {file for file, *_ in matches}
    assert {"known.png", "reencoded.jpg", "cropped.jpg", "clip.mp4"} <= files
    assert ("clip.mp4", "known", "vpdq") in {(f, b, t) for f, b, t, _ in matches}
    assert "unrelated.jpg" not in files and "camera.jpg" not in files


def test_putting_the_same_content_twice_stores_one_object(
    s3_settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    store = media_store(s3_settings)
    photo = tmp_path / "camera.jpg"
    photo.write_bytes(large_photo())
    copy = tmp_path / "copy-with-another-name.jpeg"
    copy.write_bytes(photo.read_bytes())
    first = store_media(photo, store, s3_settings.max_media_bytes)
    second = store_media(copy, store, s3_settings.max_media_bytes)
    assert first == second
    assert first.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert bucket.keys() == [f"team-a/{first.path}"]
    assert store.read(first.path) == photo.read_bytes()
    head, size = store.head(first.path, 4)
    assert head == photo.read_bytes()[:4]
    assert size == photo.stat().st_size
    assert photo.exists() and copy.exists()  # the sources are copied, never moved
    assert store.delete(first.path) and not store.exists(first.path)
    assert not store.delete(first.path)


def test_a_missing_object_is_quarantined_by_the_scan_not_a_traceback(
    cli: Cli, engine: Engine, s3_settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    generated(3).save(folder / "kept.png")
    generated(4).save(folder / "lost.png")
    assert cli("ingest", str(folder), "--source", "channel").code == 0
    lost = hashlib.sha256((folder / "lost.png").read_bytes()).hexdigest()
    with engine.connect() as connection:
        key = connection.scalar(select(Media.path).where(Media.sha256 == lost))
    bucket.client.delete_object(Bucket=bucket.name, Key=f"team-a/{key}")

    scanned = cli("scan", "--json")
    assert scanned.code == 0, scanned.err
    summary = json.loads(scanned.out)
    assert (summary["hashed"], summary["hash_errors"]) == (1, 1)
    assert "Traceback" not in scanned.err
    held = cli("quarantine", "list", "--json")
    reasons = [q["reason"] for q in json.loads(held.out)]
    assert any(f"{key} is missing from s3://{bucket.name}/team-a/" in r for r in reasons), reasons


def test_the_console_serves_media_from_the_object_store(
    desk: Desk, s3_settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    photo = large_photo(1200, 900)
    (folder / "photo.jpg").write_bytes(photo)
    video = make_video(folder / "clip.mp4", [generated(5), generated(6)]).read_bytes()
    (folder / "post.jsonl").write_text(
        json.dumps({"id": "s3-1", "text": "synthetic post", "media": ["photo.jpg", "clip.mp4"]})
        + "\n"
    )
    from redline.ingest.run import ingest
    from redline.model.base import utcnow
    from redline.pipeline.route import CaseReason, open_item_cases

    ingest(folder / "post.jsonl", "web", engine=desk.engine, settings=s3_settings, actor="test")
    with desk.engine.begin() as connection:
        item = connection.scalar(select(Item.id).where(Item.external_id == "s3-1"))
        assert item is not None
        open_item_cases(connection, {item: CaseReason(100, "bank match")}, utcnow())
        case = connection.scalar(select(Case.id).where(Case.item_id == item))
    shutil.rmtree(s3_settings.data_dir, ignore_errors=True)  # a web machine without the files
    client = TestClient(create_app(s3_settings), follow_redirects=False)
    csrf = sign_in(client, "rev1")
    for data, mime in ((photo, "image/jpeg"), (video, "video/mp4")):
        sha = hashlib.sha256(data).hexdigest()
        preview = client.get(f"/cases/{case}/media/{sha}/preview")
        assert preview.status_code == 200 and preview.content.startswith(b"\xff\xd8")
        reveal = client.post(
            f"/cases/{case}/media/{sha}/reveal",
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert reveal.status_code == 200, reveal.text
        full = client.get(f"/cases/{case}/media/{sha}/full")
        assert full.status_code == 200 and full.content == data
        assert full.headers["content-type"] == mime

    # An object gone from the bucket: 404 with a reason, for the preview and the original.
    sha = hashlib.sha256(photo).hexdigest()
    with desk.engine.connect() as connection:
        key = connection.scalar(select(Media.path).where(Media.sha256 == sha))
    bucket.client.delete_object(Bucket=bucket.name, Key=f"team-a/{key}")
    for view in ("preview", "full"):
        gone = client.get(f"/cases/{case}/media/{sha}/{view}")
        assert gone.status_code == 404, (view, gone.text)
        assert "missing from the media store" in gone.text


def test_an_unreachable_store_is_one_line_not_a_traceback(
    cli: Cli, s3_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDLINE_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    folder = tmp_path / "posts"
    folder.mkdir()
    generated(7).save(folder / "a.png")
    done = cli("ingest", str(folder), "--source", "channel")
    assert done.code == 1
    assert done.err.startswith("redline: error: media store: object store http://127.0.0.1:9")
    assert "Traceback" not in done.err


def test_a_media_url_that_is_not_s3_is_a_usage_error(
    cli: Cli, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDLINE_MEDIA_URL", "https://bucket.example/media")
    done = cli("status")
    assert done.code == 2
    assert "REDLINE_MEDIA_URL" in done.err and "s3://bucket" in done.err


def test_a_missing_key_in_the_folder_store_says_which_file(settings: Settings) -> None:
    store = media_store(settings)
    with pytest.raises(MissingMedia, match=r"media/ab/cd/abcd\.jpg is missing from"):
        store.read("media/ab/cd/abcd.jpg")
    assert isinstance(media_store(settings.model_copy(update={"media_url": "s3://b/p"})), S3Store)
