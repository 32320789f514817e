"""Fixtures for the set-ups of docs/deploy.md: a database of its own on this machine's
PostgreSQL, and queues of their own on its RabbitMQ. A missing service skips a test here and
fails it in CI (CI=true), where these tests must run. And what both read back: whether every
item is processed, and what a worker's tasks reported."""

from __future__ import annotations

import ast
import re
import shlex
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from redline.store import counters
from tests.conftest import IN_CI, PG_SERVER
from tests.tasks.test_work_broker import BROKERS, broker_up

RABBIT = BROKERS["rabbitmq"]

QUEUES = ("hashing", "matching", "text", "actions")


def unavailable(message: str) -> None:
    """Skip here; fail in CI."""
    if IN_CI:
        pytest.fail(f"{message} (CI must run the deployment tests)")
    pytest.skip(message)


def redline(command: str) -> list[str]:
    """A command line of the guide as argv: ``redline`` is this interpreter's
    ``python -m redline``, so it runs the redline under test."""
    words = shlex.split(command)
    assert words[0] == "redline", command
    return [sys.executable, "-m", "redline", *words[1:]]


def observer_url(database: str) -> str:
    """The test's own way into ``database``, from this host."""
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@pytest.fixture
def database() -> Iterator[str]:
    """A new, empty database on this machine's PostgreSQL (its name), dropped at the end."""
    name = f"redline_deploy_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {PG_SERVER}: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def queue_prefix() -> Iterator[str]:
    """A REDLINE_QUEUE_PREFIX of the test's own on this machine's RabbitMQ (so parallel runs
    never take each other's work); its queues and exchanges are deleted at the end."""
    if not broker_up(RABBIT):
        unavailable(f"no RabbitMQ at {RABBIT}")
    prefix = f"deploy-{uuid.uuid4().hex[:8]}-"
    yield prefix
    from kombu import Connection

    with Connection(RABBIT) as connection:
        channel = connection.default_channel
        for queue in QUEUES:
            channel.queue_delete(prefix + queue)
            channel.exchange_delete(prefix + queue)


def unprocessed(engine: Engine) -> int:
    """Items not processed at the banks' current version yet: a text without its three stages
    (outlinks, classifier, text banks at that version) recorded, or a media file without a PDQ
    hash matched against the banks at that version. (Work matched at an older version, while a
    process had not loaded a bank change yet, is matched again after it has.)"""
    query = text(
        """
        SELECT count(*) FROM items i WHERE
            (i.text_sha256 IS NOT NULL AND (SELECT count(*) FROM text_scans ts
                WHERE ts.text_sha256 = i.text_sha256
                AND (ts.stage <> 'text_banks' OR ts.version = CAST(:banks AS VARCHAR))) < 3)
            OR EXISTS (SELECT 1 FROM item_media im WHERE im.item_id = i.id AND NOT EXISTS (
                SELECT 1 FROM signals s WHERE s.media_sha256 = im.media_sha256
                AND s.signal_type = 'pdq' AND s.matched_generation = :banks))
        """
    )
    with engine.connect() as connection:
        banks = counters.current(connection, counters.BANKS)
        return int(connection.scalar(query, {"banks": banks}) or 0)


def worker_reports(log: str) -> dict[str, list[dict[str, int]]]:
    """What each task a worker ran reported at its end (Celery logs the return value), by task."""
    reports: dict[str, list[dict[str, int]]] = {}
    for task, value in re.findall(
        r"Task (redline\.\w+)\[[0-9a-f-]+\] succeeded in \S+ (\{.*\})", log
    ):
        reports.setdefault(task, []).append(ast.literal_eval(value))
    return reports


def total(reports: list[dict[str, int]], key: str) -> int:
    return sum(report.get(key, 0) for report in reports)
