"""Banks: create, change, fill by hash and by file, import and export hash lists; all audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from redline import banks
from redline.config import Settings
from redline.model import AuditEvent, Media
from redline.model.base import utcnow
from redline.signals import BadSignal, vpdq_crop
from redline.store.media import FolderStore
from tests.helpers import quarantined
from tests.media_fixtures import generated, make_video, photo

H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
H2 = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"


def audit(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("bank%")).order_by(AuditEvent.id)
            )
        )


def test_bank_life_cycle_is_audited(engine: Engine) -> None:
    with engine.begin() as connection:
        created = banks.create_bank(
            connection, "known-media", actor="alice", description="confirmed items", now=utcnow()
        )
    assert (created.name, created.enabled, created.pdq_threshold, created.entries) == (
        "known-media",
        True,
        31,
        0,
    )
    with pytest.raises(banks.BankExists), engine.begin() as connection:
        banks.create_bank(connection, "known-media", actor="alice", now=utcnow())
    for bad in ("", "-dash-first", "has space", "x" * 101):
        with pytest.raises(ValueError, match="bad bank name"), engine.begin() as connection:
            banks.create_bank(connection, bad, actor="alice", now=utcnow())
    with engine.begin() as connection:
        changed = banks.update_bank(
            connection,
            "known-media",
            {"pdq_threshold": 20, "dihedral": True},
            actor="bob",
            now=utcnow(),
        )
    assert (changed.pdq_threshold, changed.dihedral, changed.version) == (20, True, 1)
    with engine.begin() as connection:
        renamed = banks.update_bank(
            connection, "known-media", {"name": "known"}, actor="bob", now=utcnow()
        )
    with engine.connect() as connection:
        assert renamed.name == "known" and [b.name for b in banks.list_banks(connection)] == [
            "known"
        ]
    with pytest.raises(banks.UnknownBank), engine.connect() as connection:
        banks.get_bank(connection, "known-media")
    with engine.begin() as connection:
        assert banks.delete_bank(connection, "known", actor="carol") is True
    with engine.begin() as connection:
        assert banks.delete_bank(connection, "known", actor="carol") is False
    events = [(e.actor, e.action, e.before, e.after) for e in audit(engine)]
    assert [(actor, action) for actor, action, *_ in events] == [
        ("alice", "bank.create"),
        ("bob", "bank.update"),
        ("bob", "bank.update"),
        ("carol", "bank.delete"),
    ]
    assert events[1][2] == {"pdq_threshold": 31, "dihedral": False}
    assert events[1][3] == {"pdq_threshold": 20, "dihedral": True}


def test_entries_by_hash_and_by_file(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    with engine.begin() as connection:
        entry = banks.add_entry(
            connection,
            "b",
            {"pdq": H1.upper(), "md5": "D41D8CD98F00B204E9800998ECF8427E"},
            actor="t",
            category="support_glorification",
            source_org="partner",
            now=utcnow(),
        )
    assert entry.signals == {"pdq": [H1], "md5": ["d41d8cd98f00b204e9800998ecf8427e"]}
    with pytest.raises(BadSignal, match="expected 64 hex digits"), engine.begin() as connection:
        banks.add_entry(connection, "b", {"pdq": "abc"}, actor="t", now=utcnow())
    with pytest.raises(BadSignal, match="unknown signal type"), engine.begin() as connection:
        banks.add_entry(connection, "b", {"phash": H1}, actor="t", now=utcnow())
    image = tmp_path / "poster.jpg"
    photo("rocket").save(image, quality=92)
    hashed = banks.hash_media(FolderStore(settings.data_dir), image)
    with engine.begin() as connection:
        from_file = banks.add_media(
            connection, "b", hashed, actor="t", now=utcnow(), note="from a takedown"
        )
    assert set(from_file.signals) == {"pdq", "pdq_crop", "md5", "sha256"}
    from redline.signals.pdq_crop import PdqCropSignal

    distinct_crops = {h.value for h in PdqCropSignal.compute(image)}  # two crops may hash alike
    assert set(from_file.signals["pdq_crop"]) == distinct_crops and len(distinct_crops) >= 60
    assert from_file.qualities["pdq"] == 100
    assert from_file.provenance == {"file": "poster.jpg"}
    with engine.connect() as connection:
        stored = connection.execute(
            select(Media.kind, Media.path).where(Media.sha256 == from_file.media_sha256)
        ).one()
    assert (
        stored.kind == "image"
        and (settings.data_dir / stored.path).read_bytes() == image.read_bytes()
    )
    video = make_video(tmp_path / "clip.mp4", [generated(i) for i in range(3)])
    with engine.begin() as connection:
        from_video = banks.add_media(
            connection,
            "b",
            banks.hash_media(FolderStore(settings.data_dir), video),
            actor="t",
            now=utcnow(),
        )
    assert set(from_video.signals) == {"vpdq", "vpdq_crop", "md5", "video_md5", "sha256"}
    # One vPDQ hash per re-framing of the crop grid (generated slides have no borders to trim).
    assert len(from_video.signals["vpdq_crop"]) == len(vpdq_crop.CROPS)
    flat = tmp_path / "flat.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (128, 128, 128)).save(flat)
    with pytest.raises(BadSignal, match="quality 0 is below 50"):
        banks.hash_media(FolderStore(settings.data_dir), flat)
    with engine.begin() as connection:
        disabled = banks.set_entry_enabled(connection, entry.id, False, actor="t", now=utcnow())
    assert disabled.enabled is False
    with engine.connect() as connection:
        assert banks.get_bank(connection, "b").signals["pdq"] == 2


def test_import_reads_threatexchange_csv_json_and_plain_lists(
    engine: Engine, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "shared", actor="t", now=utcnow())
    te_csv = tmp_path / "dataset.csv"
    te_csv.write_text(
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{H1},Partner Org,POSITIVE_CLASS,logo flag\n"
        "pdq,not-a-hash,Partner Org,,\n"
        f"video_md5,D41D8CD98F00B204E9800998ECF8427E,Partner Org,,\n"
        "pdq\n",
        encoding="utf-8",
    )
    with engine.begin() as connection:
        summary = banks.import_file(connection, "shared", te_csv, actor="t", now=utcnow())
    assert (summary.format, summary.added, summary.quarantined, summary.duplicates) == (
        "csv",
        2,
        2,
        0,
    )
    reasons = {q.location: q.reason for q in quarantined(engine)}
    assert reasons["line 3"] == "invalid PDQ hash 'not-a-hash': expected 64 hex digits"
    assert reasons["line 5"] == "row has a different number of fields than the header"
    assert all(q.bank_id is not None and q.source_id is None for q in quarantined(engine))
    with engine.begin() as connection:
        again = banks.import_file(connection, "shared", te_csv, actor="t", now=utcnow())
    assert (again.added, again.duplicates) == (0, 2)  # importing twice changes nothing
    plain = tmp_path / "hashes.txt"
    plain.write_text(
        f"# one per line\n{H2}\npdq {H1}\nsha256 {'ab' * 32}\nphash 1234\n", encoding="utf-8"
    )
    with engine.begin() as connection:
        summary = banks.import_file(connection, "shared", plain, actor="t", now=utcnow())
    assert (summary.format, summary.added, summary.duplicates, summary.quarantined) == (
        "plain",
        2,
        1,
        1,
    )
    hma_json = tmp_path / "hma.json"
    hma_json.write_text(
        json.dumps(
            [
                {"pdq": "1" * 64, "note": "from HMA"},
                {"signal_type": "pdq", "signal": "2" * 64},
                "not an object",
            ]
        ),
        encoding="utf-8",
    )
    with engine.begin() as connection:
        summary = banks.import_file(connection, "shared", hma_json, actor="t", now=utcnow())
    assert (summary.format, summary.added, summary.quarantined) == ("json", 2, 1)
    with engine.connect() as connection:
        info = banks.get_bank(connection, "shared")
    assert info.signals == {"pdq": 4, "video_md5": 1, "sha256": 1}


def test_export_then_import_reproduces_the_bank(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "a", actor="t", now=utcnow())
    with engine.begin() as connection:
        banks.add_entry(
            connection,
            "a",
            {"pdq": H1},
            actor="t",
            category="recruitment",
            tags="x y",
            note="n",
            now=utcnow(),
        )
    with engine.begin() as connection:
        banks.add_entry(connection, "a", {"md5": "0" * 32}, actor="t", now=utcnow())
    for fmt in ("csv", "json", "plain"):
        path = tmp_path / f"a.{fmt if fmt != 'plain' else 'txt'}"
        with engine.connect() as connection:
            path.write_bytes(banks.export_bank(connection, "a", fmt))
        with engine.begin() as connection:
            banks.create_bank(connection, f"copy-{fmt}", actor="t", now=utcnow())
        with engine.begin() as connection:
            summary = banks.import_file(connection, f"copy-{fmt}", path, actor="t", now=utcnow())
        assert summary.added == 2 and summary.quarantined == 0
        with engine.connect() as connection:
            assert banks.get_bank(connection, f"copy-{fmt}").signals == {"pdq": 1, "md5": 1}
    with engine.connect() as connection:
        exported = banks.export_bank(connection, "a", "csv").decode().splitlines()
    assert exported[0] == "signal_type,signal,category,tags,source_org,added_at,note"
    assert exported[1].startswith(f"pdq,{H1},recruitment,x y,,")
    with engine.connect() as connection:
        document = json.loads(banks.export_bank(connection, "a", "json"))
    assert document["entries"][0]["signals"] == {"pdq": H1}


def test_adding_files_quarantines_the_bad_ones_and_adds_the_rest(
    engine: Engine, settings: Settings, tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    from tests.media_fixtures import png_claiming

    good = tmp_path / "good.jpg"
    photo("coffee").save(good, quality=90)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "bomb.png").write_bytes(png_claiming(50_000, 50_000))
    (tmp_path / "truncated.jpg").write_bytes(good.read_bytes()[:2000])
    assert cli("bank", "create", "known").code == 0
    files = [str(tmp_path / n) for n in ("empty.jpg", "good.jpg", "bomb.png", "truncated.jpg")]
    result = cli("bank", "add", "known", *files, "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert [e["signals"]["pdq"] for e in report["added"]] != [] and len(report["added"]) == 1
    reasons = {Path(q.file).name: q.reason for q in quarantined(engine)}
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert reasons["bomb.png"].startswith("refused as a decompression bomb")
    assert reasons["truncated.jpg"].startswith("unreadable image")
    listed = json.loads(cli("quarantine", "list", "--json").out)
    assert {q["source"] for q in listed} == {"bank known"}
    assert cli("bank", "add", "nope", str(good)).code == 2


def test_labels_with_nul_characters_are_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    with (
        pytest.raises(ValueError, match="note contains a NUL character"),
        engine.begin() as connection,
    ):
        banks.add_entry(connection, "b", {"pdq": H1}, actor="t", note="a\x00b", now=utcnow())
    with engine.begin() as connection:
        entry = banks.add_entry(connection, "b", {"pdq": H1}, actor="t", now=utcnow())
    with (
        pytest.raises(ValueError, match="category contains a NUL character"),
        engine.begin() as connection,
    ):
        banks.update_entry(connection, entry.id, {"category": "\x00"}, actor="t", now=utcnow())
