"""Crash test: work on Celery workers is done exactly once through SIGKILLed workers, a broker
restart and dropped database connections.

5,000 items are stored and queued by the items API's own functions (``ingest_records``, then
``submit``), in batches while the run goes on, to two ``redline worker`` processes (the CLI, as
deployed) on a RabbitMQ node of this test's own and the session's PostgreSQL database. A worker
is killed with SIGKILL 20 times, each time at a random point after it has taken work (its whole
process group: Celery's main process and its pool process, as when a machine or container dies),
and started again at once. Then the broker is stopped and started again with messages queued and
in flight, and the last batch is queued after it is back; then every database connection of the
workers is terminated (``pg_terminate_backend``) while they work.

Then, counted from the database once the queues are empty: every item processed (each text stage
recorded for its text, its media's PDQ signal matched at the banks' version); exactly one match
for each item whose text or media repeats a bank's content and none for the others; exactly one
case for each item that should have one (those matches and the texts the classifier flags) and
none for the others; one ``match.found`` and one ``case.opened`` webhook event per match and case
(what a platform would receive: the outbox has no unique key to hide a duplicate); nothing in the
quarantine. Workers take the messages waiting in their queue into one stage call
(``redline.tasks.batch``): the test checks that they did, and prints how many kills caught such a
batch in flight. The kill points come from a seed printed at the start (REDLINE_CRASH_SEED=N gives
the same delays again).

Items are text posts, half of them with a photo the platform hashed itself (PDQ and MD5, no
bytes), so processing is cheap and the test costs what the restarts cost; the workers score texts
with the tiny test model (REDLINE_TEXT_MODEL), which loads in milliseconds where the shipped one
takes seconds at each restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from redline.actions.webhooks import add_subscription
from redline.banks import add_entry, add_text, create_bank
from redline.classify.model import TextModel
from redline.config import Settings
from redline.ingest.jsonl import record_from_object
from redline.ingest.run import ingest_records
from redline.model import Case, Item, Quarantine, Score, TextScan
from redline.store import counters
from redline.tasks.work import HASHING, MATCHING, TEXTS, queue_name, submit
from tests import rabbit_node
from tests.conftest import IN_CI

ITEMS = 5000
BATCH = 200  # records per submission, as a platform posts them
KILLS = 20
KILL_WITHIN_S = 2.0  # a kill comes at a random point this long after the worker took work
WORKERS = 2
SOURCE = "platform"
ACTOR = "crash-test"
WAIT_LIMIT_S = 600.0  # a bound for a stuck run, not a speed
STALL_S = 60.0  # no item processed for this long once all is queued: work was lost
TEXT_STAGES = ("outlinks", "text_key", "classifier", "text_banks")
# Generic, harmless phrases: the known texts of the test's text bank; every tenth item reposts
# one with a mark of its own (a distinct text that matches).
KNOWN_TEXTS = (
    "The harbour festival returns next weekend with boat tours, a brass band on the pier and "
    "fresh bread from the old mill, bring the whole family and a warm coat",
    "Volunteers are needed to plant trees in the north park on Saturday morning, gloves and "
    "tools are provided, coffee and cake afterwards in the community hall",
    "The library extends its opening hours during the exam weeks, quiet rooms can be booked "
    "online and the reading room stays open until midnight on weekdays",
)
SUBJECTS = ("The town council", "Our running club", "The museum", "A neighbourhood cafe")
VERBS = ("announced", "moved", "shared pictures of", "asked for help with")
OBJECTS = ("the autumn fair", "the night bus plan", "the jazz evening", "the clean-up day")
BANK_PDQS = 50


@dataclass(frozen=True)
class Corpus:
    """The records, and which of them should end with a match or a case."""

    records: list[dict[str, Any]]
    text_matches: set[str]  # external ids whose text repeats a bank's text
    media_matches: set[str]  # external ids whose media's PDQ is near a bank's
    bank_pdqs: list[str]


def _pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _near(pdq: str, rng: random.Random) -> str:
    """The PDQ with four of its 256 bits flipped (distance 4: a match)."""
    value = int(pdq, 16)
    for bit in rng.sample(range(256), 4):
        value ^= 1 << bit
    return f"{value:064x}"


def make_corpus() -> Corpus:
    rng = random.Random(16)  # the data is the same every run; only the kill points vary
    bank = [_pdq(rng) for _ in range(BANK_PDQS)]
    records, text_matches, media_matches = [], set(), set()
    for number in range(ITEMS):
        external_id = f"p{number}"
        if number % 10 == 0:
            body = f"{KNOWN_TEXTS[number // 10 % len(KNOWN_TEXTS)]} (post {external_id})"
            text_matches.add(external_id)
        elif number % 25 == 3:  # what the tiny test model flags (tests/text_model.py)
            body = f"share the new zorblat release number {number} everyone"
        else:
            body = (
                f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, "
                f"post {external_id}"
            )
        record: dict[str, Any] = {"id": external_id, "text": body, "account": f"a{number % 97}"}
        if number % 2 == 1:  # a photo the platform hashed itself
            if number % 10 == 5:
                pdq = _near(bank[number // 10 % BANK_PDQS], rng)
                media_matches.add(external_id)
            else:
                pdq = _pdq(rng)
            md5 = hashlib.md5(f"photo {number}".encode(), usedforsecurity=False).hexdigest()
            record["media"] = [{"pdq": pdq, "md5": md5}]
        records.append(record)
    return Corpus(records, text_matches, media_matches, bank)


# --- the worker processes -------------------------------------------------------------------

REDLINE = (sys.executable, "-m", "redline")
# A stage's attempt that lost its database connection (the drop is the only fault that does).
DROPPED_LINE = re.compile(r"stage of \d+ items failed \(attempt \d+\): OperationalError")
TASK_LINE = re.compile(r"Task (redline\.\w+)\[([0-9a-f-]+)\] (received|succeeded|retry|raised)")
# A call that took messages waiting behind Celery's (redline.tasks.batch), logged before it runs.
BATCH_LINE = re.compile(r"stage: (\d+) messages, \d+ items in one call")
FINISHED_LINE = re.compile(r"Task redline\.\w+\[[0-9a-f-]+\] (succeeded|retry|raised)")


@dataclass
class Worker:
    """One ``redline worker`` and its restarts; each life logs to a file of its own."""

    number: int
    env: dict[str, str]
    folder: Path
    lives: int = 0
    process: subprocess.Popen[bytes] | None = None
    started: list[float] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.folder / f"worker-{self.number}-{self.lives}.log"

    def start(self) -> None:
        self.lives += 1
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [*REDLINE, "worker", "--queues", "hashing,matching,text", "--concurrency", "1"],
                env=self.env,
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its pool process is in its group, killed with it
            )

    def tasks(self, since: int = 0) -> Counter[str]:
        """This life's task lines (from byte ``since`` of its log) by state; "open": taken and
        not finished (in flight)."""
        with self.log.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace")
        states: dict[str, set[str]] = {}
        for _name, task_id, state in TASK_LINE.findall(lines):
            states.setdefault(state, set()).add(task_id)
        received = states.get("received", set())
        finished = set().union(*(states.get(s, set()) for s in ("succeeded", "retry", "raised")))
        counts = Counter({state: len(ids) for state, ids in states.items()})
        counts["open"] = len(received - finished)
        return counts

    def wait_for_work(self, since: int = 0, unless: Any = None) -> None:
        """Until this life has taken a task (after byte ``since`` of its log): it is up and busy;
        or until ``unless()`` is true (checked every half second: no work is left to take)."""
        deadline = time.monotonic() + WAIT_LIMIT_S
        polls = 0
        while not self.tasks(since)["received"]:
            self.check_alive()
            if unless is not None and polls % 10 == 0 and unless():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.number} took no task in {WAIT_LIMIT_S:.0f} s")
            polls += 1
            time.sleep(0.05)

    def wait_until_ready(self) -> None:
        """Until this life says it is ready (connected, consuming)."""
        deadline = time.monotonic() + WAIT_LIMIT_S
        while b" ready." not in self.log.read_bytes():
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.number} not ready in {WAIT_LIMIT_S:.0f} s")
            time.sleep(0.05)

    def check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"worker {self.number} exited by itself: {tail}")

    def kill(self) -> Counter[str]:
        """SIGKILL every process of this worker; what this life had done (see ``tasks``)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        done = self.tasks()
        # A batch in flight: its line after the last task that finished (its messages, taken
        # unacknowledged, must come back to the queue with the dead worker's connections).
        lines = self.log.read_text(errors="replace")
        batch_at = max((m.start() for m in BATCH_LINE.finditer(lines)), default=-1)
        finished_at = max((m.start() for m in FINISHED_LINE.finditer(lines)), default=-1)
        done["mid_batch"] = int(batch_at > finished_at)
        return done

    def stop(self) -> None:
        """Ask for Celery's warm shutdown: the task in hand is finished (see ``wait``)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self) -> None:
        """Until stopped (killed after a minute) or killed."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[rabbit_node.RabbitNode]:
    problem = rabbit_node.missing()
    if problem:
        if IN_CI:
            pytest.fail(f"the crash test needs a RabbitMQ install of its own in CI: {problem}")
        pytest.skip(problem)
    node = rabbit_node.RabbitNode(tmp_path / "rabbit")
    try:
        node.launch()  # it boots while the rest is set up; the test waits for it
        yield node
    finally:
        node.kill()


