"""Folders of media: images and videos stored by content, sidecars read, bad files quarantined."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine, select

from redline.config import Settings
from redline.model import Media
from tests.helpers import items, quarantined, run_ingest
from tests.media_fixtures import png_claiming


def test_images_videos_and_sidecars(tmp_path: Path, engine: Engine, settings: Settings) -> None:
    folder = tmp_path / "media"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (80, 60), (255, 0, 0)).save(folder / "red.jpg", quality=90)
    Image.new("CMYK", (40, 40), (0, 255, 0, 0)).save(folder / "cmyk.jpg")
    Image.new("I;16", (40, 40), 40000).save(folder / "sixteen.png")
    Image.new("RGBA", (40, 40), (0, 0, 255, 128)).save(folder / "alpha.png")
    frames = [Image.new("P", (30, 30), i) for i in (1, 2, 3)]
    frames[0].save(
        folder / "sub" / "anim.gif", save_all=True, append_images=frames[1:], duration=100
    )
    (folder / "clip.mp4").write_bytes(
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200
    )
    (folder / "copy-of-red.jpg").write_bytes((folder / "red.jpg").read_bytes())
    (folder / "red.jpg.json").write_text(
        json.dumps({"id": "poster-7", "text": "Poster", "account": "a"})
    )
    (folder / ".DS_Store").write_bytes(b"ignored")
    summary = run_ingest(folder, "m", engine, settings)
    assert (summary.format, summary.stored, summary.quarantined) == ("media-dir", 7, 0)
    stored = {i["external_id"]: i for i in items(engine)}
    assert set(stored) == {
        "alpha.png",
        "clip.mp4",
        "cmyk.jpg",
        "copy-of-red.jpg",
        "poster-7",
        "sixteen.png",
        "sub/anim.gif",
    }
    assert stored["poster-7"]["body"] == "Poster" and stored["poster-7"]["account"] == "a"
    with engine.connect() as connection:
        media = list(connection.execute(select(Media)))
    assert len(media) == 6  # the byte-identical copy of red.jpg is stored once
    kinds = sorted((m.kind, m.mime, m.width, m.height) for m in media)
    assert kinds == [
        ("image", "image/gif", 30, 30),
        ("image", "image/jpeg", 40, 40),
        ("image", "image/jpeg", 80, 60),
        ("image", "image/png", 40, 40),
        ("image", "image/png", 40, 40),
        ("video", "video/mp4", None, None),
    ]


def test_bad_files_are_quarantined_with_reasons(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    Image.new("RGB", (50, 50), (1, 2, 3)).save(folder / "good.png")
    good = (folder / "good.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "bomb.png").write_bytes(png_claiming(50_000, 50_000))
    (folder / "notes.txt").write_text("not media")
    (folder / "fake.mp4").write_text("not a video container")
    (folder / "bad-sidecar.png").write_bytes(good)
    (folder / "bad-sidecar.png.json").write_text("{broken")
    summary = run_ingest(folder, "m", engine, settings)
    assert [i["external_id"] for i in items(engine)] == ["good.png"]
    assert summary.quarantined == 6
    reasons = {Path(q.file).name: q.reason for q in quarantined(engine)}
    assert reasons["truncated.png"].startswith("truncated.png: unreadable image")
    assert reasons["empty.jpg"] == "empty.jpg: empty file (0 bytes)"
    assert reasons["bomb.png"].startswith("bomb.png: refused as a decompression bomb")
    assert reasons["notes.txt"] == "not an image or video (.txt)"
    assert reasons["fake.mp4"].startswith("fake.mp4: unreadable video")
    assert reasons["bad-sidecar.png"].startswith("sidecar bad-sidecar.png.json: not valid JSON")
    raw = {Path(q.file).name: q.raw for q in quarantined(engine)}
    assert raw["truncated.png"] == good[: len(good) // 2]
    assert not list(
        (settings.data_dir / "media" / "incoming").iterdir()
    )  # no half-stored files left
