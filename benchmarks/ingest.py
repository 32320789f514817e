"""Ingest throughput against the raw floor of each database, measured side by side in one run.

    python benchmarks/ingest.py [--data FILE] [--repeat N] [--pg URL]

Prints JSON. For each database three timings of the same file:
- ``floor``: the database's own bulk loader with no checks at all: sqlite3's ``.import`` (the
  command-line shell, as a subprocess) and PostgreSQL ``COPY`` into one unindexed text table;
- ``schema_floor``: the least Python can do to put the same rows into redline's schema (csv
  module, SHA-256 of each text, one bulk insert per table, no validation, no dedupe): what the
  schema's indexes and content addressing cost before redline does anything of its own;
- ``redline``: ``redline.ingest.run.ingest`` with validation, dedupe, revisions and quarantine on.
Runs are interleaved and repeated; medians are reported, and ratios are of throughput
(records/s), so ``redline_vs_floor`` = floor time / redline time.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from _corpus import ScratchDatabases
from redline import __version__
from redline.config import Settings
from redline.ingest.run import ingest
from redline.store import ensure_schema, make_engine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "isis_fanboy_tweets.csv"
DEFAULT_PG = os.environ.get("REDLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def valid_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as stream:
        header, *rows = list(csv.reader(stream))
    return header, [row for row in rows if len(row) == len(header)]


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_floor(path: Path, workdir: Path) -> float:
    database = workdir / f"floor-{uuid.uuid4().hex}.db"
    command = ["sqlite3", str(database), "-cmd", ".mode csv", f".import {path} raw"]
    return timed(lambda: subprocess.run(command, check=True, capture_output=True))


def schema_floor(url: str, path: Path) -> float:
    """Rows straight into redline's tables through the driver: no checks, no dedupe."""
    engine = make_engine(url)
    ensure_schema(engine)

    def load() -> None:
        _, rows = valid_rows(path)
        texts: dict[str, str] = {}
        items = []
        for number, (name, username, tweet_id, when, text) in enumerate(rows, start=1):
            digest = hashlib.sha256(text.encode()).hexdigest()
            texts[digest] = text
            items.append((number, 1, tweet_id, 1, digest, digest, username, name, when, "f", "l"))
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO sources (id, name, created_at) VALUES (1, 'floor', '2026-01-01')"
            )
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    "INSERT INTO texts SELECT * FROM unnest(%b::text[], %b::text[])",
                    (list(texts), list(texts.values())),
                )
                columns = [list(c) for c in zip(*items, strict=True)]
                connection.exec_driver_sql(
                    "INSERT INTO items (id, source_id, external_id, revision, content_sha256, "
                    "text_sha256, account, account_name, posted_at, file, location, ingested_at) "
                    "SELECT *, now() FROM unnest(%b::bigint[], %b::bigint[], %b::text[], "
                    "%b::int[], %b::text[], %b::text[], %b::text[], %b::text[], "
                    "%b::text[]::timestamptz[], %b::text[], %b::text[])",
                    tuple(columns),
                )
            else:
                connection.exec_driver_sql("INSERT INTO texts VALUES (?, ?)", list(texts.items()))
                connection.exec_driver_sql(
                    "INSERT INTO items (id, source_id, external_id, revision, content_sha256, "
                    "text_sha256, account, account_name, posted_at, file, location, ingested_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01')",
                    items,
                )

    try:
        return timed(load)
    finally:
        engine.dispose()


def redline_ingest(url: str, path: Path, data_dir: Path) -> tuple[float, dict[str, object]]:
    engine = make_engine(url)
    ensure_schema(engine)  # schema creation is set-up, not ingest: outside the timing
    settings = Settings(database_url=url, data_dir=data_dir)
    try:
        started = time.perf_counter()
        summary = ingest(path, "bench", engine=engine, settings=settings, actor="benchmark")
        return time.perf_counter() - started, summary.as_dict()
    finally:
        engine.dispose()


# --- PostgreSQL -----------------------------------------------------------------------------


def postgres_floor(url: str, path: Path) -> float:
    """COPY of the file's rows (its truncated last row removed: COPY would refuse the file)."""
    lines = path.read_bytes().splitlines(keepends=True)
    body = b"".join(lines[:-1])
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE raw (name text, username text, tweetid text, time text, tweets text)"
        )

        def load() -> None:
            with (
                connection.cursor() as cursor,
                cursor.copy("COPY raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            ):
                copy.write(body)

        return timed(load)


# --- the run --------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Twitter CSV to ingest")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL ('' to skip)")
    args = parser.parse_args()
    if not args.data.is_file():
        parser.exit(2, f"ingest.py: error: {args.data} not found (pass --data)\n")
    if shutil.which("sqlite3") is None:
        parser.exit(
            2,
            "ingest.py: error: the floor needs the sqlite3 shell (apt-get install sqlite3)\n",
        )
    rows = len(valid_rows(args.data)[1])
    work = Path(tempfile.mkdtemp(prefix="redline-bench-"))
    timings: dict[str, list[float]] = {}
    summary: dict[str, object] = {}

    def record(name: str, seconds: float) -> None:
        timings.setdefault(name, []).append(seconds)

    scratch = ScratchDatabases(args.pg) if args.pg else None
    try:
        for run in range(args.repeat):
            record("sqlite.floor", sqlite_floor(args.data, work))
            record(
                "sqlite.schema_floor", schema_floor(f"sqlite:///{work}/schema-{run}.db", args.data)
            )
            seconds, summary = redline_ingest(
                f"sqlite:///{work}/redline-{run}.db", args.data, work / "data"
            )
            record("sqlite.redline", seconds)
            if scratch is not None:
                record("postgresql.floor", postgres_floor(scratch.new(), args.data))
                record("postgresql.schema_floor", schema_floor(scratch.new(), args.data))
                seconds, _ = redline_ingest(scratch.new(), args.data, work / "data")
                record("postgresql.redline", seconds)
    finally:
        if scratch is not None:
            scratch.drop_all()
        shutil.rmtree(work, ignore_errors=True)

    result: dict[str, object] = {
        "benchmark": "ingest",
        "redline_version": __version__,
        "data": str(args.data),
        "rows": rows,
        "repeat": args.repeat,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
        },
        "redline_summary": {k: summary[k] for k in ("stored", "quarantined", "duplicates")},
    }
    goals = {"sqlite": 0.30, "postgresql": 0.20}
    for database in ("sqlite", "postgresql"):
        if f"{database}.redline" not in timings:
            continue
        floor = median(timings[f"{database}.floor"])
        schema = median(timings[f"{database}.schema_floor"])
        ours = median(timings[f"{database}.redline"])
        result[database] = {
            "floor_s": floor,
            "schema_floor_s": schema,
            "redline_s": ours,
            "floor_rows_per_s": round(rows / floor),
            "schema_floor_rows_per_s": round(rows / schema),
            "redline_rows_per_s": round(rows / ours),
            "redline_vs_floor": round(floor / ours, 3),
            "schema_floor_vs_floor": round(floor / schema, 3),
            "redline_vs_schema_floor": round(schema / ours, 3),
            "goal_vs_floor": goals[database],
            "goal_met": floor / ours >= goals[database],
            "all_runs_s": {
                k.split(".", 1)[1]: [round(t, 4) for t in v]
                for k, v in timings.items()
                if k.startswith(database)
            },
        }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