# --- storing, counting ----------------------------------------------------------------------


def store_and_queue(
    engine: Engine, settings: Settings, records: list[dict[str, Any]], folder: Path
) -> None:
    """What POST /api/v1/items does with a batch: store it, then queue the stored items."""
    reads = [
        record_from_object(
            record,
            base_dir=folder,
            file="api",
            location=f"record {n}",
            raw=json.dumps(record).encode(),
        )
        for n, record in enumerate(records, start=1)
    ]
    outcomes = ingest_records(
        reads, SOURCE, engine=engine, settings=settings, actor=ACTOR, format_name="api"
    )
    stored = [o.item_id for o in outcomes if o.status == "stored" and o.item_id]
    assert len(stored) == len(records), [o.as_dict() for o in outcomes if o.status != "stored"]
    submit(settings, stored)


def processed(engine: Engine) -> int:
    """Items with every text stage recorded for their text and every signal of their media
    (the PDQ and MD5 the platform sent) matched at the banks' current version."""
    query = text(
        """
        SELECT count(*) FROM items i
        WHERE (SELECT count(DISTINCT ts.stage) FROM text_scans ts
               WHERE ts.text_sha256 = i.text_sha256 AND ts.stage = ANY(:stages)) = :n_stages
          AND NOT EXISTS (
              SELECT 1 FROM item_media im JOIN signals s ON s.media_sha256 = im.media_sha256
              WHERE im.item_id = i.id
                AND s.matched_generation IS DISTINCT FROM :generation)
        """
    )
    with engine.connect() as connection:
        generation = counters.current(connection, counters.BANKS)
        done = connection.scalar(
            query,
            {"stages": list(TEXT_STAGES), "n_stages": len(TEXT_STAGES), "generation": generation},
        )
    return int(done or 0)


