"""Per-item work on a real RabbitMQ (or Redis) broker and a real Celery worker (in a thread): submitted items
end as cases, and a stage that keeps failing ends in the quarantine after N attempts, with back-off
between them. Each test has its own queue names, so parallel runs never take each other's work."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from redline import banks
from redline.classify.model import TextModel
from redline.config import Settings
from redline.index.store import Freshness, IndexStore
from redline.model import Case, Item, Match, Quarantine, Score, Signal, TextScan
from redline.model.base import utcnow
from redline.pipeline import work
from redline.pipeline.match import Matcher
from redline.store import counters
from redline.tasks import make_celery
from redline.tasks.work import QUEUES, queue_name, resend_unsent, submit
from tests.helpers import run_ingest
from tests.pipeline.test_work import counts, outcome, seeded, site, unsent_at

BROKERS = {
    "rabbitmq": os.environ.get("REDLINE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672//"),
    "redis": os.environ.get("REDLINE_TEST_REDIS", "redis://127.0.0.1:6379/14"),
}


def broker_up(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


@contextmanager
def worker(
    settings: Settings,
    make_site: Callable[[], work.Worksite],
    concurrency: int = 2,
    keep_queues: bool = False,
) -> Iterator[None]:
    """A Celery worker in threads of this process; the test's queues deleted after it (unless
    ``keep_queues``: the caller reads and deletes them)."""
    from celery.contrib.testing.worker import start_worker

    app = make_celery(settings, site=make_site)
    # The in-thread worker's loop waits out AMQP heartbeats when asked to stop (7 s a test);
    # `redline worker`'s own loop does not, and keeps them (tests/tasks/test_crash.py).
    app.conf.broker_heartbeat = 0
    queues = [queue_name(settings, q) for q in QUEUES]
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            queues=queues,
        ):
            yield
    finally:
        # As the worker's process would on exit: whatever it took and did not acknowledge goes
        # back to its queue.
        if app.gathering is not None:
            app.gathering.close()
    if not keep_queues:
        delete_queues(settings)


def delete_queues(settings: Settings) -> None:
    with make_celery(settings).connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_delete(queue_name(settings, queue))


def settled(engine: Engine) -> bool:
    """Every stage done for the seeded items: 9 photos hashed and matched, 2 texts' 4 stages."""
    with engine.connect() as connection:
        unmatched = connection.scalar(
            select(func.count())
            .select_from(Signal)
            .where(Signal.value != "", Signal.matched_generation.is_(None))
            .where(Signal.signal_type.in_(["pdq", "md5", "sha256"]))
        )
        hashed = connection.scalar(
            select(func.count()).select_from(Signal).where(Signal.signal_type == "pdq")
        )
    return hashed == 9 and unmatched == 0 and counts(engine)["text_scans"] == 8


