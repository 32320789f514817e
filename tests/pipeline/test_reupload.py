"""A re-upload of content redline already matched or flagged gets its own case: the same image
bytes or the same text posted again after the first item was scanned (and decided) is routed
like the first, by ``redline scan`` and by the per-item stages alike, told to the platform,
and routed once however often the stages run again; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Float, Integer, MetaData, Table, func, select, text

from redline import banks
from redline.actions import webhooks
from redline.classify.model import TextModel
from redline.config import Settings
from redline.index.store import IndexStore
from redline.model import Case, Item, Match, Score, WebhookDelivery
from redline.model.base import utcnow
from redline.pipeline import work
from redline.pipeline.known import Routed, flag_may_outrank, route_known_media
from redline.pipeline.match import Matcher
from redline.pipeline.route import CaseReason, tell_opened, write_cases
from redline.pipeline.scan import scan
from redline.review.accounts import add_user
from redline.review.decisions import Verdict, decide
from redline.review.rules import (
    PRIORITY_CONFIRMED_MATCH,
    PRIORITY_TEXT_MATCH,
    classifier_priority,
)
from redline.store.media import FolderStore
from redline.tasks.work import submit
from tests.helpers import only_on, run_ingest
from tests.media_fixtures import generated, photo
from tests.pipeline.test_text_scan import STATEMENT

FLAGGED = "share the new zorblat release number 7 everyone"
CHATTER = "lunch with friends at the market number 3"


def site(engine: Engine, settings: Settings, model: TextModel | None = None) -> work.Worksite:
    matcher = Matcher(engine, IndexStore(engine, settings.data_dir))
    return work.Worksite(engine, settings, matcher, model, score_texts=model is not None)


def process(how: str, engine: Engine, settings: Settings, model: TextModel | None) -> None:
    """Everything stored so far through ``redline scan``, or its new items through the per-item
    stages as the items API and the workers run them."""
    if how == "scan":
        scan(
            engine,
            settings,
            IndexStore(engine, settings.data_dir),
            actor="test",
            workers=1,
            text_model=model,
            score_texts=model is not None,
        )
        return
    with engine.connect() as connection:
        routed = select(Case.item_id)
        item_ids = list(connection.scalars(select(Item.id).where(Item.id.not_in(routed))))
    done = submit(settings, item_ids, site=site(engine, settings, model))
    assert done.in_process and done.quarantined == []


def ingest_jsonl(
    engine: Engine, settings: Settings, folder: Path, source: str, records: list[dict[str, Any]]
) -> None:
    path = folder / f"{source}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    run_ingest(path, source, engine, settings)


def cases(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Each item's case by its external id: status, priority, signal, category, lang, reason."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                Item.external_id,
                Case.status,
                Case.priority,
                Case.signal,
                Case.category,
                Case.lang,
                Case.reason,
            ).join(Case, Case.item_id == Item.id)
        ).all()
    assert len({r.external_id for r in rows}) == len(rows)
    return {r.external_id: tuple(r[1:]) for r in rows}


def told(engine: Engine) -> list[tuple[str, str, Any]]:
    """The outbox in order: (item's external id, event, the match id or case id)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Item.external_id, WebhookDelivery.event, WebhookDelivery.body)
            .join(Item, Item.id == WebhookDelivery.item_id)
            .order_by(WebhookDelivery.id)
        ).all()
    out = []
    for external_id, event, body in rows:
        data = json.loads(body)["data"]
        out.append((external_id, event, data.get("match_id", data.get("case_id"))))
    return out


def state(engine: Engine) -> tuple[Any, ...]:
    """What running the stages again must leave alone."""
    with engine.connect() as connection:
        return (
            connection.execute(select(Case.__table__).order_by(Case.id)).all(),
            connection.scalar(select(func.count()).select_from(Match)),
            connection.scalar(select(func.count()).select_from(Score)),
            connection.scalar(select(func.count()).select_from(WebhookDelivery)),
        )


def subscribe(engine: Engine) -> None:
    with engine.begin() as connection:
        webhooks.add_subscription(
            connection,
            "user:admin1",
            "platform",
            "https://platform.example/hooks",
            ["match.found", "case.opened"],
            utcnow(),
        )


def decide_case(engine: Engine, external_id: str) -> None:
    with engine.begin() as connection:
        lead = add_user(connection, "lead1", "lead", "correct horse battery staple", "test")
        case_id = connection.scalar(
            select(Case.id)
            .join(Item, Item.id == Case.item_id)
            .where(Item.external_id == external_id)
        )
        decide(
            connection,
            lead,
            int(case_id or 0),
            Verdict("violating", "recruitment"),
            utcnow(),
            four_eyes=False,
        )


