"""Per-item work in-process: the same matches and cases as `redline scan`, idempotent stages, and
the quarantine for a stage that keeps failing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, delete, event, func, select

from redline import banks
from redline.classify.model import TextModel
from redline.config import Settings
from redline.index.store import INDEXED_TYPES, Freshness, IndexStore
from redline.model import Case, Item, ItemMedia, Match, Quarantine, Score, Signal, TextScan
from redline.model.base import utcnow
from redline.pipeline import work
from redline.pipeline.match import Matcher
from redline.pipeline.scan import scan
from redline.store.media import FolderStore
from redline.store.quarantine import quarantine_work
from redline.tasks.work import resend_unsent, run_here, submit
from tests.helpers import run_ingest
from tests.pipeline.test_scan import build_folder, matched_files

TABLES = (Signal, Match, Case, Score, TextScan, Quarantine)


def site(engine: Engine, settings: Settings, model: TextModel) -> work.Worksite:
    return work.Worksite(
        engine, settings, Matcher(engine, IndexStore(engine, settings.data_dir)), model
    )


def seeded(engine: Engine, settings: Settings, tmp_path: Path) -> list[int]:
    paths = build_folder(tmp_path / "posts")
    run_ingest(tmp_path / "posts", "channel", engine, settings)
    (tmp_path / "texts.jsonl").write_text(
        '{"id": "t1", "text": "share the new zorblat release number 7 everyone"}\n'
        '{"id": "t2", "text": "lunch with friends at the market number 3"}\n'
    )
    run_ingest(tmp_path / "texts.jsonl", "chat", engine, settings)
    known = banks.hash_media(FolderStore(settings.data_dir), paths["known.png"])
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_media(connection, "known", known, actor="t", now=utcnow(), category="x")
        return [int(i) for i in connection.scalars(select(Item.id).order_by(Item.id))]


def outcome(engine: Engine) -> tuple[set[Any], set[Any]]:
    with engine.connect() as connection:
        matches = set(
            connection.execute(
                select(Match.media_sha256, Match.bank_entry_id, Match.signal_type)
            ).all()
        )
        cases = set(connection.execute(select(Case.item_id, Case.priority, Case.signal)).all())
    return matches, cases


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        found = {
            t.__tablename__: int(connection.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }
        found["case_updates"] = len(set(connection.scalars(select(Case.updated_at))))
    return found


def test_submitted_items_get_the_same_matches_and_cases_as_a_scan(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    item_ids = seeded(engine, settings, tmp_path)
    done = submit(settings, item_ids, site=site(engine, settings, tiny_model))
    assert done.in_process and done.items == len(item_ids) and done.quarantined == []
    by_items = outcome(engine)
    assert by_items[0] and len(by_items[1]) >= 4  # known media and its copies, and a flagged text
    with engine.begin() as connection:
        for table in (Case, Match, Score, TextScan, Signal):
            connection.execute(delete(table))
    scan(
        engine,
        settings,
        IndexStore(engine, settings.data_dir),
        actor="t",
        workers=1,
        text_model=tiny_model,
    )
    assert outcome(engine) == by_items


def test_each_stage_run_twice_changes_nothing(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    item_ids = seeded(engine, settings, tmp_path)
    here = site(engine, settings, tiny_model)
    for stage in work.STAGES:
        work.run_stage(here, stage, item_ids)
        after_first = counts(engine)
        again = work.run_stage(here, stage, item_ids)
        assert counts(engine) == after_first, stage
        assert again.get("cases_opened", 0) == again.get("cases_updated", 0) == 0
    assert counts(engine)["matches"] > 0 and counts(engine)["cases"] > 0


def test_a_stage_that_keeps_failing_ends_in_the_quarantine_with_its_reason(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item_ids = seeded(engine, settings, tmp_path)
    calls: list[list[int]] = []

    def broken(_engine: Engine, _matcher: Matcher, ids: list[int]) -> None:
        calls.append(list(ids))
        raise RuntimeError("bank index unreadable")

    monkeypatch.setattr(work, "match_items", broken)  # a fault injected into one stage
    three = settings.model_copy(update={"task_attempts": 3})
    done = run_here(
        work.Worksite(engine, three, site(engine, settings, tiny_model).matcher, tiny_model),
        item_ids,
    )
    assert sorted(done.quarantined) == sorted(item_ids)
    assert len(calls) == 3 + len(item_ids)  # three tries of the chunk, then each item alone
    with engine.connect() as connection:
        rows = connection.execute(
            select(Quarantine.file, Quarantine.location, Quarantine.reason).where(
                Quarantine.format == "work"
            )
        ).all()
    assert sorted(r.file for r in rows) == sorted(f"item {i}" for i in item_ids)
    assert all(r.location == "match stage" for r in rows)
    assert all("failed 3 times: RuntimeError: bank index unreadable" in r.reason for r in rows)
    # The other stages still ran: the text of the items was scored.
    assert counts(engine)["scores"] > 0


def test_workers_and_the_scan_score_with_the_model_the_settings_name(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model_path: Path
) -> None:
    """REDLINE_TEXT_MODEL: a team's own model (``redline model train --output``) is what the
    workers, the items API and ``redline scan`` score texts with, not the shipped one."""
    (tmp_path / "texts.jsonl").write_text(
        '{"id": "t1", "text": "share the new zorblat release number 7 everyone"}\n'
        '{"id": "t2", "text": "lunch with friends at the market number 3"}\n'
    )
    run_ingest(tmp_path / "texts.jsonl", "chat", engine, settings)
    own = settings.model_copy(update={"text_model": tiny_model_path})
    version = TextModel.load(tiny_model_path).scoring_version()
    assert version != TextModel.shipped_scoring_version()
    with engine.connect() as connection:
        item_ids = [int(i) for i in connection.scalars(select(Item.id))]
    here = work.Worksite(engine, own, Matcher(engine, IndexStore(engine, own.data_dir)))
    assert submit(own, item_ids, site=here).quarantined == []

    def scored() -> list[tuple[str, bool]]:
        with engine.connect() as connection:
            return sorted(
                (str(r.model), bool(r.flagged))
                for r in connection.execute(select(Score.model, Score.flagged))
            )

    assert scored() == [(version, False), (version, True)]
    with engine.begin() as connection:
        connection.execute(delete(Case))
        connection.execute(delete(Score))
        connection.execute(delete(TextScan))
    scan(engine, own, IndexStore(engine, own.data_dir), actor="t", workers=1)
    assert scored() == [(version, False), (version, True)]


def unsent_at(engine: Engine, settings: Settings, now: datetime) -> list[int]:
    """What the scheduler round at ``now`` would send again."""
    with engine.connect() as connection:
        before = now - timedelta(seconds=settings.resend_after or 0)
        return work.unsent(connection, now - timedelta(days=1), before, 1000)


def test_items_no_stage_touched_are_sent_again_once(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """An item stored whose message never reached a worker (the web process died between its
    commit and the broker) is found by the workers' scheduler round and processed, once."""
    item_ids = seeded(engine, settings, tmp_path)
    later = utcnow() + timedelta(seconds=601)
    # On by default (five minutes); REDLINE_RESEND_AFTER=0 turns it off.
    assert settings.resend_after == 300.0
    off = settings.model_copy(update={"resend_after": 0.0})
    assert resend_unsent(off, engine, later, site=site(engine, off, tiny_model)).items == 0
    settings = settings.model_copy(update={"resend_after": 600.0})
    here = site(engine, settings, tiny_model)
    # Just stored: on their way, not lost. Past REDLINE_RESEND_AFTER: every one is unsent.
    assert unsent_at(engine, settings, utcnow()) == []
    assert unsent_at(engine, settings, later) == item_ids
    # Some were processed; one failed for good and is the quarantine's.
    submit(settings, item_ids[:3], site=here)
    with engine.begin() as connection:
        quarantine_work(connection, item_ids[-1], "match", "bank index unreadable", 5, utcnow())
    lost = unsent_at(engine, settings, later)
    assert lost == [i for i in item_ids[3:-1] if i not in shared_content(engine, item_ids[:3])]
    assert lost  # the scenario must leave some work lost
    resent = resend_unsent(settings, engine, later, site=here)
    assert resent.items == len(lost) and resent.quarantined == []
    assert unsent_at(engine, settings, later) == []
    assert resend_unsent(settings, engine, later, site=here).items == 0  # nothing sent twice
    # What was resent ends as if it had never been lost: as a scan of everything would leave it.
    submit(settings, item_ids[:-1], site=here)
    after_resend = outcome(engine)
    with engine.begin() as connection:
        for table in (Case, Match, Score, TextScan, Signal):
            connection.execute(delete(table))
    submit(settings, item_ids[:-1], site=here)
    assert outcome(engine) == after_resend


