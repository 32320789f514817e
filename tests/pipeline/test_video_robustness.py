"""Videos re-uploaded letterboxed, cropped, mirrored or inside a longer upload still match their
bank entry through ``redline scan``, with the matched time ranges; distinct videos do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from redline import banks
from redline.config import Settings
from redline.index.store import IndexStore
from redline.model import BankSignal
from redline.model.base import utcnow
from redline.pipeline.scan import scan
from redline.signals import vpdq_crop
from redline.store.matches import list_matches
from redline.store.media import FolderStore
from tests.helpers import only_on, run_ingest
from tests.media_fixtures import joined, panned_video, refilmed

KNOWN = ["astronaut", "coffee", "chelsea", "rocket"]
OTHER = ["camera", "coins", "moon", "page"]
FILLER = ["retina", "hubble_deep_field"]
LETTERBOX = "pad=iw:iw*3/4:0:(oh-ih)/2:black"  # 16:9 to 4:3 with black bars


def run_scan(engine: Engine, settings: Settings) -> None:
    scan(engine, settings, IndexStore(engine, settings.data_dir), actor="test", workers=2)


def bank_video(engine: Engine, settings: Settings, path: Path, *bank_names: str) -> list[int]:
    """Bank a video file as ``redline bank add`` does, in each of ``bank_names``."""
    known = banks.hash_media(FolderStore(settings.data_dir), path)
    with engine.begin() as connection:
        return [
            banks.add_media(connection, name, known, actor="t", now=utcnow()).id
            for name in bank_names
        ]


def matches_by_file(engine: Engine) -> dict[str, dict[str, dict[str, Any]]]:
    """file -> bank -> the vPDQ match's detail."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in list_matches(engine):
        if row.signal_type == "vpdq":
            out.setdefault(row.file_name or "", {})[row.bank] = row.detail or {}
    return out


def crop_variants(engine: Engine, entry_id: int) -> list[str]:
    with engine.connect() as connection:
        metas = connection.scalars(
            select(BankSignal.meta).where(
                BankSignal.entry_id == entry_id,
                BankSignal.signal_type == vpdq_crop.VpdqCropSignal.name,
            )
        ).all()
    return sorted(m["crop"] for m in metas)


def test_letterboxed_cropped_mirrored_and_longer_uploads_match_with_their_time_ranges(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    made = tmp_path / "made"
    made.mkdir()
    original = panned_video(made / "original.mp4", KNOWN, 8)
    posts = tmp_path / "posts"
    posts.mkdir()
    refilmed(original, posts / "letterboxed.mp4", LETTERBOX)
    refilmed(original, posts / "cropped.mp4", "crop=iw*0.9:ih*0.9")  # 10%: 5% off each side
    refilmed(original, posts / "mirrored.mp4", "hflip")
    filler = panned_video(made / "filler.mp4", FILLER, 6)
    joined(filler, original, posts / "longer.mp4")  # the banked video from second 6 on
    panned_video(posts / "distinct.mp4", OTHER, 8)
    run_ingest(posts, "posts", engine, settings)
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.create_bank(connection, "known-dihedral", actor="t", now=utcnow(), dihedral=True)
    plain_entry, _dihedral_entry = bank_video(engine, settings, original, "known", "known-dihedral")
    # Bank time: the crop grid's frames are kept beside vPDQ (and the frames without uniform
    # borders when any frame has some: a dark sky or a plain wall edge counts, as for photos).
    variants = crop_variants(engine, plain_entry)
    assert set(variants) - {"trimmed"} == {name for name, *_ in vpdq_crop.CROPS}

    run_scan(engine, settings)
    found = matches_by_file(engine)
    assert set(found) == {"letterboxed.mp4", "cropped.mp4", "mirrored.mp4", "longer.mp4"}
    assert set(found["letterboxed.mp4"]) == {"known", "known-dihedral"}
    assert found["letterboxed.mp4"]["known"]["transform"] == "trimmed"
    assert set(found["cropped.mp4"]) == {"known", "known-dihedral"}
    # A mirror matches only where the bank asks for dihedral matching.
    assert set(found["mirrored.mp4"]) == {"known-dihedral"}
    assert found["mirrored.mp4"]["known-dihedral"]["transform"] == "mirror"

    longer = found["longer.mp4"]["known"]
    assert longer["contained"] is True and longer["compared_match_percent"] >= 80
    assert longer["query_match_percent"] < 80  # plain vPDQ's rule alone would miss it
    segment = longer["segments"][0]
    got = (segment["start"], segment["end"], segment["banked_start"], segment["banked_end"])
    for value, expected in zip(got, (6.0, 13.0, 0.0, 7.0), strict=True):
        assert abs(value - expected) <= 1.0, got
    for name in ("letterboxed.mp4", "cropped.mp4"):
        segment = found[name]["known"]["segments"][0]
        assert abs(segment["start"] - segment["banked_start"]) <= 1.0
        assert segment["end"] - segment["start"] >= 6.0


def test_a_letterboxed_banked_video_keeps_its_trimmed_frames(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    made = tmp_path / "made"
    made.mkdir()
    plain = panned_video(made / "plain.mp4", KNOWN, 6)
    letterboxed = refilmed(plain, made / "letterboxed.mp4", LETTERBOX)
    posts = tmp_path / "posts"
    posts.mkdir()
    refilmed(plain, posts / "reposted.mp4", "scale=iw:ih")  # the picture without the bars
    run_ingest(posts, "posts", engine, settings)
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
    (entry,) = bank_video(engine, settings, letterboxed, "known")
    assert "trimmed" in crop_variants(engine, entry)
    assert len(crop_variants(engine, entry)) == len(vpdq_crop.CROPS) + 1
    run_scan(engine, settings)
    assert set(matches_by_file(engine)) == {"reposted.mp4"}


@only_on("sqlite")
def test_a_realistic_size_video_inside_a_longer_letterboxed_upload(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """30 s at 640x360 banked; the upload is 10 s of something else, then the banked video
    letterboxed to 4:3: found by containment of its trimmed frames, at the right times."""
    made = tmp_path / "made"
    made.mkdir()
    original = panned_video(made / "original.mp4", KNOWN + OTHER[:2], 30, size=(640, 360))
    filler = panned_video(made / "filler.mp4", FILLER, 10, size=(640, 480))
    posts = tmp_path / "posts"
    posts.mkdir()
    joined(filler, refilmed(original, made / "boxed.mp4", LETTERBOX), posts / "upload.mp4")
    panned_video(posts / "distinct.mp4", ["immunohistochemistry", "clock", "cell"], 30, (640, 360))
    run_ingest(posts, "posts", engine, settings)
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
    bank_video(engine, settings, original, "known")
    run_scan(engine, settings)
    found = matches_by_file(engine)
    assert set(found) == {"upload.mp4"}
    detail = found["upload.mp4"]["known"]
    assert detail["transform"] == "trimmed" and detail["contained"] is True
    segment = detail["segments"][0]
    got = (segment["start"], segment["end"], segment["banked_start"], segment["banked_end"])
    for value, expected in zip(got, (10.0, 39.0, 0.0, 29.0), strict=True):
        assert abs(value - expected) <= 1.0, got