def per_item(engine: Engine, sql: str) -> Counter[str]:
    """``sql`` selects one external id per row; how many rows each has."""
    with engine.connect() as connection:
        return Counter(str(row[0]) for row in connection.execute(text(sql)))


def queued_messages(node: rabbit_node.RabbitNode, settings: Settings) -> int:
    """Messages on the test's queues, ready or taken and not acknowledged yet."""
    listed = subprocess.run(
        [
            str(rabbit_node._command("rabbitmqctl")),
            *("-n", node.name, "list_queues", "name", "messages", "--quiet", "--no-table-headers"),
        ],
        env={**node.env, **rabbit_node._cli_ports()},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    counts = dict(line.split() for line in listed.stdout.splitlines() if len(line.split()) == 2)
    ours = [queue_name(settings, q) for q in (HASHING, MATCHING, TEXTS)]  # the workers' queues
    missing = [name for name in ours if name not in counts]
    assert not missing, f"rabbitmqctl list_queues: no {missing} in {listed.stdout[:2000]!r}"
    return sum(int(counts[name]) for name in ours)


def wait_until(check: Any, what: str, workers: list[Worker], every: float = 0.5) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not check():
        for worker in workers:
            worker.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {WAIT_LIMIT_S:.0f} s")
        time.sleep(every)


# The other clients of the test's database (the workers', and this process's idle pool).
OTHERS = (
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND backend_type = 'client backend'"
)
# One round trip: when another client is in a query or a transaction, terminate every other one.
DROP_WHEN_BUSY = text(
    f"""
    SELECT now.busy, CASE WHEN now.busy > 0 THEN (
        SELECT count(pg_terminate_backend(pid)) {OTHERS}) END
    FROM (SELECT count(*) AS busy {OTHERS}
          AND state IN ('active', 'idle in transaction')) AS now
    """
)


def drop_connections(engine: Engine, within: float = 30.0) -> tuple[int, int]:
    """Terminate the workers' database connections once, at a moment one of them is at work
    (or after ``within`` seconds); (connections at work then, connections terminated)."""
    deadline = time.monotonic() + within
    while True:
        with engine.connect() as connection:  # a new transaction: a new view of the activity
            busy, dropped = connection.execute(DROP_WHEN_BUSY).one()
        if dropped is not None:
            return int(busy), int(dropped)
        if time.monotonic() > deadline:
            with engine.connect() as connection:
                dropped = connection.scalar(
                    text(f"SELECT count(pg_terminate_backend(pid)) {OTHERS}")
                )
            return 0, int(dropped or 0)
        time.sleep(0.01)


def redeliveries(folder: Path) -> tuple[int, int]:
    """From every worker log: (tasks taken again after being taken by a worker that died or
    lost the broker, attempts that failed on a terminated database connection)."""
    received, retries, ids, terminated = 0, 0, set(), 0
    for log in folder.glob("worker-*.log"):
        lines = log.read_text(errors="replace")
        for _name, task_id, state in TASK_LINE.findall(lines):
            ids.add(task_id)
            received += state == "received"
            retries += state == "retry"
        terminated += len(DROPPED_LINE.findall(lines))
    return received - len(ids) - retries, terminated


def batched_calls(folder: Path) -> Counter[int]:
    """From every worker log: the calls that took several messages, by their number of
    messages."""
    found: Counter[int] = Counter()
    for log in folder.glob("worker-*.log"):
        found.update(int(n) for n in BATCH_LINE.findall(log.read_text(errors="replace")))
    return found


def wait_for_all(engine: Engine, workers: list[Worker]) -> None:
    """Until every item is processed; an error as soon as nothing moves for ``STALL_S`` (work
    lost: nothing left to run would make the count grow)."""
    last, moved = -1, time.monotonic()
    while (done := processed(engine)) < ITEMS:
        for worker in workers:
            worker.check_alive()
        if done != last:
            last, moved = done, time.monotonic()
        elif time.monotonic() - moved > STALL_S:
            raise AssertionError(f"{ITEMS - done} of {ITEMS} items never processed")
        time.sleep(0.5)


# --- the test -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_item_is_processed_once_through_kills_a_broker_restart_and_lost_connections(
    engine: Engine,
    settings: Settings,
    broker: rabbit_node.RabbitNode,
    tiny_model: TextModel,
    tiny_model_path: Path,
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("REDLINE_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash test seed: {seed} (REDLINE_CRASH_SEED={seed} repeats the kill points)")
    rng = random.Random(seed)
    started = time.monotonic()
    corpus = make_corpus()
    on_broker = settings.model_copy(
        update={
            "broker_url": broker.url,
            "queue_prefix": f"crash-{uuid.uuid4().hex[:8]}-",
            "task_backoff": 0.2,
            "text_model": tiny_model_path,
        }
    )
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": settings.database_url,
        "REDLINE_DATA_DIR": str(settings.data_dir),
        "REDLINE_BROKER_URL": broker.url,
        "REDLINE_QUEUE_PREFIX": on_broker.queue_prefix,
        "REDLINE_TASK_BACKOFF": str(on_broker.task_backoff),
        "REDLINE_TEXT_MODEL": str(tiny_model_path),
    }
    folder = tmp_path / "run"
    folder.mkdir()
    workers = [Worker(n, env, folder) for n in range(WORKERS)]
    batches = [corpus.records[s : s + BATCH] for s in range(0, ITEMS, BATCH)]
    killed: list[Counter[str]] = []  # each killed life's tasks
    phases: dict[str, float] = {}
    waiting: dict[str, int] = {}  # items queued and not processed yet

    def phase(name: str) -> None:
        phases[name] = time.monotonic() - started - sum(phases.values())

    try:
        for worker in workers:  # they boot while the banks are made and the broker comes up
            worker.start()
        now = datetime.now(UTC)
        with engine.begin() as connection:
            create_bank(connection, "known-texts", actor=ACTOR, now=now)
            for known in KNOWN_TEXTS:
                add_text(connection, "known-texts", known, actor=ACTOR, now=now)
            create_bank(connection, "known-photos", actor=ACTOR, now=now)
            for pdq in corpus.bank_pdqs:
                add_entry(connection, "known-photos", {"pdq": pdq}, actor=ACTOR, now=now)
            add_subscription(
                connection,
                ACTOR,
                "platform",
                "https://platform.example/redline-events",
                ["match.found", "case.opened"],
                now,
            )
        broker.wait_ready()
        # 20 kills, alternating between the workers, each after a batch is queued and once the
        # worker has taken work, at a random point of the next two seconds (its first task, which
        # loads the model and the bank indexes, or any after it).
        phase("setup")
        for kill in range(KILLS):
            target = workers[kill % WORKERS]
            target.wait_until_ready()
            mark = target.log.stat().st_size
            store_and_queue(engine, on_broker, batches.pop(0), folder)
            # The batch can be done with no new task line of the target's: the other worker took
            # it all, or the task the target already held gathered it into its call
            # (tasks/batch.py). Then there is no work to wait for, and the kill falls where it may.
            queued = ITEMS - len(batches) * BATCH
            target.wait_for_work(mark, unless=lambda queued=queued: processed(engine) >= queued)
            time.sleep(rng.uniform(0.0, KILL_WITHIN_S))
            killed.append(target.kill())
            target.start()
        phase("20 kills")
        # The broker restarted with work queued (all but the last batch), and the last batch
        # queued once it is back (the publisher reconnects).
        while len(batches) > 1:
            store_and_queue(engine, on_broker, batches.pop(0), folder)
        waiting["at the broker restart"] = ITEMS - len(batches) * BATCH - processed(engine)
        broker.restart()
        phase("broker restart")
        marks = [worker.log.stat().st_size for worker in workers]
        store_and_queue(engine, on_broker, batches.pop(0), folder)
        # Both workers back at work, then their database connections go away under them. The
        # first back may take all that is left before the other's reconnect back-off ends: then
        # the connections are dropped with nothing left to do, and must not matter either.
        for worker, mark in zip(workers, marks, strict=True):
            worker.wait_for_work(mark, unless=lambda: processed(engine) >= ITEMS)
        time.sleep(rng.uniform(0.0, 0.3))
        waiting["at the connection drop"] = ITEMS - processed(engine)
        busy, dropped = drop_connections(engine)
        phase("back to work, connections dropped")
        wait_for_all(engine, workers)
        phase("the rest processed")
        # Nothing left to run twice before counting: the queues empty, then a warm shutdown.
        wait_until(
            lambda: queued_messages(broker, on_broker) == 0, "queues empty", workers, every=2.0
        )
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.wait()
        phase("queues empty, workers stopped")
    finally:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.kill()
    again, failed_on_drop = redeliveries(folder)
    batches = batched_calls(folder)
    print(
        f"{again} tasks redelivered, {failed_on_drop} attempts failed on a dropped connection;"
        f" {KILLS} kills, {sum(1 for k in killed if k['open'])} with a task in flight (tasks"
        f" done before each: {[k['succeeded'] + k['retry'] for k in killed]});"
        f" items waiting: {waiting}; {dropped} database connections dropped ({busy} at work);"
        f" calls that took several messages, by messages: {dict(sorted(batches.items()))}"
        f" ({sum(k['mid_batch'] for k in killed)} kills caught one in flight);"
        f" {time.monotonic() - started:.1f} s: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
    )
    assert dropped, "the workers had no database connection to drop"
    assert any(k["open"] for k in killed), "no kill caught a worker with a task in flight"
    assert batches, "no worker took several waiting messages into one call"

    flagged = {
        record["id"]
        for record, prediction in zip(
            corpus.records,
            tiny_model.predict([r["text"] for r in corpus.records], explain=False),
            strict=True,
        )
        if prediction.flagged
    }
    assert len(flagged) >= ITEMS // 25  # the tiny model flags what it was trained to
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Item)) == ITEMS
        quarantined = connection.execute(select(Quarantine.file, Quarantine.reason)).all()
        assert quarantined == [], quarantined[:5]
        assert connection.scalar(select(func.count()).select_from(Score)) == ITEMS
        assert (
            connection.scalar(select(func.count()).select_from(TextScan))
            == len(TEXT_STAGES) * ITEMS
        )
        assert connection.scalar(select(func.count()).select_from(Case)) == len(
            corpus.text_matches | corpus.media_matches | flagged
        )
    assert processed(engine) == ITEMS

    text_matches = per_item(
        engine,
        "SELECT i.external_id FROM items i JOIN matches m ON m.text_sha256 = i.text_sha256",
    )
    assert set(text_matches) == corpus.text_matches
    assert set(text_matches.values()) == {1}, text_matches.most_common(3)
    media_matches = per_item(
        engine,
        "SELECT i.external_id FROM items i JOIN item_media im ON im.item_id = i.id"
        " JOIN matches m ON m.media_sha256 = im.media_sha256",
    )
    assert set(media_matches) == corpus.media_matches
    assert set(media_matches.values()) == {1}, media_matches.most_common(3)
    cases = per_item(engine, "SELECT i.external_id FROM items i JOIN cases c ON c.item_id = i.id")
    assert set(cases) == corpus.text_matches | corpus.media_matches | flagged
    assert set(cases.values()) == {1}

    # What the platform would be told: each match and each case once.
    told = "SELECT i.external_id FROM webhook_deliveries d JOIN items i ON i.id = d.item_id"
    match_events = per_item(engine, f"{told} WHERE d.event = 'match.found'")
    assert match_events == text_matches + media_matches, (
        match_events - (text_matches + media_matches)
    ).most_common(3)
    case_events = per_item(engine, f"{told} WHERE d.event = 'case.opened'")
    assert case_events == cases, (case_events - cases).most_common(3)
