"""Celery, when ``REDLINE_BROKER_URL`` is set: the scheduler's tick as a task that Celery beat
sends every ``REDLINE_SCHEDULER_INTERVAL`` seconds. A thin shell over
``redline.actions.scheduler``: results land in the database (alerts and checks in the audit
trail), never only in the broker, so a worker can die and another carries on.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Celery

from redline.config import Settings, get_settings


def make_celery(settings: Settings | None = None) -> Celery:
    """The Celery app on the settings' broker, with the scheduler's beat."""
    settings = settings or get_settings()
    app = Celery("redline", broker=settings.broker_url)
    app.conf.update(
        task_ignore_result=True,  # results are rows in redline's database
        task_acks_late=True,  # a tick a dead worker took is run again
        worker_prefetch_multiplier=1,
        beat_schedule={
            "scheduler-tick": {"task": "redline.tick", "schedule": settings.scheduler_interval}
        },
        broker_connection_retry_on_startup=True,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    @app.task(name="redline.tick")  # type: ignore[untyped-decorator]
    def tick() -> dict[str, Any]:
        """One round of the scheduler (see ``redline.actions.scheduler.tick``)."""
        from redline.actions import liveness, scheduler
        from redline.model.base import utcnow
        from redline.store import make_engine

        current = get_settings()
        engine = make_engine(current.database_url)
        try:
            done = scheduler.tick(
                engine,
                current.data_dir,
                utcnow(),
                partial(liveness.check_url),
                delivery=scheduler.Delivery.from_settings(current),
            )
        finally:
            engine.dispose()
        return done.as_dict()

    return app
