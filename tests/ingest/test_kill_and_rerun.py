"""An ingest killed with SIGKILL part-way and started again stores every record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from redline.config import Settings
from redline.model import Item, Quarantine
from redline.store.status import store_status

ROWS = 40_000


def write_big_csv(path: Path) -> tuple[int, int, int]:
    """A CSV with re-posts, exact duplicates, revisions and bad rows; returns what it should store:
    (records, later revisions, quarantined)."""
    lines = ["id,account,time,text\n"]
    ids: dict[str, set[str]] = {}
    bad = 0
    for n in range(ROWS):
        if n % 997 == 0:
            lines.append(f"{n},acct{n % 50}\n")  # truncated row
            bad += 1
            continue
        text = (
            f"Notice {n % 300} about the weekly market"
            if n % 4 == 0
            else f"Post number {n} about the weather"
        )
        ident = str(n if n % 1000 != 1 else n - 1 if (n - 1) % 997 else n)
        lines.append(f"{ident},acct{n % 50},2024-01-01T00:{n % 60:02d}:00,{text}\n")
        ids.setdefault(ident, set()).add(text)
        if n % 2000 == 3:  # the same row twice in a row: a duplicate
            lines.append(lines[-1])
    path.write_text("".join(lines), encoding="utf-8")
    records = len(ids)
    revisions = sum(len(texts) - 1 for texts in ids.values())
    return records, revisions, bad


def count_items(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Item)) or 0)


@pytest.mark.slow
def test_sigkill_then_rerun_stores_each_record_once(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "big.csv"
    records, revisions, bad = write_big_csv(path)
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": settings.database_url,
        "REDLINE_DATA_DIR": str(settings.data_dir),
        "REDLINE_INGEST_BATCH_SIZE": "500",
    }
    command = [sys.executable, "-m", "redline", "ingest", str(path), "--source", "big"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while count_items(engine) < 2000:
        assert process.poll() is None, "the ingest finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    partial = count_items(engine)
    assert 2000 <= partial < records + revisions

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    status = store_status(engine)
    assert (status["items"], status["revisions"], status["quarantined"]) == (
        records,
        revisions,
        bad,
    )
    with engine.connect() as connection:
        repeated = connection.execute(
            select(Item.external_id, Item.content_sha256)
            .group_by(Item.external_id, Item.content_sha256)
            .having(func.count() > 1)
        ).all()
        quarantine_rows = connection.scalar(select(func.count()).select_from(Quarantine))
    assert repeated == []
    assert quarantine_rows == bad
    # A third run finds everything already there.
    third = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert '"stored": 0' in third.stdout
