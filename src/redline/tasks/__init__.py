"""Celery, when ``REDLINE_BROKER_URL`` is set: the processing of stored items (``tasks.work``:
hashing, matching and text stages on their own queues) and the scheduler's tick as a task that
Celery beat sends every ``REDLINE_SCHEDULER_INTERVAL`` seconds. Thin shells over
``redline.pipeline.work`` and ``redline.actions.scheduler``: results land in the database (cases,
alerts, the audit trail), never only in the broker, so a worker can die and another carries on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Final

from celery import Celery
from celery.signals import worker_process_init

from redline.config import Settings, get_settings
from redline.pipeline.work import Worksite
from redline.tasks import work


def make_celery(
    settings: Settings | None = None, site: Callable[[], Worksite] | None = None
) -> Celery:
    """The Celery app on the settings' broker, with the stage tasks and the scheduler's beat.

    ``site`` makes what the stage tasks work with; by default one Worksite per worker process,
    made on its first task (after the fork: a database connection must not cross one).
    """
    settings = settings or get_settings()
    app = Celery("redline", broker=settings.broker_url)
    app.conf.update(
        task_ignore_result=True,  # results are rows in redline's database
        task_acks_late=True,  # a task a dead worker took is run again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_routes=work.task_routes(settings),
        task_default_queue=work.queue_name(settings, work.ACTIONS),
        beat_schedule={
            "scheduler-tick": {"task": work.TICK_TASK, "schedule": settings.scheduler_interval}
        },
        broker_connection_retry_on_startup=True,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        # Redis redelivers an unacknowledged message after this; longer than any stage takes
        # (a video's vPDQ has REDLINE_VIDEO_HASH_CPU_SECONDS), or it would run twice at once.
        broker_transport_options={"visibility_timeout": 4 * 3600},
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # What takes waiting messages into a stage call (None: one message a call); kept on the app
    # so whoever runs the worker in its own process can close its connections.
    app.gathering = work.register(app, settings, site or per_process(settings))

    @app.task(name=work.TICK_TASK, shared=False)  # type: ignore[untyped-decorator]
    def tick() -> dict[str, Any]:
        """One round of the scheduler (see ``redline.actions.scheduler.tick``)."""
        from redline.actions import liveness, scheduler
        from redline.exchanges import run as exchange_run
        from redline.model.base import utcnow
        from redline.store import make_engine
        from redline.store.media import media_store

        current = get_settings()
        engine = make_engine(current.database_url)
        now = utcnow()
        try:
            done = scheduler.tick(
                engine,
                media_store(current),
                now,
                partial(liveness.check_url),
                delivery=scheduler.Delivery.from_settings(current),
            )
            # Items whose message was lost on the way to the broker (off unless configured).
            resent = work.resend_unsent(current, engine, now) if current.broker_url else None
            # The exchanges' part of the round (beside the actions', which know no banks).
            fetched = exchange_run.fetch_all(engine, now)
            # Reviewers' confirm/deconfirm feedback whose undo window is over.
            feedback = exchange_run.send_feedback(engine, now)
        finally:
            engine.dispose()
        return {
            **done.as_dict(),
            "resent": resent.items if resent else 0,
            "exchanges": [f.as_dict() for f in fetched],
            "feedback": {"sent": feedback.sent, "kept": feedback.kept, "errors": feedback.errors},
        }

    return app


# How long a new worker process may take to be ready (Celery's default is 4 s): it loads the text
# model (seconds; more on a loaded machine) before it takes its first message.
READY_TIMEOUT: Final = 300.0


def node_name(pid: int, host: str = "%h") -> str:
    """The Celery node name of the ``redline worker`` with process id ``pid`` (``%h``: Celery
    puts in the host's name). Celery's default, celery@HOST, names the worker's exclusive
    remote-control queue on the broker, so a second worker on the same host (or on a host with
    the same name, or of another installation on the broker) was refused it and stopped
    (RESOURCE_LOCKED)."""
    return f"redline-{pid}@{host}"


def run_worker(
    settings: Settings, queues: Sequence[str], concurrency: int | None, beat: bool
) -> None:
    """Run a Celery worker on ``queues`` (unprefixed names) whose processes each load what
    those queues need before they take a message: a process that loaded the text model on its
    first task held that task (and the items' cases) for seconds, and a worker that had not yet
    taken a text task was seconds slower than the others."""
    argv = ["worker", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
    argv += ["--hostname", node_name(os.getpid())]
    argv += ["--queues", ",".join(work.queue_name(settings, q) for q in queues)]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        argv.append("--beat")
    if (concurrency or os.cpu_count() or 1) > 1:
        _import_for_the_pool()
    site = per_process(settings)
    app = make_celery(settings, site)
    app.conf.worker_proc_alive_timeout = READY_TIMEOUT

    def prepare(**_: Any) -> None:
        work.prepare(site(), queues)

    worker_process_init.connect(prepare, weak=False)
    app.worker_main(argv)


def _import_for_the_pool() -> None:
    """Import the libraries the stage tasks load on first use (every other command leaves them
    out of its start-up): Celery forks its pool processes from this one, so several of them
    share these instead of each importing them again. A pool of one imports them itself (the
    text model's as it starts, the text banks' at its first text task), the same work done
    after the worker is ready instead of before."""
    import datasketch  # noqa: F401  # text banks (redline.signals.minhash, redline.index.textlsh)
    import numba  # noqa: F401  # the text model's features (redline.classify.chargrams, .tfidf)
    from scipy import sparse  # noqa: F401  # its feature matrices


def per_process(settings: Settings) -> Callable[[], Worksite]:
    """A function giving this process's Worksite, made on the first call (after the fork: a
    database connection must not cross one)."""
    made: list[Worksite] = []
    lock = threading.Lock()

    def site() -> Worksite:
        with lock:
            if not made:
                made.append(work.worksite(settings))
            return made[0]

    return site
