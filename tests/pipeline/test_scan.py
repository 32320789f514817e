"""``redline scan``: hashes once, matches what changed, stores matches once, opens one case per item."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import Engine, func, select

from redline import banks
from redline.config import Settings
from redline.index.store import IndexStore
from redline.model import Case, Match, Signal
from redline.model.base import utcnow
from redline.pipeline.scan import scan
from redline.store.matches import list_matches
from redline.store.media import FolderStore
from tests.helpers import quarantined, run_ingest
from tests.media_fixtures import generated, make_video, photo


def run_scan(engine: Engine, settings: Settings, **kwargs: object):  # type: ignore[no-untyped-def]
    return scan(
        engine, settings, IndexStore(engine, settings.data_dir), actor="test", workers=2, **kwargs
    )  # type: ignore[arg-type]


def watermarked(image: Image.Image) -> Image.Image:
    from PIL import ImageDraw

    marked = image.copy()
    ImageDraw.Draw(marked).text((300, 20), "reposted", fill=(255, 255, 0), font_size=40)
    return marked


def build_folder(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    known = photo("astronaut")
    files = {
        "known.png": known,
        "reencoded.jpg": known,
        "smaller.jpg": known.resize((256, 256)),
        "watermarked.jpg": watermarked(known),
        "cropped.jpg": known.crop((26, 26, 486, 486)),  # 5% off each side
        "letterboxed.jpg": ImageOps.expand(known, border=(0, 60), fill=(0, 0, 0)),
        "mirrored.jpg": ImageOps.mirror(known),
        "unrelated.jpg": photo("coffee"),
        "other.png": generated(9),
    }
    paths = {}
    for name, image in files.items():
        paths[name] = folder / name
        image.save(paths[name], quality=80) if name.endswith(".jpg") else image.save(paths[name])
    return paths


def matched_files(engine: Engine) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in list_matches(engine):
        out.setdefault(row.file_name or "", set()).add(row.signal_type)
    return out


def test_scan_finds_known_media_and_its_altered_copies(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    paths = build_folder(tmp_path / "posts")
    run_ingest(tmp_path / "posts", "channel", engine, settings)
    known = banks.hash_media(FolderStore(settings.data_dir), paths["known.png"])
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_media(
            connection, "known", known, actor="t", now=utcnow(), category="support_glorification"
        )
    summary = run_scan(engine, settings)
    assert (summary.media_in_scope, summary.hashed, summary.hash_errors) == (9, 9, 0)
    found = matched_files(engine)
    assert found["known.png"] == {"pdq", "md5", "sha256"}
    for name in ("reencoded.jpg", "smaller.jpg", "watermarked.jpg"):
        assert found[name] == {"pdq"}, name
    assert found["cropped.jpg"] == {"pdq_crop"}
    assert found["letterboxed.jpg"] == {"pdq"}  # through its border-trimmed hash
    assert "mirrored.jpg" not in found  # dihedral matching is off for this bank
    assert "unrelated.jpg" not in found and "other.png" not in found
    with engine.connect() as connection:
        cases = connection.execute(select(Case.priority, Case.reason, Case.status)).all()
    assert len(cases) == 6 and {c.status for c in cases} == {"open"}
    assert all(c.priority == 100 and "matches bank known" in c.reason for c in cases)
    again = run_scan(engine, settings)
    assert (again.hashed, again.signals_matched, again.new_matches, again.cases_opened) == (
        0,
        0,
        0,
        0,
    )


def test_bank_changes_are_matched_on_the_next_scan(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    paths = build_folder(tmp_path / "posts")
    run_ingest(tmp_path / "posts", "channel", engine, settings)
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", dihedral=True, now=utcnow())
    assert run_scan(engine, settings).new_matches == 0
    known = banks.hash_media(FolderStore(settings.data_dir), paths["known.png"])
    with engine.begin() as connection:
        banks.add_media(connection, "known", known, actor="t", now=utcnow())
    summary = run_scan(engine, settings)
    assert summary.signals_matched > 0 and summary.new_matches > 0
    found = matched_files(engine)
    assert found["mirrored.jpg"] == {"pdq"}  # dihedral on: the mirrored copy matches
    with engine.connect() as connection:
        detail = connection.scalar(
            select(Match.detail)
            .where(Match.signal_type == "pdq", Match.distance > 0)
            .order_by(Match.distance.desc())
        )
    details = [m.detail for m in list_matches(engine) if m.file_name == "mirrored.jpg"]
    assert [(d or {}).get("transform") for d in details] == ["mirror"] and detail is not None


def test_videos_match_by_vpdq_and_md5(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    frames = [generated(i) for i in range(5)]
    original = make_video(folder / "original.mp4", frames)
    make_video(folder / "smaller.mp4", frames, scale="320:240")
    make_video(folder / "other.mp4", [generated(i) for i in range(30, 35)])
    (folder / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    run_ingest(folder, "videos", engine, settings)
    with engine.begin() as connection:
        banks.create_bank(connection, "known-video", actor="t", now=utcnow())
    known = banks.hash_media(FolderStore(settings.data_dir), original)
    with engine.begin() as connection:
        banks.add_media(connection, "known-video", known, actor="t", now=utcnow())
    summary = run_scan(engine, settings)
    assert (summary.hashed, summary.hash_errors) == (3, 1)
    found = matched_files(engine)
    assert found["original.mp4"] == {"vpdq", "md5", "sha256"}
    assert found["smaller.mp4"] == {"vpdq"}
    assert "other.mp4" not in found
    (bad,) = quarantined(engine)
    assert bad.file == "corrupt.mp4" and bad.reason.startswith("unreadable video")
    again = run_scan(engine, settings)
    assert (again.hashed, again.hash_errors) == (0, 0)  # a broken file is not retried forever
    with engine.connect() as connection:
        marker = connection.execute(
            select(Signal.meta).where(Signal.value == "", Signal.signal_type == "vpdq")
        ).scalar_one()
    assert marker["error"].startswith("unreadable video")


def test_scan_scope_and_cli(engine: Engine, settings: Settings, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    paths = build_folder(tmp_path / "a")
    run_ingest(tmp_path / "a", "a", engine, settings)
    other = tmp_path / "b"
    other.mkdir()
    Image.open(paths["reencoded.jpg"]).save(other / "copy.jpg", quality=70)
    run_ingest(other, "b", engine, settings)
    assert cli("bank", "create", "known").code == 0
    assert cli("bank", "add", "known", str(paths["known.png"]), "--category", "x").code == 0
    result = cli("scan", "--source", "b", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["media_in_scope"] == 1
    rows = json.loads(cli("matches", "--json").out)
    assert [
        (r["item"]["source"], r["item"]["file_name"], r["bank"], r["label"], r["signal_type"])
        for r in rows
    ] == [("b", "copy.jpg", "known", "x", "pdq")]
    assert cli("scan", "--source", "nope").code == 2
    assert cli("scan", "--since", "yesterday").code == 2
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Case)) == 1
