"""The team set-up of docs/deploy.md: one server with PostgreSQL, RabbitMQ and one `redline worker`
taking every queue (and running the scheduler's beat); media on the server's own disk. Items that
`redline ingest` stores are processed by the worker, not by the command that stored them. (The
items API with a broker is tested on several hosts in test_multi_host.py.)"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from redline.model import BankSignal, Case, Item, Media, Source
from redline.signals.minhash import SIGNAL_NAME, _signature, serialise, shingles
from redline.store import make_engine
from tests.conftest import CliResult
from tests.deploy.conftest import observer_url, redline, total, unprocessed, worker_reports
from tests.media_fixtures import photo
from tests.tasks.test_work_broker import BROKERS

RABBIT = BROKERS["rabbitmq"]

pytestmark = pytest.mark.slow

# The guide's team commands (test_deploy_guide.py checks that it shows these lines).
UPGRADE = "redline db upgrade"
WORKER = "redline worker"
COMMANDS = (UPGRADE, WORKER)
BOUND = 120.0  # seconds: a bound for a stuck run, not a speed
KNOWN_TEXT = (
    "Our choir is looking for new voices for the winter concert, rehearsals are on "
    "Tuesday evenings in the old school hall, no experience needed"
)
# The rows a failed run is explained by.
STATE = {
    name: text(query)
    for name, query in {
        "counters": "SELECT name, value FROM counters",
        "bank_signals": "SELECT id, entry_id, signal_type, substr(value, 1, 40) FROM bank_signals",
        "text_scans": "SELECT substr(text_sha256, 1, 12), stage, version FROM text_scans",
        "matches": "SELECT id, bank_entry_id, signal_type, substr(text_sha256, 1, 12), held,"
        " vetoed_by FROM matches",
        "items": "SELECT id, external_id, substr(text_sha256, 1, 12) FROM items",
        "cases": "SELECT id, item_id, status FROM cases",
    }.items()
}


def test_one_worker_processes_what_ingest_stores(
    cli: Callable[..., CliResult],
    database: str,
    queue_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = cli  # redline's CLI in this process, with the environment below
    data = tmp_path / "var-lib-redline"
    config = {
        "REDLINE_DATABASE_URL": observer_url(database).replace("+psycopg", ""),
        "REDLINE_BROKER_URL": RABBIT,
        "REDLINE_QUEUE_PREFIX": queue_prefix,
        "REDLINE_DATA_DIR": str(data),
    }
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    upgraded = run(*shlex.split(UPGRADE)[1:])
    assert upgraded.code == 0 and "schema none ->" in upgraded.out, upgraded.err
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            redline(WORKER),
            env={**os.environ, **config},
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        photo("astronaut").save(tmp_path / "poster.png")
        assert run("bank", "create", "known").code == 0
        added = run("bank", "add", "known", str(tmp_path / "poster.png"), "--text", KNOWN_TEXT)
        assert added.code == 0, added.err
        # An export, ingested on the server: a repost of the known text, a copy of the poster.
        export = tmp_path / "export"
        export.mkdir()
        photo("astronaut").convert("RGB").save(export / "copy.jpg", "JPEG", quality=75)
        photo("coffee").save(export / "other.jpg", "JPEG", quality=75)
        records = [
            {"id": "e1", "text": f"{KNOWN_TEXT} (shared again)"},
            {"id": "e2", "text": "The library opens late on Thursdays this month"},
            {"id": "e3", "text": "seen at the market", "media": ["copy.jpg"]},
            {"id": "e4", "media": ["other.jpg"]},
            {"id": "e5", "text": KNOWN_TEXT},
        ]
        lines = "".join(json.dumps(r) + "\n" for r in records)
        (export / "posts.jsonl").write_text(lines, encoding="utf-8")
        ingested = run("ingest", str(export / "posts.jsonl"), "--source", "export")
        assert ingested.code == 0, ingested.err

        engine = make_engine(observer_url(database))
        try:
            deadline = time.monotonic() + BOUND
            # Processed; and the worker runs the scheduler's beat too (its first tick comes
            # after REDLINE_SCHEDULER_INTERVAL, a minute: tests/tasks test the tick itself).
            log = tmp_path / "worker.log"
            while unprocessed(engine) or "beat: Starting..." not in log.read_text():
                assert worker.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "not processed in time"
                time.sleep(0.2)
            with engine.connect() as connection:
                cased = set(
                    connection.scalars(
                        select(Source.name + ":" + Item.external_id)
                        .join(Item, Item.source_id == Source.id)
                        .join(Case, Case.item_id == Item.id)
                    )
                )
                files = list(connection.scalars(select(Media.path)))
                items = connection.scalar(select(func.count()).select_from(Item))
                banked = list(
                    connection.scalars(
                        select(BankSignal.value).where(BankSignal.signal_type == SIGNAL_NAME)
                    )
                )
                # What a failure needs to be understood (the run is not repeatable at will).
                state = {
                    table: [tuple(row) for row in connection.execute(query)]
                    for table, query in STATE.items()
                }
        finally:
            engine.dispose()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    why = f"{state}\n{log.read_text()[-4000:]}"
    assert items == 5, why
    # The known text is banked as datasketch signs it (the compiled signatures must agree with it
    # in every process: the worker signs the reposts, this process signed the banked text).
    assert banked == [serialise(_signature(shingles(KNOWN_TEXT)))], why
    assert cased == {"export:e1", "export:e3", "export:e5"}, why
    # The worker did the work (each piece once), and read the media from the shared disk.
    reports = worker_reports(log.read_text())
    assert total(reports["redline.hash"], "hashed") == 2
    assert total(reports["redline.text"], "texts_scored") == 4
    assert sum(total(r, "cases_opened") for r in reports.values()) == 3
    assert files and all((data / path).is_file() for path in files)
