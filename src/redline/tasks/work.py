"""Processing stored items on Celery workers, or in this process when there is no broker.

``submit(settings, item_ids)`` is the one way content is sent to be processed, whoever stored it
(the items API, ``redline ingest``, ``redline scan`` with a broker). With ``REDLINE_BROKER_URL``
set, each chunk of items becomes a chain hash → match on the ``hashing`` and ``matching``
queues (for its items with media) and a text task on the ``text`` queue (for those with a text),
so each queue can have its own workers, and the items are marked as sent (``queued_at``); the
scheduler's round sends those whose sender died first. Without one, the same stage functions
(``redline.pipeline.work``) run here, in order.

Every task is safe to run twice (the stages are idempotent), so the messages are acknowledged
late and put back when a worker dies. A stage that raises is retried with exponential back-off
and jitter; after ``REDLINE_TASK_ATTEMPTS`` attempts its items are tried one by one once more and
those that still fail go to the quarantine with the stage and the error: never dropped. A match
or text task also takes the messages waiting behind it into the same call (``tasks.batch``), each
with these guarantees of its own.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine

from redline.config import Settings
from redline.index.store import Freshness, IndexStore
from redline.model.base import utcnow
from redline.pipeline.match import Matcher
from redline.pipeline.work import (
    HASH,
    MATCH,
    REMATCH_IN,
    STAGES,
    TEXT,
    Carried,
    Worksite,
    carried,
    mark_queued,
    run_stage,
    unsent,
)
from redline.signals.minhash import signature_values
from redline.store import make_engine
from redline.store.quarantine import quarantine_work
from redline.tasks.batch import Gatherer, Taken

log = logging.getLogger(__name__)

# Items per message: one bank look-up and one transaction for a chunk instead of per item, while
# a failing chunk is still small enough to retry item by item.
CHUNK: Final = 100
MAX_BACKOFF: Final = 600.0
HASHING, MATCHING, TEXTS, ACTIONS = "hashing", "matching", "text", "actions"
QUEUES: Final = (HASHING, MATCHING, TEXTS, ACTIONS)
STAGE_QUEUE: Final = {HASH: HASHING, MATCH: MATCHING, TEXT: TEXTS}
STAGE_TASK: Final = {HASH: "redline.hash", MATCH: "redline.match", TEXT: "redline.text"}
TICK_TASK: Final = "redline.tick"
# The stages whose messages a worker takes several at a time (``tasks.batch``): a hash message
# carries the chain to its match, which a batch would have to continue for each.
BATCHED: Final = (MATCH, TEXT)


def queue_name(settings: Settings, queue: str) -> str:
    """A queue's name on the broker: ``REDLINE_QUEUE_PREFIX`` + its name."""
    return settings.queue_prefix + queue


def task_routes(settings: Settings) -> dict[str, dict[str, str]]:
    """Which queue each task goes to."""
    routes = {
        name: {"queue": queue_name(settings, STAGE_QUEUE[stage])}
        for stage, name in STAGE_TASK.items()
    }
    routes[TICK_TASK] = {"queue": queue_name(settings, ACTIONS)}
    return routes


def backoff(settings: Settings, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: doubling from ``REDLINE_TASK_BACKOFF``, capped,
    with full jitter in its upper half (workers that failed together do not retry together)."""
    ceiling = min(MAX_BACKOFF, settings.task_backoff * 2.0 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def chunks(item_ids: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    """The ids in submission order, ``size`` at a time."""
    ids = list(dict.fromkeys(item_ids))
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def worksite(settings: Settings) -> Worksite:
    """A Worksite on the settings' database and data folder (one per process: the matcher keeps
    the bank indexes it loads)."""
    return worksite_on(settings, make_engine(settings.database_url))


def worksite_on(settings: Settings, engine: Engine) -> Worksite:
    """A Worksite on an engine the caller already has (and disposes of)."""
    indexes = IndexStore(engine, settings.data_dir, Freshness.of(settings))
    return Worksite(engine, settings, Matcher(engine, indexes))


def prepare(site: Worksite, queues: Collection[str]) -> None:
    """Load what a process taking ``queues`` (unprefixed names) needs before its first message:
    the text model, with a first prediction (numba's compiled code and scipy load then), and the
    text banks' compiled signatures. A model that cannot be loaded is logged here and fails the
    first text task, which retries it and quarantines the items after the last attempt, as any
    stage that fails."""
    if TEXTS not in queues:
        return
    signature_values(["A worker's first text, signed before it takes a message"])
    try:
        model = site.text_model()
        if model is not None:
            model.predict(["A worker's first text, scored before it takes a message"])
            log.info("text model %s loaded, before the first message", model.scoring_version())
    except Exception as error:
        log.error("the text model could not be loaded: %s", describe(error))


def describe(error: BaseException) -> str:
    """An error as the quarantine records it: its class and message, on one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:2000] if text else type(error).__name__


