"""Bank indexes: built on first use, saved, reloaded, updated when banks change, never stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from redline import banks
from redline.config import Settings
from redline.index import store as index_store
from redline.index.store import IndexStore
from redline.model.base import utcnow
from redline.pipeline.match import BankMatch, Matcher
from redline.signals.pdq import PdqSignal

H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def match_pdq(
    matcher: Matcher, hashes: list[str], quality: int | None = None, **options: bool
) -> list[list[BankMatch]]:
    """PDQ hashes as sent as text (no rotations or trimmed hash), matched."""
    return matcher.match(PdqSignal, [PdqSignal.query(h, quality) for h in hashes], **options)


def near(value: str, bits: int) -> str:
    return format(int(value, 16) ^ ((1 << bits) - 1), "064x")


def test_index_is_built_saved_and_kept_current(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    with engine.begin() as connection:
        first = banks.add_entry(connection, "b", {"pdq": H1}, actor="t", now=utcnow())
    store = IndexStore(engine, settings.data_dir)
    assert store.status()["pdq"]["present"] is False
    matcher = Matcher(engine, store)
    (hits,) = match_pdq(matcher, [near(H1, 5)])
    assert [(m.entry_id, m.distance) for m in hits] == [(first.id, 5.0)]
    assert (settings.data_dir / "index" / "pdq" / "meta.json").exists()
    # A new process finds the saved index and uses it as is.
    fresh = IndexStore(engine, settings.data_dir)
    assert fresh.status()["pdq"] == {**store.status()["pdq"]}
    assert len(fresh.get("pdq")) == 1
    # New entries are searched at once, without a rebuild (brute force beside the saved index).
    with engine.begin() as connection:
        second = banks.add_entry(connection, "b", {"pdq": near(H1, 20)}, actor="t", now=utcnow())
    (hits,) = match_pdq(Matcher(engine, fresh), [H1])
    assert sorted(m.entry_id for m in hits) == [first.id, second.id]
    assert fresh.get("pdq").delta_ids.shape[0] == 1
    # Past the delta limit the index is rebuilt and saved again.
    monkeypatch.setattr(index_store, "DELTA_LIMIT", 1)
    with engine.begin() as connection:
        banks.add_entry(connection, "b", {"pdq": near(H1, 40)}, actor="t", now=utcnow())
    rebuilt = fresh.get("pdq")
    assert rebuilt.delta_ids.shape[0] == 0 and len(rebuilt) == 3


def test_disabled_and_deleted_entries_never_match(engine: Engine, settings: Settings) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    with engine.begin() as connection:
        entry = banks.add_entry(connection, "b", {"pdq": H1}, actor="t", now=utcnow())
    matcher = Matcher(engine, IndexStore(engine, settings.data_dir))
    assert len(match_pdq(matcher, [H1])[0]) == 1
    with engine.begin() as connection:
        banks.set_entry_enabled(connection, entry.id, False, actor="t", now=utcnow())
    assert match_pdq(matcher, [H1]) == [[]]
    assert match_pdq(matcher, [H1], include_disabled_banks=True) == [[]]  # entries: never
    with engine.begin() as connection:
        banks.set_entry_enabled(connection, entry.id, True, actor="t", now=utcnow())
    with engine.begin() as connection:
        banks.update_bank(connection, "b", {"enabled": False}, actor="t", now=utcnow())
    assert match_pdq(matcher, [H1]) == [[]]
    assert len(match_pdq(matcher, [H1], include_disabled_banks=True)[0]) == 1  # HMA's coinflip
    with engine.begin() as connection:
        banks.update_bank(connection, "b", {"enabled": True}, actor="t", now=utcnow())
    with engine.begin() as connection:
        banks.delete_entry(connection, entry.id, actor="t", now=utcnow())
    assert match_pdq(matcher, [H1]) == [[]]


def test_per_bank_thresholds_and_quality(engine: Engine, settings: Settings) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "strict", actor="t", pdq_threshold=10, now=utcnow())
    with engine.begin() as connection:
        banks.create_bank(connection, "default", actor="t", now=utcnow())
    with engine.begin() as connection:
        banks.add_entry(connection, "strict", {"pdq": H1}, actor="t", now=utcnow())
    with engine.begin() as connection:
        banks.add_entry(connection, "default", {"pdq": H1}, actor="t", now=utcnow())
    matcher = Matcher(engine, IndexStore(engine, settings.data_dir))
    assert [m.bank for m in match_pdq(matcher, [near(H1, 8)])[0]] == ["default", "strict"] or [
        m.bank for m in match_pdq(matcher, [near(H1, 8)])[0]
    ] == ["strict", "default"]
    assert [m.bank for m in match_pdq(matcher, [near(H1, 20)])[0]] == ["default"]
    # Hashes below quality 50 are kept but never matched, as python-threatexchange does.
    assert match_pdq(matcher, [H1], quality=49) == [[]]


def test_status_of_a_database_without_indexes(engine: Engine, tmp_path: Path) -> None:
    status = IndexStore(engine, tmp_path).status()
    assert status["pdq"] == {"present": False, "size": 0, "built_to": -1, "generation": -1}


def test_deleting_the_newest_entry_then_adding_another_keeps_the_index_right(
    engine: Engine, settings: Settings
) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    with engine.begin() as connection:
        keep = banks.add_entry(connection, "b", {"pdq": H1}, actor="t", now=utcnow())
    store = IndexStore(engine, settings.data_dir)
    matcher = Matcher(engine, store)
    with engine.begin() as connection:
        gone = banks.add_entry(connection, "b", {"pdq": near(H1, 60)}, actor="t", now=utcnow())
    assert len(match_pdq(matcher, [near(H1, 60)])[0]) == 1  # indexed, as a delta
    with engine.begin() as connection:
        banks.delete_entry(connection, gone.id, actor="t", now=utcnow())
    with engine.begin() as connection:
        new = banks.add_entry(connection, "b", {"pdq": "0" * 64}, actor="t", now=utcnow())
    assert new.id > gone.id  # ids are never reused, so nothing old can pass for something new
    assert [m.entry_id for m in match_pdq(matcher, ["0" * 64])[0]] == [new.id]
    assert [m.entry_id for m in match_pdq(matcher, [near(H1, 60)])[0]] == []
    assert [m.entry_id for m in match_pdq(matcher, [H1])[0]] == [keep.id]


def test_an_index_saved_in_the_format_before_planes_is_rebuilt(
    engine: Engine, settings: Settings
) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "b", actor="t", now=utcnow())
    with engine.begin() as connection:
        entry = banks.add_entry(connection, "b", {"pdq": H1}, actor="t", now=utcnow())
    IndexStore(engine, settings.data_dir).get("pdq")  # built and saved
    folder = settings.data_dir / "index" / "pdq"
    # As that format saved it: dense offsets only (its offsets.npy held every table, which
    # this one would misread as the dense tables alone), and no format in the meta.
    for name in ("headers", "overflow", "in_planes"):
        (folder / f"{name}.npy").unlink()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    del meta["mih_format"]
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    fresh = IndexStore(engine, settings.data_dir)
    (hits,) = match_pdq(Matcher(engine, fresh), [near(H1, 3)])
    assert [(m.entry_id, m.distance) for m in hits] == [(entry.id, 3.0)]
    # Rebuilt and saved again in this format.
    assert json.loads((folder / "meta.json").read_text(encoding="utf-8"))["mih_format"] == 2
    assert (folder / "headers.npy").exists()