@pytest.mark.parametrize("how", ["scan", "items"])
def test_a_reupload_of_a_matched_image_gets_its_own_case(
    engine: Engine, settings: Settings, tmp_path: Path, how: str
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    photo("astronaut").save(first / "known.png")
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
    known = banks.hash_media(FolderStore(settings.data_dir), first / "known.png")
    with engine.begin() as connection:
        banks.add_media(connection, "known", known, actor="t", now=utcnow(), category="x")
    subscribe(engine)
    ingest_jsonl(engine, settings, first, "channel", [{"id": "a1", "media": ["known.png"]}])
    process(how, engine, settings, None)
    assert cases(engine)["a1"][:3] == ("open", PRIORITY_CONFIRMED_MATCH, "bank")
    decide_case(engine, "a1")  # taken down: the re-uploads are what redline must catch now

    again = tmp_path / "again"
    again.mkdir()
    shutil.copyfile(first / "known.png", again / "copy.png")  # the same bytes
    generated(3).save(again / "other.png")
    ingest_jsonl(
        engine,
        settings,
        again,
        "mirror",
        [
            {"id": "b1", "text": "look at this", "media": ["copy.png"]},
            {"id": "b2", "media": ["other.png", "copy.png"]},  # the known file second of two
            {"id": "b3", "media": ["other.png"]},
        ],
    )
    before = told(engine)
    process(how, engine, settings, None)

    found = cases(engine)
    assert set(found) == {"a1", "b1", "b2"}
    assert found["a1"][0] == "violating"  # the earlier decision stands, on the earlier item
    for reupload in ("b1", "b2"):
        status, priority, signal, category, lang, reason = found[reupload]
        assert (status, priority, signal, category, lang) == (
            "open",
            PRIORITY_CONFIRMED_MATCH,
            "bank",
            None,
            None,
        )
        assert reason.startswith("matches bank known entry ")
    # As for the first item: each match of the file, then the case, for each new item.
    first_told = [(event, ref) for who, event, ref in before if who == "a1"]
    matches = {ref for event, ref in first_told if event == "match.found"}
    assert len(matches) == 3  # md5, sha256 and pdq
    new = told(engine)[len(before) :]
    for reupload in ("b1", "b2"):
        events = [(event, ref) for who, event, ref in new if who == reupload]
        assert {ref for event, ref in events if event == "match.found"} == matches
        assert [event for event, _ in events] == ["match.found"] * 3 + ["case.opened"]
    assert {who for who, _, _ in new} == {"b1", "b2"}

    settled = state(engine)
    process(how, engine, settings, None)
    with engine.connect() as connection:
        every = list(connection.scalars(select(Item.id)))
    work.run_stage(site(engine, settings), work.MATCH, every)  # the first item's again too
    assert state(engine) == settled


@pytest.mark.parametrize("how", ["scan", "items"])
def test_a_reupload_of_a_matched_or_flagged_text_gets_its_own_case(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel, how: str
) -> None:
    with engine.begin() as connection:
        banks.create_bank(
            connection, "statements", actor="t", confirmed=False, text_threshold=0.6, now=utcnow()
        )
        banks.add_text(connection, "statements", STATEMENT, actor="t", now=utcnow())
    subscribe(engine)
    first = [
        {"id": "a1", "text": FLAGGED},
        {"id": "a2", "text": STATEMENT},
        {"id": "a3", "text": CHATTER},
    ]
    ingest_jsonl(engine, settings, tmp_path, "channel", first)
    process(how, engine, settings, tiny_model)
    earlier = cases(engine)
    assert set(earlier) == {"a1", "a2"}
    assert earlier["a1"][2:5] == ("classifier", "official_media_distribution", "en")
    assert earlier["a2"][1:3] == (PRIORITY_TEXT_MATCH, "bank")
    decide_case(engine, "a1")

    reposts = [
        {"id": "b1", "text": FLAGGED, "account": "other"},
        {"id": "b2", "text": STATEMENT, "account": "other"},
        {"id": "b3", "text": CHATTER, "account": "other"},
    ]
    ingest_jsonl(engine, settings, tmp_path, "mirror", reposts)
    before = told(engine)
    process(how, engine, settings, tiny_model)

    found = cases(engine)
    assert set(found) == {"a1", "a2", "b1", "b2"}
    # The same priority, signal, category, language and reason as the first item's case.
    assert found["b1"] == ("open", *earlier["a1"][1:])
    assert found["b2"] == ("open", *earlier["a2"][1:])
    new = told(engine)[len(before) :]
    text_match = next(ref for who, event, ref in before if (who, event) == ("a2", "match.found"))
    assert [(who, event) for who, event, _ in new if who == "b2"] == [
        ("b2", "match.found"),
        ("b2", "case.opened"),
    ]
    assert (("b2", "match.found", text_match)) in new
    assert [(who, event) for who, event, _ in new if who == "b1"] == [("b1", "case.opened")]

    settled = state(engine)
    process(how, engine, settings, tiny_model)
    assert state(engine) == settled


def test_a_text_flag_first_then_a_known_image_raises_the_case_and_tells_the_match(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """On the workers the text stage often finishes first: its case is raised, not doubled,
    when the match stage finds the item's image matched before."""
    photo("astronaut").save(tmp_path / "known.png")
    known = banks.hash_media(FolderStore(settings.data_dir), tmp_path / "known.png")
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_media(connection, "known", known, actor="t", now=utcnow())
    subscribe(engine)
    ingest_jsonl(engine, settings, tmp_path, "channel", [{"id": "a1", "media": ["known.png"]}])
    ingest_jsonl(engine, settings, tmp_path, "chat", [{"id": "a2", "text": FLAGGED}])
    process("items", engine, settings, tiny_model)
    ingest_jsonl(
        engine,
        settings,
        tmp_path,
        "mirror",
        [{"id": "b1", "text": FLAGGED, "media": ["known.png"]}],
    )
    with engine.connect() as connection:
        b1 = int(connection.scalar(select(Item.id).where(Item.external_id == "b1")) or 0)
    here = site(engine, settings, tiny_model)
    before = told(engine)
    for stage in (work.TEXT, work.HASH, work.MATCH):
        work.run_stage(here, stage, [b1])
        if stage == work.TEXT:
            assert cases(engine)["b1"][1:3] == (cases(engine)["a2"][1], "classifier")
    assert cases(engine)["b1"][:5] == cases(engine)["a1"][:5]  # raised to the match's reason
    new = [(event, ref) for who, event, ref in told(engine)[len(before) :] if who == "b1"]
    assert [event for event, _ in new] == ["case.opened"] + ["match.found"] * 3
    settled = state(engine)
    for stage in work.STAGES:
        work.run_stage(here, stage, [b1])
    assert state(engine) == settled


def md5_of(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


@only_on("postgresql")  # SQLite has one writer at a time: no two transactions interleave
def test_two_routers_of_one_new_item_at_once_make_one_case(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A worker routing an item whose case another transaction is opening (a flag found by the
    text stage beside the match stage) waits for it, then raises that case instead of failing
    on a second one; each event is told once."""
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_entry(connection, "known", {"md5": md5_of("known")}, actor="t", now=utcnow())
    subscribe(engine)
    record = {"media": [{"md5": md5_of("known")}]}
    ingest_jsonl(engine, settings, tmp_path, "channel", [{"id": "a1", **record}])
    process("items", engine, settings, None)
    ingest_jsonl(engine, settings, tmp_path, "mirror", [{"id": "b1", **record}])
    with engine.connect() as connection:
        b1 = int(connection.scalar(select(Item.id).where(Item.external_id == "b1")) or 0)
    flag = CaseReason(45, "classifier tiny: recruitment (score 0.17)", signal="classifier")
    routed: list[Routed] = []
    with engine.connect() as first:
        transaction = first.begin()
        assert write_cases(first, {b1: flag}, utcnow(), touch=False).opened == [b1]
        tell_opened(first, [b1], utcnow())
        other = threading.Thread(
            target=lambda: routed.append(
                route_known_media(engine, work.items_by_id([b1], engine.dialect))
            )
        )
        other.start()
        waiting = 0
        for _ in range(3000):  # until the other is blocked on this transaction's new case
            with engine.connect() as watcher:
                waiting = watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                )
            if waiting or not other.is_alive():
                break
            time.sleep(0.01)
        assert waiting == 1
        transaction.commit()
    other.join()
    assert routed == [Routed(opened=0, raised=1)]
    assert cases(engine)["b1"][:3] == ("open", PRIORITY_CONFIRMED_MATCH, "bank")
    events = [(event, ref) for who, event, ref in told(engine) if who == "b1"]
    assert [event for event, _ in events] == ["case.opened", "match.found"]


def test_the_sql_test_for_a_flag_outranking_a_case_lets_every_such_case_through(
    engine: Engine,
) -> None:
    """Routing reads only the flags that may outrank an item's case; a flag that does must never
    be left out, whatever its score (ties of the rounding included), in the database's own
    arithmetic."""
    scores = sorted({i / 600 for i in range(601)} | {(n + 0.5) / 30 for n in range(30)})
    # For each score, the highest priority a flag of that score outranks: the hardest case.
    grid = Table(
        "grid",
        MetaData(),
        Column("priority", Integer),
        Column("score", Float),
        prefixes=["TEMPORARY"],
    )
    with engine.connect() as connection:
        grid.create(connection)
        connection.execute(
            grid.insert(), [{"priority": classifier_priority(s) - 1, "score": s} for s in scores]
        )
        left_out = connection.execute(
            select(grid).where(~flag_may_outrank(grid.c.priority, grid.c.score))
        ).all()
        # And a case at the flag's own priority is mostly not read again.
        read_again = connection.scalar(
            select(func.count())
            .select_from(grid)
            .where(flag_may_outrank(grid.c.priority + 1, grid.c.score))
        )
        connection.rollback()
    assert left_out == []
    assert read_again is not None and read_again < len(scores) // 10
