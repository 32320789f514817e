"""A worker takes the messages waiting in its queue into one stage call (``redline.tasks.batch``),
on a real RabbitMQ and a real Celery worker (in a thread): each message's items are processed
once, each message is acknowledged only after the call committed, and a message that keeps
failing goes to the quarantine after N attempts while the messages batched with it are stored
and acknowledged. The crash test (tests/tasks/test_crash.py) kills workers mid-batch."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from redline.classify.model import TextModel
from redline.config import Settings
from redline.model import Item, Quarantine, Score, TextScan
from redline.pipeline import work
from redline.tasks import make_celery
from redline.tasks import work as tasks_work
from redline.tasks.batch import Gatherer
from redline.tasks.work import STAGE_TASK, TEXTS, queue_name, submit
from tests.helpers import run_ingest
from tests.pipeline.test_work import site
from tests.tasks.test_work_broker import delete_queues, wait_for, waiting, worker

TEXT_STAGES = 4  # outlinks, text_key, classifier, text_banks
# Short, generic posts: one item each.
TOPICS = ("the bus timetable", "the spring market", "the choir", "the library hours")


def posted(engine: Engine, settings: Settings, tmp_path: Path, count: int) -> list[int]:
    """``count`` text items stored, their ids in order."""
    lines = [
        f'{{"id": "p{n}", "text": "news about {TOPICS[n % len(TOPICS)]}, post number {n}"}}\n'
        for n in range(count)
    ]
    (tmp_path / "posts.jsonl").write_text("".join(lines))
    run_ingest(tmp_path / "posts.jsonl", "platform", engine, settings)
    with engine.connect() as connection:
        return [int(i) for i in connection.scalars(select(Item.id).order_by(Item.id))]


def in_messages(settings: Settings, item_ids: list[int], size: int) -> list[list[int]]:
    """The items sent ``size`` a message (as the items API sends a POST each), with no worker
    yet: the messages wait in the text queue."""
    parts = [item_ids[start : start + size] for start in range(0, len(item_ids), size)]
    for part in parts:
        assert submit(settings, part).messages == 1
    assert waiting(settings)["text"] == len(parts)
    return parts


def text_scans_per_item(engine: Engine) -> Counter[int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Item.id).join(TextScan, TextScan.text_sha256 == Item.text_sha256)
        ).all()
    return Counter(int(item_id) for (item_id,) in rows)


def record_calls(monkeypatch: pytest.MonkeyPatch, poisoned: int | None = None) -> list[Any]:
    """Each stage call a worker makes, as (stage, item ids, raised); a call holding
    ``poisoned`` raises, as a stage does on content it cannot process."""
    calls: list[Any] = []
    real = tasks_work.run_stage

    def recorded(here: work.Worksite, stage: str, item_ids: Sequence[int]) -> dict[str, Any]:
        if poisoned is not None and poisoned in item_ids:
            calls.append((stage, sorted(item_ids), True))
            raise ValueError(f"item {poisoned}: text cannot be decoded")
        done = real(here, stage, item_ids)
        calls.append((stage, sorted(item_ids), False))
        return done

    monkeypatch.setattr(tasks_work, "run_stage", recorded)
    return calls


@pytest.mark.parametrize(
    ("database_url", "broker"),
    [("sqlite", "rabbitmq"), ("postgresql", "rabbitmq"), ("postgresql", "redis")],
    indirect=True,
)
def test_messages_waiting_in_the_queue_are_processed_in_one_call_each_once(
    engine: Engine,
    broker_settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item_ids = posted(engine, broker_settings, tmp_path, 12)
    in_messages(broker_settings, item_ids, 3)  # four messages
    calls = record_calls(monkeypatch)
    here = site(engine, broker_settings, tiny_model)
    try:
        # One worker thread: Celery hands it the first message, it takes the three behind it.
        with worker(broker_settings, lambda: here, concurrency=1, keep_queues=True):
            wait_for(lambda: sum(text_scans_per_item(engine).values()) >= TEXT_STAGES * 12)
        # The worker and its connections gone: a message taken and not acknowledged would be
        # back in the queue now.
        time.sleep(1.0)
        assert waiting(broker_settings)["text"] == 0
    finally:
        delete_queues(broker_settings)
    assert calls == [("text", sorted(item_ids), False)]  # one call for the four messages
    assert text_scans_per_item(engine) == Counter({i: TEXT_STAGES for i in item_ids})
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Score)) == 12


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_poisoned_message_is_quarantined_while_its_batch_mates_are_stored_and_acknowledged(
    engine: Engine,
    broker_settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    three = broker_settings.model_copy(update={"task_attempts": 3})
    item_ids = posted(engine, three, tmp_path, 8)
    parts = in_messages(three, item_ids, 2)  # four messages of two items
    # The second message (taken beside Celery's first) holds an item every stage call fails on.
    poisoned, its_mate = parts[1]
    calls = record_calls(monkeypatch, poisoned)
    here = site(engine, three, tiny_model)
    here.settings = three
    try:
        with worker(three, lambda: here, concurrency=1, keep_queues=True):

            def quarantined() -> bool:
                with engine.connect() as connection:
                    return bool(connection.scalar(select(func.count()).select_from(Quarantine)))

            wait_for(quarantined)
            time.sleep(0.5)  # nothing else may run after it
        time.sleep(1.0)
        assert waiting(three)["text"] == 0  # every message acknowledged
    finally:
        delete_queues(three)
    with engine.connect() as connection:
        rows = connection.execute(select(Quarantine.file, Quarantine.reason)).all()
    assert [row.file for row in rows] == [f"item {poisoned}"]
    assert "text stage failed 3 times" in rows[0].reason
    assert f"ValueError: item {poisoned}: text cannot be decoded" in rows[0].reason
    # Everything else stored, once: the batch-mates and the poisoned item's own message-mate.
    assert text_scans_per_item(engine) == Counter(
        {i: TEXT_STAGES for i in item_ids if i != poisoned}
    )
    # The batch failed; then each message alone: the batch-mates passed at once and were never
    # run again, while the poisoned message failed its first attempt (in the batch, then alone),
    # was sent again with its back-off for two more, then each of its items was tried alone.
    assert calls[0] == ("text", sorted(item_ids), True)
    passed = Counter(i for _, ids, raised in calls if not raised for i in ids)
    assert passed == Counter({i: 1 for i in item_ids if i != poisoned})
    tries_of_poisoned = [ids for _, ids, _ in calls if poisoned in ids]
    first, alone = sorted(item_ids), sorted(parts[1])
    assert tries_of_poisoned == [first, alone, alone, alone, [poisoned]]
    assert ("text", [its_mate], False) in calls  # tried alone once the message gave up


# Both brokers redline supports: Redis keeps a taken message in its own "unacked" set, and
# puts it back when the connection that took it is closed.
@pytest.mark.parametrize(
    ("database_url", "broker"), [("postgresql", "rabbitmq"), ("postgresql", "redis")], indirect=True
)
def test_messages_taken_are_back_in_the_queue_unless_acknowledged(
    engine: Engine, broker_settings: Settings, tmp_path: Path
) -> None:
    """What happens to a batch whose worker dies before its call committed: the messages taken
    beside Celery's were not acknowledged, so closing the connection (as the process's death
    does) puts them back. A retry waiting out its back-off (an ETA) is left to Celery."""
    item_ids = posted(engine, broker_settings, tmp_path, 6)
    app = make_celery(broker_settings)
    queue = queue_name(broker_settings, TEXTS)
    try:
        in_messages(broker_settings, item_ids, 2)
        gatherer = Gatherer(str(broker_settings.broker_url), ["json"])
        taken = gatherer.take(queue, STAGE_TASK[work.TEXT], room=1000)
        assert [t.item_ids for t in taken] == [item_ids[0:2], item_ids[2:4], item_ids[4:6]]
        assert waiting(broker_settings)["text"] == 0
        gatherer.close()  # died mid-batch
        wait_for(lambda: waiting(broker_settings)["text"] == 3, 10)
        # Room for two messages: the third stays; acknowledged ones are gone for good.
        taken = gatherer.take(queue, STAGE_TASK[work.TEXT], room=5)
        assert len(taken) == 2
        for message in taken:
            message.ack()
        # (Which two: RabbitMQ puts messages back in their order, Redis not always.)
        sent = [item_ids[0:2], item_ids[2:4], item_ids[4:6]]
        (left,) = [part for part in sent if part not in [t.item_ids for t in taken]]
        gatherer.close()
        wait_for(lambda: waiting(broker_settings)["text"] == 1, 10)
        # A retry due later is not taken (nor anything behind it: Celery has it next).
        app.tasks[STAGE_TASK[work.TEXT]].apply_async(
            args=(item_ids[:1],), countdown=60, queue=queue
        )
        taken = gatherer.take(queue, STAGE_TASK[work.TEXT], room=1000)
        assert [t.item_ids for t in taken] == [left]
        for message in taken:
            message.ack()
        assert gatherer.take(queue, STAGE_TASK[work.TEXT], room=1000) == []
        gatherer.close()
        wait_for(lambda: waiting(broker_settings)["text"] == 1, 10)  # the retry, for Celery
    finally:
        delete_queues(broker_settings)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_takes_its_share_of_the_waiting_messages_not_all(
    engine: Engine, broker_settings: Settings, tmp_path: Path
) -> None:
    """Two busy consumers on the queue and four messages waiting: a worker done with its own
    takes two, and leaves two for the other (which would idle while it worked through all)."""
    from kombu import Connection, Consumer, Queue

    item_ids = posted(engine, broker_settings, tmp_path, 6)
    queue = queue_name(broker_settings, TEXTS)
    in_messages(broker_settings, item_ids, 1)
    gatherer = Gatherer(str(broker_settings.broker_url), ["json"])
    held: list[Any] = []
    connections = [Connection(broker_settings.broker_url) for _ in range(2)]
    try:
        for connection in connections:  # each a busy worker: one message in hand, unacknowledged
            channel = connection.channel()
            channel.basic_qos(0, 1, False)
            consumer = Consumer(channel, [Queue(queue, no_declare=True)], accept=["json"])
            consumer.register_callback(lambda _body, message: held.append(message))
            consumer.consume()
            connection.drain_events(timeout=10)
        assert len(held) == 2
        wait_for(lambda: waiting(broker_settings)["text"] == 4, 10)
        taken = gatherer.take(queue, STAGE_TASK[work.TEXT], room=1000)
        assert [t.item_ids for t in taken] == [item_ids[2:3], item_ids[3:4]]
    finally:
        gatherer.close()
        for connection in connections:
            connection.release()
        delete_queues(broker_settings)


@pytest.mark.parametrize("linger", [0.0, 1.5])
@pytest.mark.parametrize(
    ("database_url", "broker"), [("postgresql", "rabbitmq"), ("postgresql", "redis")], indirect=True
)
def test_a_worker_keeping_up_waits_once_for_the_messages_that_follow(
    engine: Engine,
    broker_settings: Settings,
    tmp_path: Path,
    tiny_model: TextModel,
    monkeypatch: pytest.MonkeyPatch,
    linger: float,
) -> None:
    """A stream of small POSTs, the worker keeping up: its call would hold one message, so it
    waits ``task_linger`` once and takes those that came meanwhile into the same call; without
    the wait, each message is a call of its own. Every item processed once either way, and no
    message taken before the wait is given back by the look after it (on Redis an emptied
    queue does not exist, and a failed look used to drop the connection holding them)."""
    lingering = broker_settings.model_copy(update={"task_linger": linger})
    item_ids = posted(engine, lingering, tmp_path, 6)
    calls = record_calls(monkeypatch)
    started: list[float] = []
    real_take = Gatherer.take

    def take(self: Gatherer, queue: str, task_name: str, room: int) -> list[Any]:
        started.append(time.monotonic())
        return real_take(self, queue, task_name, room)

    monkeypatch.setattr(Gatherer, "take", take)
    here = site(engine, lingering, tiny_model)
    try:
        with worker(lingering, lambda: here, concurrency=1, keep_queues=True):
            assert submit(lingering, item_ids[:2]).messages == 1
            wait_for(lambda: bool(started), 30)  # the worker has it and took what waited
            time.sleep(0.3)
            for part in (item_ids[2:4], item_ids[4:6]):  # two more POSTs, after its look
                assert submit(lingering, part).messages == 1
            wait_for(lambda: sum(text_scans_per_item(engine).values()) >= TEXT_STAGES * 6)
            time.sleep(2 * linger + 0.5)  # a message given back would be run again by now
        time.sleep(1.0)
        assert waiting(lingering)["text"] == 0
    finally:
        delete_queues(lingering)
    if linger:
        assert calls == [("text", sorted(item_ids), False)]  # one call for the three POSTs
    else:
        assert calls[0] == ("text", item_ids[:2], False)  # the first alone, the rest after it
        assert sorted(i for _, ids, _ in calls for i in ids) == item_ids  # each once
    assert text_scans_per_item(engine) == Counter({i: TEXT_STAGES for i in item_ids})


@pytest.mark.parametrize(
    ("database_url", "broker"), [("postgresql", "rabbitmq"), ("postgresql", "redis")], indirect=True
)
def test_the_messages_waiting_in_other_queues_are_counted_without_touching_those_taken(
    engine: Engine, broker_settings: Settings, tmp_path: Path
) -> None:
    """What decides whether a worker may wait for more of one stage's messages: the messages
    waiting in the other stages' queues, a queue no message went to counted as empty. Neither
    counting nor a look at an emptied queue gives back the messages the worker holds."""
    item_ids = posted(engine, broker_settings, tmp_path, 6)
    texts, hashing = queue_name(broker_settings, TEXTS), queue_name(broker_settings, "hashing")
    gatherer = Gatherer(str(broker_settings.broker_url), ["json"])
    try:
        in_messages(broker_settings, item_ids, 2)  # three text messages, no other queue made
        taken = gatherer.take(texts, STAGE_TASK[work.TEXT], room=2)
        assert [t.item_ids for t in taken] == [item_ids[0:2]]
        assert gatherer.waiting([texts]) == 2
        assert gatherer.waiting([hashing, texts]) == 2  # the missing queue: none, no error
        assert gatherer.waiting([hashing]) == 0
        taken += gatherer.take(texts, STAGE_TASK[work.TEXT], room=1000)
        assert [t.item_ids for t in taken] == [item_ids[0:2], item_ids[2:4], item_ids[4:6]]
        assert gatherer.take(texts, STAGE_TASK[work.TEXT], room=1000) == []  # emptied
        assert gatherer.waiting([texts, hashing]) == 0
        time.sleep(0.5)
        assert waiting(broker_settings)["text"] == 0  # all three still held
        for message in taken:
            message.ack()
        gatherer.close()
        time.sleep(0.5)
        assert waiting(broker_settings)["text"] == 0  # acknowledged: gone for good
    finally:
        gatherer.close()
        delete_queues(broker_settings)