def wait_for(check: Callable[[], bool], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError("the worker did not finish in time")


# Both databases on RabbitMQ, the default broker; Redis, which redline supports too, on one.
@pytest.mark.parametrize(
    ("database_url", "broker"),
    [("sqlite", "rabbitmq"), ("postgresql", "rabbitmq"), ("postgresql", "redis")],
    indirect=True,
)
def test_a_worker_processes_submitted_items_to_cases(
    engine: Engine,
    broker_settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
) -> None:
    item_ids = seeded(engine, broker_settings, tmp_path)
    here = site(engine, broker_settings, tiny_model)
    with worker(broker_settings, lambda: here):
        sent = submit(broker_settings, item_ids)
        assert not sent.in_process and sent.messages == 2  # one chunk: hash → match, and text
        wait_for(lambda: settled(engine))
    by_workers = outcome(engine)
    matches, cases = by_workers
    assert matches and any(signal == "classifier" for _, _, signal in cases)
    # The same items processed in one process, from scratch, give the same matches and cases.
    with engine.begin() as connection:
        for table in (Case, Match, Score, TextScan, Signal):
            connection.execute(delete(table))
    submit(broker_settings.model_copy(update={"broker_url": None}), item_ids, site=here)
    assert outcome(engine) == by_workers


def waiting(settings: Settings) -> dict[str, int]:
    """Messages waiting in each stage queue (a queue no message was ever sent to: 0)."""
    from amqp.exceptions import ChannelError
    from kombu import Connection

    found = {}
    with Connection(settings.broker_url) as connection:
        for queue in ("hashing", "matching", "text"):
            channel = connection.channel()
            try:
                found[queue] = channel.queue_declare(
                    queue_name(settings, queue), passive=True
                ).message_count
            except ChannelError:  # NotFound on RabbitMQ; Redis has no empty queues
                found[queue] = 0
            finally:
                channel.close()
    return found


def test_items_are_sent_only_to_the_stages_their_content_needs(
    engine: Engine, broker_settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    item_ids = seeded(engine, broker_settings, tmp_path)
    with engine.connect() as connection:
        what = work.carried(connection, item_ids)
    texts, photos = sorted(what.text), sorted(what.media)
    assert texts and photos and not what.text & what.media
    # No worker yet: the messages wait in their queues, where the test counts them.
    assert submit(broker_settings, texts).messages == 1
    assert waiting(broker_settings) == {"hashing": 0, "matching": 0, "text": 1}
    assert submit(broker_settings, photos).messages == 1  # hash, then match (a chain)
    assert waiting(broker_settings) == {"hashing": 1, "matching": 0, "text": 1}
    here = site(engine, broker_settings, tiny_model)
    with worker(broker_settings, lambda: here):
        wait_for(lambda: settled(engine))
        by_workers = outcome(engine)
    assert by_workers[0] and by_workers[1]  # the known photo matched and opened cases
    with engine.begin() as connection:
        for table in (Case, Match, Score, TextScan, Signal):
            connection.execute(delete(table))
    submit(broker_settings.model_copy(update={"broker_url": None}), item_ids, site=here)
    assert outcome(engine) == by_workers


def test_items_waiting_in_a_queue_are_never_sent_twice(
    engine: Engine, broker_settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """The scheduler round sends what was stored and never sent (its sender died); an item sent
    and waiting behind a long backlog is not lost, and sending it again would double the work."""
    item_ids = seeded(engine, broker_settings, tmp_path)
    stored_only, sent = item_ids[:4], item_ids[4:]
    here = site(engine, broker_settings, tiny_model)
    later = utcnow() + timedelta(seconds=broker_settings.resend_after + 60)  # past it
    try:
        assert submit(broker_settings, sent).messages >= 1  # no worker: they wait in the queues
        assert unsent_at(engine, broker_settings, later) == stored_only
        resent = resend_unsent(broker_settings, engine, later, site=here)
        assert resent.items == len(stored_only) and not resent.in_process
        assert unsent_at(engine, broker_settings, later) == []  # queued now, all of them
        assert resend_unsent(broker_settings, engine, later, site=here).items == 0
        with worker(broker_settings, lambda: here):
            wait_for(lambda: settled(engine))
    finally:
        delete_queues(broker_settings)
    # Processed once, as in one process from scratch.
    by_workers = outcome(engine)
    with engine.begin() as connection:
        for table in (Case, Match, Score, TextScan, Signal):
            connection.execute(delete(table))
    submit(broker_settings.model_copy(update={"broker_url": None}), item_ids, site=here)
    assert outcome(engine) == by_workers


def test_a_post_matched_before_a_worker_loads_a_bank_change_is_matched_after_it(
    engine: Engine, broker_settings: Settings, tmp_path: Path, tiny_model: TextModel
) -> None:
    """A worker loads a bank change after a random delay (so a fleet does not reload at once).
    A post that repeats a statement banked a moment before it arrived is matched against the
    banks the worker serves, and sent to the stage again for when it has loaded the change:
    it gets its case, with no `redline scan`. (The team set-up's test caught this: the known
    text's reposts, ingested just after the bank entry, were never cased.)"""
    item_ids = seeded(engine, broker_settings, tmp_path)
    # The counter is read once an hour, so only the stage's own look after matching can tell
    # the worker that the banks moved; the change is loaded within 3 s of that.
    lagging = work.Worksite(
        engine,
        broker_settings,
        Matcher(
            engine,
            IndexStore(engine, broker_settings.data_dir, Freshness(check_every=3600.0, jitter=3.0)),
        ),
        tiny_model,
    )
    statement = "the choir meets on tuesday evenings in the old school hall, all voices welcome"
    with worker(broker_settings, lambda: lagging):
        submit(broker_settings, item_ids)
        wait_for(lambda: settled(engine))  # the worker's indexes are loaded, at this version
        served = lagging.matcher.version()
        with engine.begin() as connection:
            banks.create_bank(connection, "statements", actor="t", now=utcnow())
            banks.add_text(connection, "statements", statement, actor="t", now=utcnow())
            banked = counters.current(connection, counters.BANKS)
        assert banked > served
        (tmp_path / "repost.jsonl").write_text(json.dumps({"id": "r1", "text": statement}) + "\n")
        run_ingest(tmp_path / "repost.jsonl", "chat", engine, broker_settings)
        with engine.connect() as connection:
            repost = connection.scalar(select(Item.id).where(Item.external_id == "r1"))
        assert repost is not None
        submit(broker_settings, [repost])

        def cased() -> bool:
            with engine.connect() as connection:
                return connection.scalar(select(Case.id).where(Case.item_id == repost)) is not None

        wait_for(cased, seconds=60)
        assert lagging.matcher.version() >= banked
    with engine.connect() as connection:
        recorded = connection.scalar(
            select(TextScan.version)
            .join(Item, Item.text_sha256 == TextScan.text_sha256)
            .where(Item.id == repost, TextScan.stage == "text_banks")
        )
        matched = connection.scalars(
            select(Match.signal_type)
            .join(Item, Item.text_sha256 == Match.text_sha256)
            .where(Item.id == repost)
        ).all()
    assert recorded == str(banked)  # matched again at the banks' version, not only before it
    assert matched == ["text_minhash"]  # once: the first look, before the change, found nothing


def test_a_stage_that_keeps_failing_on_the_worker_ends_in_the_quarantine(
    engine: Engine,
    broker_settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item_ids = seeded(engine, broker_settings, tmp_path)[:2]
    tries: list[float] = []

    def broken(_engine: Engine, _matcher: object, _ids: list[int]) -> None:
        tries.append(time.monotonic())
        raise RuntimeError("bank index unreadable")

    monkeypatch.setattr(work, "match_items", broken)  # a fault injected into one stage
    three = broker_settings.model_copy(update={"task_attempts": 3})
    here = site(engine, three, tiny_model)
    here.settings = three
    with worker(three, lambda: here):
        submit(three, item_ids)

        def quarantined() -> bool:
            with engine.connect() as connection:
                return (
                    connection.scalar(
                        select(func.count())
                        .select_from(Quarantine)
                        .where(Quarantine.format == "work")
                    )
                    or 0
                ) >= 2

        wait_for(quarantined)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Quarantine.file, Quarantine.reason).where(Quarantine.format == "work")
        ).all()
    assert sorted(r.file for r in rows) == sorted(f"item {i}" for i in item_ids)
    assert all(
        "match stage failed 3 times: RuntimeError: bank index unreadable" in r.reason for r in rows
    )
    assert len(tries) == 3 + len(item_ids)  # three attempts of the chunk, then each item alone


def test_worker_help_and_usage_errors(cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    shown = cli("worker", "--help")
    assert shown.code == 0 and "--queues" in shown.out and "--concurrency" in shown.out
    unknown = cli("worker", "--queues", "hashing,bogus")
    assert unknown.code == 2 and "unknown queue 'bogus'" in unknown.err
    no_broker = cli("worker", "--queues", "hashing", "--concurrency", "2")
    assert no_broker.code == 2 and "REDLINE_BROKER_URL" in no_broker.err
    assert cli("worker", "--concurrency", "0").code == 2
