"""Telegram exports: entities round-trip, photos become Media, bad messages go to quarantine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, select

from redline.config import Settings
from redline.model import ItemMedia, Media
from tests.helpers import items, quarantined, run_ingest

ENTITY_TEXT: list[Any] = [
    {"type": "bold", "text": "Notice: "},
    "the library opens late ",
    {"type": "hashtag", "text": "#thursday"},
    " ",
    {"type": "text_link", "text": "details", "href": "https://example.org/library"},
    " ",
    {"type": "mention", "text": "@town_notices"},
]


def make_export(
    folder: Path, messages: list[dict[str, Any]], photos: dict[str, tuple[int, int, int]]
) -> Path:
    (folder / "photos").mkdir(parents=True)
    for name, colour in photos.items():
        Image.new("RGB", (64, 48), colour).save(folder / "photos" / name, quality=90)
    export = {"name": "Demo Channel", "type": "public_channel", "id": 777, "messages": messages}
    (folder / "result.json").write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return folder


def message(ident: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "type": "message",
        "date": "2024-05-01T10:00:00",
        "date_unixtime": "1714557600",
        "from": "Demo Channel",
        "from_id": "channel777",
        "text": "",
        **fields,
    }


def test_text_entities_and_photos_round_trip(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    export = make_export(
        tmp_path / "export",
        [
            {
                "id": 1,
                "type": "service",
                "date": "2024-05-01T09:00:00",
                "action": "create_channel",
                "text": "",
            },
            message(2, text=ENTITY_TEXT, photo="photos/photo_1.jpg"),
            message(3, text="plain text, same photo again", photo="photos/photo_1.jpg"),
            message(
                4, text="a second photo", photo="photos/photo_2.jpg", forwarded_from="Other Channel"
            ),
            message(
                5,
                text="video left out",
                file="(File not included. Change data exporting settings to download.)",
                media_type="video_file",
            ),
        ],
        {"photo_1.jpg": (200, 30, 30), "photo_2.jpg": (30, 30, 200)},
    )
    summary = run_ingest(export, "tg", engine, settings)
    assert (summary.format, summary.stored, summary.skipped, summary.quarantined) == (
        "telegram-json",
        4,
        1,
        0,
    )
    stored = {i["external_id"]: i for i in items(engine)}
    assert list(stored) == ["777/2", "777/3", "777/4", "777/5"]
    first = stored["777/2"]
    flat = "Notice: the library opens late #thursday details @town_notices"
    assert first["body"] == flat
    entities = first["extra"]["entities"]
    assert [(e["type"], e["text"]) for e in entities] == [
        ("bold", "Notice: "),
        ("hashtag", "#thursday"),
        ("text_link", "details"),
        ("mention", "@town_notices"),
    ]
    for entity in entities:
        assert flat[entity["offset"] : entity["offset"] + len(entity["text"])] == entity["text"]
    assert entities[2]["href"] == "https://example.org/library"
    assert first["extra"]["chat"] == "Demo Channel"
    assert (first["account"], first["account_name"]) == ("channel777", "Demo Channel")
    assert first["posted_at"].isoformat() == "2024-05-01T10:00:00+00:00"
    assert stored["777/4"]["extra"]["forwarded_from"] == "Other Channel"
    assert stored["777/5"]["extra"]["media_not_exported"] == ["file"]

    with engine.connect() as connection:
        media = connection.execute(select(Media)).all()
        links = connection.execute(
            select(ItemMedia.item_id, ItemMedia.media_sha256, ItemMedia.original_name)
        ).all()
    assert len(media) == 2  # the photo posted twice is stored once
    assert len(links) == 3
    original = (export / "photos" / "photo_1.jpg").read_bytes()
    digest = hashlib.sha256(original).hexdigest()
    (photo,) = [m for m in media if m.sha256 == digest]
    assert (photo.kind, photo.mime, photo.width, photo.height) == ("image", "image/jpeg", 64, 48)
    assert (settings.data_dir / photo.path).read_bytes() == original
    assert photo.md5 == hashlib.md5(original).hexdigest()
    assert {name for _, _, name in links} == {"photos/photo_1.jpg", "photos/photo_2.jpg"}


def test_bad_messages_are_quarantined_and_the_rest_stored(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    export = make_export(
        tmp_path / "export",
        [
            message(1, text="fine"),
            message(2, text="photo is missing", photo="photos/gone.jpg"),
            {"type": "message", "text": "no id"},
            message(4, text=42),
            message(5, text="broken photo", photo="photos/broken.jpg"),
            "not an object",
            message(7, text="also fine"),
        ],
        {},
    )
    (export / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    summary = run_ingest(export, "tg", engine, settings)
    assert summary.stored == 2
    assert [i["body"] for i in items(engine)] == ["fine", "also fine"]
    reasons = {q.location: q.reason for q in quarantined(engine)}
    assert reasons == {
        "message 2 (id 2)": "photos/gone.jpg: file not found",
        "message 3": "message has no 'id'",
        "message 4 (id 4)": "'text' must be a string or a list, got int",
        "message 5 (id 5)": reasons["message 5 (id 5)"],
        "message 6": "a message must be an object, got str",
    }
    assert reasons["message 5 (id 5)"].startswith("photos/broken.jpg: unreadable image")
    raw = {q.location: json.loads(q.raw) for q in quarantined(engine)}
    assert raw["message 2 (id 2)"]["photo"] == "photos/gone.jpg"


def test_a_truncated_export_is_one_clear_quarantine_record(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    data = json.dumps({"name": "C", "id": 1, "messages": [message(1, text="x")]}).encode()[:-20]
    (folder / "result.json").write_bytes(data)
    summary = run_ingest(folder, "tg", engine, settings, fmt="telegram-json")
    assert summary.stored == 0
    (bad,) = quarantined(engine)
    assert (
        bad.location == "whole file"
        and "not valid JSON" in bad.reason
        and "truncated export?" in bad.reason
    )
    assert bad.raw == data


def test_full_account_exports_with_several_chats(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    document = {"chats": {"list": [
        {"name": "A", "id": 1, "messages": [message(1, text="in A")]},
        {"name": "B", "id": 2, "messages": [message(1, text="in B")]},
    ]}}  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    run_ingest(path, "tg", engine, settings)
    assert [(i["external_id"], i["body"]) for i in items(engine)] == [
        ("1/1", "in A"),
        ("2/1", "in B"),
    ]
