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
    # A missing or broken photo is dropped from its message, which is stored with a warning;
    # the photo's reference goes to quarantine.
    assert (summary.stored, summary.warned) == (4, 2)
    stored = items(engine)
    assert [i["body"] for i in stored] == ["fine", "photo is missing", "broken photo", "also fine"]
    assert stored[1]["extra"]["ingest_warnings"] == [
        "media not stored: photos/gone.jpg: file not found"
    ]
    reasons = {q.location: q.reason for q in quarantined(engine)}
    assert reasons == {
        "message 2 (id 2)": "photos/gone.jpg: file not found",
        "message 3": "message has no 'id'",
        "message 4 (id 4)": "'text' must be a string or a list, got int",
        "message 5 (id 5)": reasons["message 5 (id 5)"],
        "message 6": "a message must be an object, got str",
    }
    assert reasons["message 5 (id 5)"].startswith("photos/broken.jpg: unreadable image")
    raw = {q.location: q.raw for q in quarantined(engine)}
    assert raw["message 2 (id 2)"] == b"photos/gone.jpg"  # the reference, not the file
    assert json.loads(raw["message 4 (id 4)"])["text"] == 42  # the message's own bytes


def test_a_truncated_export_keeps_every_complete_message(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    # Today's reader parsed the file whole: a file cut in half stored none of its messages.
    messages = [message(n, text=f"post number {n} café ✓") for n in range(1, 41)]
    export = {"name": "C", "type": "public_channel", "id": 1, "messages": messages}
    whole = json.dumps(export, ensure_ascii=False, indent=1).encode("utf-8")
    cut_in = whole.index(b'"id": 31,')  # in message 31, as a copy that stopped half-way leaves it
    data = whole[: cut_in + 40]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "result.json").write_bytes(data)
    summary = run_ingest(folder, "tg", engine, settings, fmt="telegram-json")
    assert (summary.stored, summary.quarantined) == (30, 1)
    assert [i["body"] for i in items(engine)] == [f"post number {n} café ✓" for n in range(1, 31)]
    (rest,) = quarantined(engine)
    start = whole.rindex(b"{", 0, cut_in)  # message 31 begins here
    assert rest.location == f"from byte {start}"
    assert rest.raw == data[start:] and rest.raw_size == len(data) - start
    assert rest.reason.startswith(f"unreadable from byte {start:,} of {len(data):,}: ")
    assert "truncated export?" in rest.reason and "the 30 messages before it" in rest.reason


def test_a_cut_inside_one_chat_of_a_whole_account_export(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    document = {
        "about": "x",
        "personal_information": {"first_name": "A"},
        "chats": {
            "about": "y",
            "list": [
                {
                    "name": "A",
                    "type": "public_channel",
                    "id": 1,
                    "messages": [message(n, text=f"A{n}") for n in range(1, 6)],
                },
                {
                    "name": "B",
                    "type": "public_channel",
                    "id": 2,
                    "messages": [message(n, text=f"B{n}") for n in range(1, 6)],
                },
            ],
        },
    }
    whole = json.dumps(document).encode()
    path = tmp_path / "result.json"
    path.write_bytes(whole[: whole.index(b'"text": "B4"') + 5])
    summary = run_ingest(path, "tg", engine, settings)
    assert [(i["external_id"], i["body"]) for i in items(engine)] == [
        *[(f"1/{n}", f"A{n}") for n in range(1, 6)],
        *[(f"2/{n}", f"B{n}") for n in range(1, 4)],
    ]
    (rest,) = quarantined(engine)
    assert rest.raw.startswith(b'{"id": 4,') and summary.quarantined == 1


def test_a_bad_byte_spoils_only_its_message_and_a_bad_date_is_dropped(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    export = {
        "name": "C",
        "id": 5,
        "messages": [
            message(1, text="before"),
            message(2, text="BAD"),
            message(3, text="bad date", date_unixtime="soon", date="not a date"),
            message(4, text="after"),
        ],
    }
    data = json.dumps(export).encode().replace(b"BAD", b"B\xffD")  # not UTF-8
    path = tmp_path / "result.json"
    path.write_bytes(data)
    summary = run_ingest(path, "tg", engine, settings, fmt="telegram-json")
    stored = items(engine)
    assert [i["body"] for i in stored] == ["before", "bad date", "after"]
    assert stored[1]["posted_at"] is None and len(stored[1]["extra"]["ingest_warnings"]) == 2
    (bad,) = quarantined(engine)
    assert bad.location == "message 2 (id 2)" and b"B\xffD" in bad.raw
    assert (summary.quarantined, summary.warned) == (1, 1)


def test_full_account_exports_with_several_chats(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    document = {
        "chats": {
            "list": [
                {"name": "A", "id": 1, "messages": [message(1, text="in A")]},
                {"name": "B", "id": 2, "messages": [message(1, text="in B")]},
            ]
        }
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    run_ingest(path, "tg", engine, settings)
    assert [(i["external_id"], i["body"]) for i in items(engine)] == [
        ("1/1", "in A"),
        ("2/1", "in B"),
    ]


def test_a_message_too_long_to_be_one_is_passed_over_and_the_rest_read(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    settings.max_field_bytes = 1000  # a message may be 8 fields of this and 1 MB more
    huge = 'x\\"\n' * 700_000  # 2.8 MB of text, escapes across every chunk boundary
    export = {
        "name": "C",
        "id": 3,
        "messages": [
            message(1, text="before"),
            message(2, text=["a", {"type": "bold", "text": huge}]),
            message(3, text="after"),
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    summary = run_ingest(path, "tg", engine, settings)
    assert [i["body"] for i in items(engine)] == ["before", "after"]
    (long,) = quarantined(engine)
    assert long.location == "message 2" and long.raw.startswith(b'{"id": 2, ')
    assert long.raw_size > 2_800_000 and "too long for a Telegram message" in long.reason
    assert summary.quarantined == 1
