"""An export's paths stay inside its folder: a file it names outside is never stored as evidence.

Before, JSONL ``media`` and Telegram ``photo``/``file`` were followed wherever they led, so
``{"id": "t", "text": "x", "media": ["/etc/passwd"]}`` made /etc/passwd (or the live database,
with its password hashes) a media file reviewers could download. Now the reference goes to
quarantine and the record is stored without it.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine, select

from redline.config import Settings
from redline.model import AuditEvent, Media
from redline.store.audit import verify
from tests.helpers import items, only_on, quarantined, run_ingest

SECRET = b"root:secret-hash:0:0\n" * 50


def _stored_media(engine: Engine, settings: Settings) -> list[bytes]:
    with engine.connect() as connection:
        paths = connection.scalars(select(Media.path)).all()
    return [(settings.data_dir / path).read_bytes() for path in paths]


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_media_outside_the_export_is_quarantined_and_the_record_kept(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    export = tmp_path / "export"
    export.mkdir()
    (export / "link.jpg").symlink_to(outside / "secret.txt")
    (export / "dir-link").symlink_to(outside)
    Image.new("RGB", (40, 30), (1, 120, 200)).save(export / "inside.png")
    references = {
        "absolute": str(outside / "secret.txt"),
        "escape": "../outside/secret.txt",
        "symlink": "link.jpg",
        "symlinked folder": "dir-link/secret.txt",
        "system": "/etc/passwd",
    }
    if settings.database_url.startswith("sqlite"):
        references["database"] = settings.database_url.removeprefix("sqlite:///")
        assert Path(references["database"]).stat().st_size > 0
    records: list[dict[str, object]] = [
        {"id": name, "text": f"post {name}", "media": [reference]}
        for name, reference in references.items()
    ]
    records.append({"id": "fine", "text": "post fine", "media": ["inside.png", "escape/../../x"]})
    summary = run_ingest(_jsonl(export / "posts.jsonl", records), "j", engine, settings)

    # Every record is stored, with its text; only the photo inside the folder became media.
    stored = {i["external_id"]: i for i in items(engine)}
    assert {name: item["body"] for name, item in stored.items()} == {
        name: f"post {name}" for name in [*references, "fine"]
    }
    assert _stored_media(engine, settings) == [(export / "inside.png").read_bytes()]
    assert summary.stored == len(records) and summary.warned == len(records)
    for name, reference in references.items():
        (warning,) = stored[name]["extra"]["ingest_warnings"]
        assert warning.startswith(f"media not stored: {reference}: ")
    # The quarantine holds each reference with why, never the bytes of the file it names.
    refused = {q.raw.decode(): q for q in quarantined(engine)}
    assert set(refused) == {*references.values(), "escape/../../x"}
    for reference, entry in refused.items():
        assert entry.reason == f"{reference}: path leads outside the export's folder"
        assert entry.file == str(export / "posts.jsonl")
    assert refused["/etc/passwd"].location == "line 5"
    assert refused["escape/../../x"].location == f"line {len(records)} media 2"


@only_on("sqlite")  # only SQLite keeps its database in a file
def test_the_live_database_inside_the_export_folder_is_never_read(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    # The export sits in the same folder as the database: containment alone would allow it.
    path = _jsonl(
        database.parent / "posts.jsonl",
        [
            {"id": n, "text": "x", "media": [database.name + suffix]}
            for n, suffix in enumerate(["", "-wal", "-journal"])
        ],
    )
    (database.parent / (database.name + "-journal")).write_bytes(SECRET)
    summary = run_ingest(path, "j", engine, settings)
    assert summary.stored == 3 and _stored_media(engine, settings) == []
    reasons = sorted(q.reason for q in quarantined(engine))
    assert reasons == [
        "redline.db-journal: path names redline's own database",
        "redline.db-wal: path names redline's own database",
        "redline.db: path names redline's own database",
    ]


def test_telegram_photos_and_files_outside_the_export(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    (tmp_path / "secret.jpg").write_bytes(SECRET)
    export = tmp_path / "export"
    (export / "photos").mkdir(parents=True)
    (export / "photos" / "photo_1.jpg").symlink_to(tmp_path / "secret.jpg")
    messages = [
        {"id": 1, "type": "message", "text": "one", "photo": "photos/photo_1.jpg"},
        {"id": 2, "type": "message", "text": "two", "file": "../secret.jpg"},
        {"id": 3, "type": "message", "text": "three", "file": str(tmp_path / "secret.jpg")},
    ]
    (export / "result.json").write_text(json.dumps({"name": "C", "id": 9, "messages": messages}))
    summary = run_ingest(export, "tg", engine, settings)
    assert [i["body"] for i in items(engine)] == ["one", "two", "three"]
    assert _stored_media(engine, settings) == [] and len(quarantined(engine)) == 3
    # Three records stored without their media: each counted once, the media files apart.
    assert (summary.records, summary.stored, summary.quarantined) == (3, 3, 0)
    assert (summary.media_refused, summary.warned) == (3, 3)
    assert all(
        q.raw in {b"photos/photo_1.jpg", b"../secret.jpg", str(tmp_path / "secret.jpg").encode()}
        for q in quarantined(engine)
    )


def test_media_folder_symlinks_and_sidecars_that_lead_outside(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    (tmp_path / "secret.png").write_bytes(SECRET)
    (tmp_path / "secret.json").write_bytes(SECRET)
    folder = tmp_path / "media"
    folder.mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(folder / "good.png")
    (folder / "leak.png").symlink_to(tmp_path / "secret.png")
    (folder / "notes.txt").symlink_to(tmp_path / "secret.png")
    (folder / "good.png.json").write_text(
        json.dumps({"id": "g", "text": "poster", "media": ["../secret.png"]})
    )
    Image.new("RGB", (40, 30), (10, 200, 10)).save(folder / "other.png")
    (folder / "other.png.json").symlink_to(tmp_path / "secret.json")
    summary = run_ingest(folder, "m", engine, settings, fmt="media-dir")
    assert [(i["external_id"], i["body"]) for i in items(engine)] == [("g", "poster")]
    assert _stored_media(engine, settings) == [(folder / "good.png").read_bytes()]
    entries = quarantined(engine)
    assert summary.quarantined + summary.media_refused == len(entries) == 4
    assert summary.media_refused == 1  # good.png's sidecar names ../secret.png; the record stays
    assert all(SECRET[:20] not in q.raw for q in entries)
    assert sorted(q.raw for q in entries) == [
        b"../secret.png",
        b"leak.png",
        b"notes.txt",
        b"other.png.json",
    ]


def test_paths_and_ids_that_are_not_unicode_are_refused_not_a_crash(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    # JSON can spell a lone surrogate; no file system or database can take one.
    path = tmp_path / "posts.jsonl"
    path.write_text('{"id": 1, "text": "x", "media": ["\\ud800.png"]}\n', encoding="utf-8")
    assert run_ingest(path, "j", engine, settings).stored == 1
    (entry,) = quarantined(engine)
    assert entry.reason == "\\xed\\xa0\\x80.png: path is not valid Unicode (an unpaired surrogate)"
    export = tmp_path / "export"
    export.mkdir()
    (export / "result.json").write_text(
        '{"name": "C", "id": 1, "messages": [{"id": "\\ud800", "type": "message", "text": "a"}]}'
    )
    assert run_ingest(export, "tg", engine, settings).quarantined == 1
    assert quarantined(engine)[-1].location == "message 1 (id \\xed\\xa0\\x80)"


def test_a_nul_in_a_message_id_is_quarantined_and_the_run_audited(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    # Found by the Telegram fuzzer: the run's audit event quotes the problem's place, and
    # PostgreSQL's JSONB refused its NUL, so the whole ingest failed.
    export = tmp_path / "export"
    export.mkdir()
    messages = [{"id": "\u0000", "type": "message", "text": "a"}, {"id": 2, "text": "b"}]
    (export / "result.json").write_text(json.dumps({"name": "C", "id": 1, "messages": messages}))
    summary = run_ingest(export, "tg", engine, settings)
    assert (summary.stored, summary.quarantined) == (1, 1)
    assert quarantined(engine)[-1].location == "message 1 (id \\x00)"
    with engine.connect() as connection:
        detail = connection.scalar(select(AuditEvent.detail).where(AuditEvent.action == "ingest"))
        assert verify(connection).broken is None
    where = export / "result.json"
    assert detail["problems"] == [f"{where} message 1 (id \\x00): id contains NUL characters"]