def shared_content(engine: Engine, item_ids: list[int]) -> set[int]:
    """Items whose every text and media file is also carried by ``item_ids`` (processed with
    them: touched, though not sent themselves)."""
    with engine.connect() as connection:
        texts = set(connection.scalars(select(Item.text_sha256).where(Item.id.in_(item_ids)))) - {
            None
        }
        media = set(
            connection.scalars(
                select(ItemMedia.media_sha256).where(ItemMedia.item_id.in_(item_ids))
            )
        )
        found = set()
        for item in connection.execute(select(Item.id, Item.text_sha256)).all():
            own = set(
                connection.scalars(
                    select(ItemMedia.media_sha256).where(ItemMedia.item_id == item.id)
                )
            )
            if (item.text_sha256 is None or item.text_sha256 in texts) and own <= media:
                found.add(int(item.id))
    return found


def test_what_items_carry_says_which_stages_they_need(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    item_ids = seeded(engine, settings, tmp_path)
    (tmp_path / "mixed.jsonl").write_text(
        '{"id": "m1", "text": "a caption under a photo", "media": ["posts/other.png"]}\n'
        '{"id": "e1", "url": "https://host.example/post/9"}\n'
    )
    run_ingest(tmp_path / "mixed.jsonl", "mixed", engine, settings)
    with engine.connect() as connection:
        by_name = {
            external: int(item_id)
            for external, item_id in connection.execute(select(Item.external_id, Item.id))
        }
        what = work.carried(connection, [*by_name.values(), max(by_name.values()) + 1000])
    texts = {by_name["t1"], by_name["t2"]}
    photos = set(item_ids) - texts
    assert len(photos) == 9
    # A post with a caption and a photo needs both; one that carries neither (a bare link)
    # and an id that is no item need nothing.
    assert what.text == texts | {by_name["m1"]}
    assert what.media == photos | {by_name["m1"]}
    assert by_name["e1"] not in what.text | what.media


def test_a_process_serving_older_banks_records_its_matching_as_such_and_catches_up(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """A worker loads a change to the banks up to REDLINE_INDEX_RELOAD_JITTER seconds late (so
    N processes do not reload at once). Content it matches meanwhile is matched against the
    banks it serves, and must be recorded as such: marked as matched against the newer banks,
    it would never be matched against them (a photo re-encoded from a banked one was missed
    for good in the throughput benchmark this way). The stage says so, and in one process the
    items are matched again at once against the newer banks (a worker sends them again: see
    tests/tasks/test_work_broker.py)."""
    item_ids = seeded(engine, settings, tmp_path)
    slow = Freshness(check_every=3600.0, jitter=3600.0)  # reads the counter once an hour
    stale = work.Worksite(
        engine, settings, Matcher(engine, IndexStore(engine, settings.data_dir, slow)), tiny_model
    )
    loaded_at = stale.matcher.version()
    for signal_type in INDEXED_TYPES:  # its indexes loaded now, before the change
        stale.matcher.indexes.get(signal_type)
    # A copy of the unrelated photo re-encoded (other bytes, the same picture) joins the bank.
    copy = tmp_path / "reencoded-coffee.jpg"
    Image.open(tmp_path / "posts" / "unrelated.jpg").save(copy, quality=60)
    banked = banks.hash_media(FolderStore(settings.data_dir), copy)
    with engine.begin() as connection:
        banks.add_media(connection, "known", banked, actor="t", now=utcnow(), category="x")
    work.run_stage(stale, work.HASH, item_ids)
    done = work.run_stage(stale, work.MATCH, item_ids)
    # Matched against the banks before the change, recorded at that version, and told to come
    # back when the change is loaded (within the jitter: an hour here).
    assert 0 < done[work.REMATCH_IN] <= 3600
    assert stale.matcher.version() == loaded_at
    assert "unrelated.jpg" not in matched_files(engine)
    with engine.connect() as connection:
        versions = set(connection.scalars(select(Signal.matched_generation).distinct()))
    assert versions == {loaded_at}
    # In one process, the items are matched again against the newer banks before the call ends.
    run_here(stale, item_ids)
    assert stale.matcher.version() > loaded_at
    assert "pdq" in matched_files(engine)["unrelated.jpg"]
    # And a scan on the current banks finds nothing left to match.
    before = counts(engine)
    scan(engine, settings, IndexStore(engine, settings.data_dir), actor="t", text_model=tiny_model)
    assert counts(engine) == before


def bank_reads(engine: Engine) -> list[str]:
    """Statements that read the banks' settings, as they run."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM banks" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return seen


def pdq_matched(engine: Engine) -> set[str]:
    return {name for name, kinds in matched_files(engine).items() if "pdq" in kinds}


def test_a_worker_matches_with_a_banks_new_threshold_and_reads_settings_once_per_version(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """A worker reads the banks' settings once per banks version, not once per chunk; a change
    to a bank (here its PDQ threshold) moves the version, and the worker's next chunk matches
    with the new setting."""
    item_ids = seeded(engine, settings, tmp_path)
    with engine.begin() as connection:
        banks.update_bank(connection, "known", {"pdq_threshold": 0}, actor="t", now=utcnow())
    worker = site(engine, settings, tiny_model)
    for chunk in (item_ids[:4], item_ids[4:]):
        work.run_stage(worker, work.HASH, chunk)
    reads = bank_reads(engine)
    work.run_stage(worker, work.MATCH, item_ids[:4])
    work.run_stage(worker, work.MATCH, item_ids[4:])
    assert len(reads) == 1  # two chunks, one banks version: one read
    exact = pdq_matched(engine)
    assert exact  # the banked photo itself, at distance 0

    with engine.begin() as connection:
        banks.update_bank(connection, "known", {"pdq_threshold": 31}, actor="t", now=utcnow())
    reads.clear()
    work.run_stage(worker, work.MATCH, item_ids)
    assert len(reads) == 1  # read again for the new version
    near = pdq_matched(engine)
    assert exact < near  # altered copies within 31 bits match now


def test_a_text_bank_made_after_a_workers_first_chunk_is_matched_in_its_next(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """Whether any text bank exists is remembered per banks version: a text bank made later
    moves the version, and the texts are matched against it."""
    item_ids = seeded(engine, settings, tmp_path)
    worker = site(engine, settings, tiny_model)
    work.run_stage(worker, work.TEXT, item_ids)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Match)) == 0
    with engine.begin() as connection:
        banks.create_bank(connection, "known_texts", actor="t", now=utcnow())
        banks.add_text(
            connection,
            "known_texts",
            "share the new zorblat release number 7 everyone",
            actor="t",
            now=utcnow(),
        )
    done = work.run_stage(worker, work.TEXT, item_ids)
    assert done["text_matches"] == 1
    with engine.connect() as connection:
        matched = connection.execute(
            select(Item.external_id).join(Match, Match.text_sha256 == Item.text_sha256)
        ).all()
    assert [row.external_id for row in matched] == ["t1"]
