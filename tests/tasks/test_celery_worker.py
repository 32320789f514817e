"""The scheduler on Celery: `redline worker` with a real Redis broker and beat raises the alert
of a removal order near its deadline, and records it in the database; its rounds also send
again the stored items no worker ever touched (their message was lost), which it then processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from redline.actions import orders
from redline.config import Settings
from redline.model import AuditEvent, Item
from redline.model.base import utcnow
from redline.pipeline import work
from tests.helpers import only_on
from tests.review_desk import Desk

BROKER = os.environ.get("REDLINE_TEST_BROKER", "redis://127.0.0.1:6379/15")
URL = "https://host.example/post/1"


def broker_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def unsent(desk: Desk) -> list[int]:
    with desk.engine.connect() as connection:
        now = utcnow()
        return work.unsent(connection, now - timedelta(days=1), now + timedelta(days=1), 1000)


def test_celery_beat_runs_the_scheduler_and_alerts_land_in_the_database(
    desk: Desk, tiny_model_path: Path
) -> None:
    if not broker_up():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the Redis broker at {BROKER} is needed in CI")
        pytest.skip(f"no Redis broker at {BROKER}")
    received = utcnow() - timedelta(minutes=50)
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-C", received, received, [URL], "Art. 2(7)"),
            received,
        )
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": desk.settings.database_url,
        "REDLINE_DATA_DIR": str(desk.settings.data_dir),
        "REDLINE_BROKER_URL": BROKER,
        "REDLINE_SCHEDULER_INTERVAL": "1",
        "REDLINE_RESEND_AFTER": "1",
        "REDLINE_QUEUE_PREFIX": f"test-{uuid.uuid4().hex[:8]}-",
        "REDLINE_TEXT_MODEL": str(tiny_model_path),  # the shipped one is seconds to load
    }
    lost = unsent(desk)  # the desk's items were stored and never sent to a worker
    assert lost
    worker = subprocess.Popen(
        [sys.executable, "-m", "redline", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180  # a bound, not a speed: loaded CI machines start slowly
        alerts: list[AuditEvent] = []
        while time.monotonic() < deadline and (not alerts or unsent(desk)):
            time.sleep(1)
            assert worker.poll() is None, (
                worker.stderr.read().decode()[-2000:] if worker.stderr else ""
            )
            with desk.engine.connect() as connection:
                alerts = list(
                    connection.execute(
                        select(AuditEvent).where(AuditEvent.action == "removal_order.alert")
                    ).all()
                )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert unsent(desk) == [], "stored items never processed after three minutes"
    assert len(alerts) == 1, "no alert within three minutes"
    assert alerts[0].actor == "scheduler" and alerts[0].after == {"kind": "due_soon"}


@only_on("sqlite")  # a worker's start-up: the database takes no part
def test_each_worker_process_loads_the_text_model_before_its_first_message(
    settings: Settings, tiny_model_path: Path, tmp_path: Path
) -> None:
    """A worker process loaded the model on its first text task: that task (and its items'
    cases) waited seconds, and in a benchmark the worker that had not yet had one was the slow
    one. A model that cannot be loaded is said at start, and the worker stays up (its tasks fail
    and are retried, then quarantined, as any stage's)."""
    if not broker_up():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the Redis broker at {BROKER} is needed in CI")
        pytest.skip(f"no Redis broker at {BROKER}")
    base = {
        **os.environ,
        "REDLINE_DATABASE_URL": settings.database_url,
        "REDLINE_DATA_DIR": str(settings.data_dir),
        "REDLINE_BROKER_URL": BROKER,
    }
    models = {"ready": tiny_model_path, "broken": tmp_path / "no-such-model.npz"}
    workers = {
        name: subprocess.Popen(
            [sys.executable, "-m", "redline", "worker", "--queues", "text", "--concurrency", "1"],
            env={
                **base,
                "REDLINE_TEXT_MODEL": str(path),
                # Queues of their own, never sent a message: what is loaded is loaded at start.
                "REDLINE_QUEUE_PREFIX": f"test-{uuid.uuid4().hex[:8]}-",
            },
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{name}.log").open("wb"),
        )
        for name, path in models.items()
    }
    expected = {"ready": "text model tiny", "broken": "the text model could not be loaded"}
    try:
        deadline = time.monotonic() + 180  # a bound, not a speed
        logs = {name: "" for name in workers}
        while time.monotonic() < deadline:
            logs = {name: (tmp_path / f"{name}.log").read_text() for name in workers}
            if all(expected[name] in logs[name] for name in workers):
                break
            for name, process in workers.items():
                assert process.poll() is None, logs[name][-2000:]
            time.sleep(0.5)
        assert expected["ready"] in logs["ready"], logs["ready"][-2000:]
        assert expected["broken"] in logs["broken"], logs["broken"][-2000:]
        assert "no-such-model" in logs["broken"]
        assert all(process.poll() is None for process in workers.values())  # both still up
    finally:
        for process in workers.values():
            process.terminate()
        for process in workers.values():
            process.wait(timeout=30)
