"""CPU per item of a worker's stage calls, without Celery: what the stage code itself costs a
worker, chunk by chunk as a worker gets the items, and what it costs PostgreSQL.

    python benchmarks/stage_cpu.py [--kind text|image] [--items N] [--chunk N] [--history N]

The same set-up as ``throughput.py`` (a fresh PostgreSQL database with its banks, about one item
in ten matching), the items ingested from a file (not timed), a warm-up source processed first;
then ``redline.pipeline.work.run_stage`` for each chunk and stage, in this process, as a worker
runs it. CPU: this process's own (``time.process_time``) and that of the database's server
processes for this database (their /proc counters), so other work on the machine does not count.
Beside it the calls' wall time, which also holds the waits for each commit's write to disk (and
which other work does slow). Also the SQL statements and pool check-outs per call. Run it with
PYTHONPATH set to the code to measure, before and after a change, alternately. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event

from _corpus import ScratchDatabases
from redline.pipeline.work import HASH, MATCH, TEXT, items_to_scan, run_stage
from redline.tasks.work import chunks, worksite_on
from throughput import DEFAULT_PG, ingest_file, make_corpus, prepare

TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu(admin: psycopg.Connection[Any], database: str) -> float:
    """CPU seconds so far of the server processes of ``database``'s connections (not this
    monitoring one)."""
    pids = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    ).fetchall()
    ticks = 0
    for (pid,) in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended: its time is lost to the count
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICKS


def measure(
    kind: str, count: int, chunk: int, server: str, work: Path, history: int = 0
) -> dict[str, Any]:
    scratch = ScratchDatabases(server)
    try:
        corpus = make_corpus(kind, history + count, "b", work / f"{kind}-items")
        warmup = make_corpus(kind, 20, "w", work / f"{kind}-warmup", 12)
        url = scratch.new()
        database = url.rsplit("/", 1)[1]
        site = prepare(url, work, [corpus, warmup], None)
        ingest_file(site, warmup, "warmup", work)
        ingest_file(site, corpus, "bench", work)
        worker = worksite_on(site.settings, site.engine)
        stages = (TEXT,) if kind == "text" else (HASH, MATCH)
        with site.engine.connect() as connection:
            warm_ids = items_to_scan(connection, "warmup")
            item_ids = items_to_scan(connection, "bench")
        for part in chunks(warm_ids, chunk):
            for stage in stages:
                run_stage(worker, stage, part)
        # Items processed before the measured ones (not measured), in the scan's chunks: the
        # tables as a deployment has them after a while, not empty.
        done_before, item_ids = item_ids[:history], item_ids[history:]
        for part in chunks(done_before, 1000):
            for stage in stages:
                run_stage(worker, stage, part)
        seen = {"statements": 0, "checkouts": 0}

        def statement(*_: Any) -> None:
            seen["statements"] += 1

        def checkout(*_: Any) -> None:
            seen["checkouts"] += 1

        event.listen(site.engine, "before_cursor_execute", statement)
        event.listen(site.engine, "checkout", checkout)
        used = {stage: [0.0, 0.0, 0.0] for stage in stages}
        calls = 0
        with psycopg.connect(url, autocommit=True) as admin:
            for part in chunks(item_ids, chunk):
                for stage in stages:
                    cpu, server_before = time.process_time(), server_cpu(admin, database)
                    started = time.perf_counter()
                    run_stage(worker, stage, part)
                    used[stage][2] += time.perf_counter() - started
                    used[stage][0] += time.process_time() - cpu
                    used[stage][1] += server_cpu(admin, database) - server_before
                    calls += 1
        site.engine.dispose()
    finally:
        scratch.drop_all()
    return {
        "kind": kind,
        "items": count,
        "chunk": chunk,
        "history": history,
        "statements_per_call": round(seen["statements"] / calls, 1),
        "checkouts_per_call": round(seen["checkouts"] / calls, 1),
        "cpu_ms_per_item": {
            stage: {
                "worker": round(1000 * own / count, 3),
                "postgresql": round(1000 * server / count, 3),
            }
            for stage, (own, server, _) in used.items()
        },
        # The worker's wall time: its CPU, the database's, and the waits for each commit's
        # write to disk, which neither CPU figure shows.
        "wall_ms_per_item": {
            stage: round(1000 * wall / count, 3) for stage, (_, _, wall) in used.items()
        },
        "load": list(os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=("text", "image"), default="text")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument(
        "--chunk", type=int, default=None, help="items a call (default: as the API sends them)"
    )
    parser.add_argument(
        "--history", type=int, default=0, help="items processed first, not measured"
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    args = parser.parse_args()
    chunk = args.chunk or (100 if args.kind == "text" else 10)
    work = Path(tempfile.mkdtemp(prefix="redline-stage-cpu-"))
    json.dump(
        measure(args.kind, args.items, chunk, args.pg, work, args.history), sys.stdout, indent=2
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