def give_up(
    site: Worksite, stage: str, item_ids: Sequence[int], error: BaseException, attempts: int
) -> dict[str, Any]:
    """The last attempt failed: try each item of the chunk once on its own (one bad item must not
    take the others with it), and quarantine those that fail still, with the stage and reason."""
    quarantined: list[int] = []
    done: list[int] = []
    for item_id in item_ids:
        reason = describe(error)
        if len(item_ids) > 1:
            try:
                run_stage(site, stage, [item_id])
                done.append(item_id)
                continue
            except Exception as alone:  # the item's own error is the one worth recording
                reason = describe(alone)
        with site.engine.begin() as connection:
            quarantine_work(connection, item_id, stage, reason, attempts, utcnow())
        log.error(
            "item %s: %s stage failed %s times, quarantined: %s", item_id, stage, attempts, reason
        )
        quarantined.append(item_id)
    return {"stage": stage, "done": done, "quarantined": quarantined}


@dataclass(slots=True)
class Submitted:
    """What ``submit`` did: messages sent to the broker, or stages run here."""

    items: int = 0
    messages: int = 0
    in_process: bool = False
    quarantined: list[int] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)  # in-process: counts summed over stages

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the API."""
        return {
            "items": self.items,
            "messages": self.messages,
            "in_process": self.in_process,
            "quarantined": self.quarantined,
            **self.done,
        }


def run_here(site: Worksite, item_ids: Sequence[int]) -> Submitted:
    """Every stage for the items in this process, in order, with the workers' rule for failures:
    up to ``task_attempts`` tries (no waiting: there is no other worker to wait for), then each
    item alone, then the quarantine."""
    submitted = Submitted(items=len(set(item_ids)), in_process=True)
    for chunk in chunks(item_ids):
        for stage in STAGES:
            for attempt in range(1, site.settings.task_attempts + 1):
                try:
                    counts = _run_current(site, stage, chunk)
                except Exception as error:
                    if attempt < site.settings.task_attempts:
                        continue
                    outcome = give_up(site, stage, chunk, error, attempt)
                    submitted.quarantined.extend(outcome["quarantined"])
                    break
                for key, value in counts.items():
                    submitted.done[key] = submitted.done.get(key, 0) + value
                break
    return submitted


def _run_current(site: Worksite, stage: str, item_ids: Sequence[int]) -> dict[str, Any]:
    """``run_stage``, and once more after loading the banks' latest change when it matched at an
    older version: in one process the caller is waiting for the result (an API request, an
    ingest), and there is no fleet whose reloads need spreading."""
    done = run_stage(site, stage, item_ids)
    if done.pop(REMATCH_IN, None) is None:
        return done
    site.matcher.indexes.expect_change()
    again = run_stage(site, stage, item_ids)
    again.pop(REMATCH_IN, None)
    return {key: done.get(key, 0) + again.get(key, 0) for key in {**done, **again}}


_apps: dict[tuple[str, str], Any] = {}
_apps_lock = threading.Lock()


def _celery(settings: Settings) -> Any:
    from redline.tasks import make_celery

    key = (settings.broker_url or "", settings.queue_prefix)
    with _apps_lock:
        if key not in _apps:
            _apps[key] = make_celery(settings)
        return _apps[key]


def send(app: Any, settings: Settings, item_ids: Sequence[int], what: Carried) -> int:
    """Put the items on the broker, per chunk: the chain hash → match for those that carry
    media, the text task for those with a text (a message with nothing to do still costs a
    worker a few look-ups and the broker a round trip)."""
    from celery import chain

    messages = 0
    for chunk in chunks(item_ids):
        media = [item_id for item_id in chunk if item_id in what.media]
        if media:
            chain(
                app.signature(STAGE_TASK[HASH], args=(media,), immutable=True).set(
                    queue=queue_name(settings, HASHING)
                ),
                app.signature(STAGE_TASK[MATCH], args=(media,), immutable=True).set(
                    queue=queue_name(settings, MATCHING)
                ),
            ).apply_async()
            messages += 1
        texts = [item_id for item_id in chunk if item_id in what.text]
        if texts:
            app.signature(STAGE_TASK[TEXT], args=(texts,)).apply_async(
                queue=queue_name(settings, TEXTS)
            )
            messages += 1
    return messages


@contextmanager
def _database(
    settings: Settings, site: Worksite | Callable[[], Worksite] | None
) -> Iterator[Engine]:
    """The site's engine, or one on the settings' database for the time of the call."""
    if site is not None:
        yield site.engine if isinstance(site, Worksite) else site().engine
        return
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def submit(
    settings: Settings,
    item_ids: Sequence[int],
    *,
    site: Worksite | Callable[[], Worksite] | None = None,
    carrying: Carried | None = None,
) -> Submitted:
    """Process the stored items: on the workers when a broker is set, else here and now.

    ``site`` is what in-process work runs with (a Worksite, or a function that makes one only
    when needed); by default one on the settings' database. With a broker, the stages the items
    need are ``carrying`` (what the caller that stored them knows), else looked up.
    """
    if not item_ids:
        return Submitted(in_process=not settings.broker_url)
    if settings.broker_url:
        # One connection for the look-up and the mark (the items API submits every POST: a
        # pool check-out is a ping, and its return a rollback).
        with _database(settings, site) as engine, engine.connect() as connection:
            what = carrying
            if what is None:
                what = carried(connection, item_ids)
                connection.rollback()  # not held open while the broker takes the messages
            sent = send(_celery(settings), settings, item_ids, what)
            # After the send: a crash between the two sends them again (harmless), never less.
            with connection.begin():
                mark_queued(connection, item_ids, utcnow())
        return Submitted(items=len(set(item_ids)), messages=sent)
    if site is None:
        made = worksite(settings)
        try:
            return run_here(made, item_ids)
        finally:
            made.engine.dispose()
    return run_here(site if isinstance(site, Worksite) else site(), item_ids)


# Seconds after a process's own reload is due that its items are matched again: a reload of
# large indexes takes a moment, and a message run early is only sent again.
REMATCH_MARGIN: Final = 1.0

RESEND_LIMIT: Final = 10_000  # items a round sends again at most; the next round takes the rest


def resend_unsent(
    settings: Settings,
    engine: Engine,
    now: datetime,
    *,
    site: Worksite | Callable[[], Worksite] | None = None,
) -> Submitted:
    """Send the items stored ``REDLINE_RESEND_AFTER`` seconds ago or more (within
    ``REDLINE_RESEND_WINDOW``) that were never sent to the workers and that no stage has
    touched: the process that stored them died before it sent them, so without this nothing
    would process them."""
    if not settings.resend_after:
        return Submitted(in_process=not settings.broker_url)
    with engine.connect() as connection:
        item_ids = unsent(
            connection,
            now - timedelta(seconds=settings.resend_window),
            now - timedelta(seconds=settings.resend_after),
            RESEND_LIMIT,
        )
    if item_ids:
        log.warning("%d stored items were never processed: sent again", len(item_ids))
    return submit(settings, item_ids, site=site or (lambda: worksite_on(settings, engine)))


def register(app: Any, settings: Settings, site: Callable[[], Worksite]) -> Gatherer | None:
    """The stage tasks on ``app``: acknowledged late, re-queued when a worker is lost, retried
    with back-off, quarantined after ``settings.task_attempts`` attempts. The match and text
    tasks take the messages waiting behind theirs into the same call (``tasks.batch``)."""
    gatherer = (
        Gatherer(settings.broker_url, list(app.conf.accept_content))
        if settings.broker_url and settings.task_batch > CHUNK
        else None
    )

    def run(here: Worksite, stage: str, item_ids: list[int]) -> dict[str, Any]:
        """``run_stage``; items it matched at an older banks version than the database's are
        sent to the stage again for when this process has loaded the newer one (its reload
        waits out a random delay, so the fleet's reloads are spread). Sent before this message
        is acknowledged: a crash between the two matches them twice (harmless), never less."""
        done = run_stage(here, stage, item_ids)
        delay = done.pop(REMATCH_IN, None)
        if delay is None:
            return done
        log.info(
            "%s stage matched %d items at an older banks version than the database's: sent "
            "again for %.1f s from now, after this process loads the change",
            stage,
            len(item_ids),
            delay + REMATCH_MARGIN,
        )
        for chunk in chunks(item_ids):
            app.signature(STAGE_TASK[stage], args=(chunk,), immutable=True).apply_async(
                queue=queue_name(settings, STAGE_QUEUE[stage]), countdown=delay + REMATCH_MARGIN
            )
        return {**done, "sent_again": len(item_ids)}

    def failed(stage: str, item_ids: list[int], error: Exception, tried: int) -> None:
        log.warning(
            "%s stage of %d items failed (attempt %d): %s",
            stage,
            len(item_ids),
            tried,
            describe(error),
        )

    def attempt(task: Any, stage: str, item_ids: list[int]) -> dict[str, Any]:
        here = site()
        if gatherer is not None and stage in BATCHED:
            batch = gather(stage, len(item_ids))
            if batch:
                return in_batch(task, here, stage, item_ids, batch)
        return alone(task, here, stage, item_ids)

    def gather(stage: str, held: int) -> list[Taken]:
        """The waiting messages that fit beside ``held`` items; if that makes a small call
        (less than half of ``task_batch``), once more after ``task_linger`` seconds, for those
        that came meanwhile. A worker keeping up with a stream of POSTs then calls the stage
        for several of them instead of each, at a cost of that wait in latency; a backlog
        fills the call at once and never waits."""
        assert gatherer is not None
        queue, name = queue_name(settings, STAGE_QUEUE[stage]), STAGE_TASK[stage]
        batch = gatherer.take(queue, name, settings.task_batch - held)
        held += sum(len(taken.item_ids) for taken in batch)
        if settings.task_linger > 0 and 2 * held < settings.task_batch and not other_work(stage):
            time.sleep(settings.task_linger)
            batch += gatherer.take(queue, name, settings.task_batch - held)
        return batch

    def alone(task: Any, here: Worksite, stage: str, item_ids: list[int]) -> dict[str, Any]:
        try:
            return run(here, stage, item_ids)
        except Exception as error:
            tried = int(task.request.retries) + 1
            if tried < settings.task_attempts:
                failed(stage, item_ids, error, tried)
                raise task.retry(
                    exc=error, countdown=backoff(settings, tried), max_retries=None
                ) from error
            return give_up(here, stage, item_ids, error, tried)

    def other_work(stage: str) -> bool:
        """Whether another stage's queue has messages waiting: a worker that serves it too must
        not idle for this one's sake (a photo's hashing costs far more than a call's)."""
        assert gatherer is not None
        others = [queue_name(settings, STAGE_QUEUE[s]) for s in STAGES if s != stage]
        return gatherer.waiting(others) > 0

    def in_batch(
        task: Any, here: Worksite, stage: str, item_ids: list[int], batch: list[Taken]
    ) -> dict[str, Any]:
        """One call for Celery's message and those taken beside it; each taken one acknowledged
        after the call committed. If it fails, each message on its own (one bad message must not
        fail the others): a taken one that fails again is sent again with its attempt counted,
        or quarantined after the last; Celery's own goes the way of a single message."""
        everything = list(dict.fromkeys([*item_ids, *(i for t in batch for i in t.item_ids)]))
        log.info(
            "%s stage: %d messages, %d items in one call", stage, 1 + len(batch), len(everything)
        )
        try:
            done = run(here, stage, everything)
        except Exception as error:
            log.warning(
                "%s stage of a batch of %d messages failed, each on its own now: %s",
                stage,
                1 + len(batch),
                describe(error),
            )
        else:
            for taken in batch:
                taken.ack()
            return {**done, "messages": 1 + len(batch)}
        for taken in batch:
            try:
                run(here, stage, taken.item_ids)
            except Exception as error:
                tried = taken.attempts + 1
                if tried < settings.task_attempts:
                    failed(stage, taken.item_ids, error, tried)
                    # Sent again before this delivery is acknowledged: a crash between the two
                    # runs it twice (harmless), never loses it.
                    task.apply_async(
                        args=(taken.item_ids,),
                        task_id=taken.task_id,
                        retries=tried,
                        countdown=backoff(settings, tried),
                        queue=queue_name(settings, STAGE_QUEUE[stage]),
                    )
                else:
                    give_up(here, stage, taken.item_ids, error, tried)
            taken.ack()
        return alone(task, here, stage, item_ids)

    options: dict[str, Any] = {
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "max_retries": None,  # counted by ``attempt`` against the setting
        # Each app's tasks close over its own settings: a shared task would be given to every
        # app made later in the process (tests, a web process that made one), with the wrong ones.
        "shared": False,
    }

    @app.task(name=STAGE_TASK[HASH], **options)  # type: ignore[untyped-decorator]
    def hash_task(task: Any, item_ids: list[int]) -> dict[str, Any]:
        """Hash the items' media (hashing queue)."""
        return attempt(task, HASH, item_ids)

    @app.task(name=STAGE_TASK[MATCH], **options)  # type: ignore[untyped-decorator]
    def match_task(task: Any, item_ids: list[int]) -> dict[str, Any]:
        """Match the items' media signals against the banks (matching queue)."""
        return attempt(task, MATCH, item_ids)

    @app.task(name=STAGE_TASK[TEXT], **options)  # type: ignore[untyped-decorator]
    def text_task(task: Any, item_ids: list[int]) -> dict[str, Any]:
        """Outlinks, classifier and text banks for the items' texts (text queue)."""
        return attempt(task, TEXT, item_ids)

    return gatherer
