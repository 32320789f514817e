"""End-to-end throughput: items submitted through the API until their case is routed, on 1 and 2
workers, beside ``redline scan`` in one process on the same items, measured in the same run.

    python benchmarks/throughput.py [--items N] [--image-items N] [--kinds text,image]
                                    [--repeat N] [--latency-items N] [--quick]

For each kind of item (``text``: short generic posts, 100 a POST; ``image``: generated photos of
900 to 1,600 pixels a side, JPEG of 100-200 KB as platforms serve them, one an item, 10 a POST) and
each way of processing them, a fresh PostgreSQL database (``redline_bench_*`` on the server of
``--pg``, dropped at the end), with a user and an ``items:write`` token and banks so that about one
item in ten matches and opens a case (a text bank of a few generic phrases the matching posts
repeat; a PDQ bank of every tenth generated photo):

- ``workers_1`` / ``workers_2``: ``redline serve`` on a free port and ``redline worker --queues
  hashing,matching,text --concurrency 1`` subprocesses (1, then 2) on RabbitMQ (``--broker``)
  under a queue prefix of their own. A warm-up batch (another source) is submitted and awaited
  first, so process start and model loading are not counted. The items are then POSTed to
  /api/v1/items in batches of ``--batch``; the rate is items / (first submit → the last item
  processed), processed read from the database: a text with all its text stages recorded
  (outlinks, classifier, text banks) and an image's PDQ signal matched at the banks counter;
  cases are opened in the same transactions. ``api_items_per_s`` is the submit rate alone.
- ``scan``: the same items (and the warm-up's) ingested from JSON Lines files (not timed), then
  ``redline scan``'s own function (``redline.pipeline.scan.scan``, one hashing process) in this
  one process: once over the warm-up source, then timed over the items, with the same loaded
  text model, so model loading is outside it as the warm-up is outside the workers' figure.

- ``backlog_1`` / ``backlog_2``: on the same set-up after that run, the workers' own rate: their
  consumers are cancelled (Celery's remote control, by node name), another corpus of the same
  size is submitted, and the time runs from the moment they take the queues again until every
  item is processed: the work tier without the API beside it on the same cores. The submission
  itself, with nothing else running, is the API's own rate (``api_alone_items_per_s``, with its
  CPU: the text goal of 2,000 items/s is read from it), against ``redline ingest`` of the same
  records from a JSON Lines file (``file_ingest_items_per_s``, timed in the scan's set-up).

Each figure carries ``cpu``: CPU milliseconds per item of each part (the workers or the scan,
the API server, PostgreSQL, RabbitMQ, this process) in the timed window. On a 2-core machine
everything shares the two cores, so 2 workers can be at most (2 cores / all parts' CPU per item)
against one worker's rate: the figures say how far that is.

The runs are repeated ``--repeat`` times, interleaved; each figure is the median round's,
with every round's rate beside it. Latency: on the 2-worker set-up, after its last run,
``--latency-items`` new items are submitted in batches of 10 paced at half of the 2-worker rate;
for every item that opens a case, the time from the start of its POST to the case's
``opened_at``. Prints one JSON document with the figures, the ratios, the goals of the issue
and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import Engine, text

from _corpus import ScratchDatabases, generated_image, machine, wait_until_serving
from redline import __version__
from redline.banks import add_media_files, add_text, create_bank, hash_media_files
from redline.classify.model import TextModel
from redline.config import Settings
from redline.index.store import IndexStore
from redline.ingest.run import ingest
from redline.pipeline.scan import scan
from redline.review import accounts, tokens
from redline.store import ensure_schema, make_engine
from redline.store.media import media_store
from redline.tasks import node_name
from redline.tasks.work import HASHING, MATCHING, TEXTS, queue_name

DEFAULT_PG = os.environ.get("REDLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_BROKER = os.environ.get("REDLINE_BENCH_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
ACTOR = "benchmark"
TEXT_STAGES = ("outlinks", "classifier", "text_banks")
MATCH_EVERY = 10  # one item in ten matches a bank and opens a case
WAIT_LIMIT_S = 900.0
WARMUP_BATCH = 2  # a bound for a stuck run, not a speed
# Generic, harmless phrases: the "known" texts of the bench's text bank.
KNOWN_TEXTS = [
    "The night market opens again on Saturday with music, food stalls and a lantern walk "
    "along the river, everyone is welcome and entry is free for children",
    "Our choir is looking for new voices for the winter concert, rehearsals are on "
    "Tuesday evenings in the old school hall, no experience needed",
    "The cycling group meets at the harbour office at eight on Sunday morning for the "
    "long coastal ride, bring water, a spare tube and a good mood",
]
SUBJECTS = ["The city council", "Our book club", "The public library", "A local bakery"]
VERBS = ["announced", "postponed", "shared photos of", "published the schedule of"]
OBJECTS = ["the spring market", "the bus timetable", "Saturday's concert", "the charity run"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- the items ------------------------------------------------------------------------------


@dataclass(slots=True)
class Corpus:
    """The records of one kind, and the image files they name (in ``folder``)."""

    kind: str
    records: list[dict[str, Any]]
    folder: Path
    bank_images: list[Path]


def text_records(count: int, prefix: str, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for number in range(count):
        if number % MATCH_EVERY == 0:
            # A known text, reposted with a mark of its own: a distinct text that matches.
            body = f"{KNOWN_TEXTS[number // MATCH_EVERY % len(KNOWN_TEXTS)]} {prefix}{number}"
        else:
            body = (
                f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, "
                f"post {prefix}{number}"
            )
        records.append({"id": f"{prefix}{number}", "text": body, "account": f"acct{number % 97}"})
    return records


def image_corpus(count: int, prefix: str, folder: Path, seed: int, scale: float) -> Corpus:
    folder.mkdir(parents=True, exist_ok=True)
    records, bank = [], []
    for number in range(count):
        _, image = generated_image(number, seed, scale=scale)
        path = folder / f"{prefix}{number}.jpg"
        image.convert("RGB").save(path, "JPEG", quality=88)
        if number % MATCH_EVERY == 0:
            bank.append(path)
        records.append({"id": f"{prefix}{number}", "media": [path.name]})
    return Corpus("image", records, folder, bank)


def make_corpus(
    kind: str, count: int, prefix: str, folder: Path, seed: int = 11, scale: float = 2.0
) -> Corpus:
    if kind == "text":
        return Corpus("text", text_records(count, prefix), folder, [])
    return image_corpus(count, prefix, folder, seed, scale)


# --- databases and processes ----------------------------------------------------------------


@dataclass(slots=True)
class Site:
    """One prepared database: its settings, engine and an items:write token."""

    settings: Settings
    engine: Engine
    token: str
    env: dict[str, str]


def prepare(url: str, work: Path, corpora: list[Corpus], broker: str | None) -> Site:
    data_dir = work / f"data-{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=url, data_dir=data_dir)
    engine = make_engine(url)
    ensure_schema(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        accounts.add_user(connection, "bench", "admin", "benchmark password, not a secret", ACTOR)
        token = tokens.create_token(connection, "bench", "throughput", ["items:write"], ACTOR)
        create_bank(connection, "bench-known", actor=ACTOR, now=now, description="benchmark")
        for known in KNOWN_TEXTS:
            add_text(connection, "bench-known", known, actor=ACTOR, now=now)
    images = [path for corpus in corpora for path in corpus.bank_images]
    if images:
        hashed = hash_media_files(media_store(settings), images)
        with engine.begin() as connection:
            add_media_files(connection, "bench-known", hashed, actor=ACTOR, now=now)
    env = {**os.environ, "REDLINE_DATABASE_URL": url, "REDLINE_DATA_DIR": str(data_dir)}
    env.pop("REDLINE_BROKER_URL", None)
    if broker:
        env["REDLINE_BROKER_URL"] = broker
        env["REDLINE_QUEUE_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}-"
    return Site(settings, engine, token, env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(slots=True)
class Running:
    """The served API's URL and the process ids of the server and the workers."""

    base: str
    parts: dict[str, list[int]]


@contextmanager
def running(site: Site, workers: int, work: Path) -> Iterator[Running]:
    """``redline serve`` and ``workers`` ``redline worker`` processes."""
    port = free_port()
    logs = work / f"logs-{port}"
    logs.mkdir()
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "redline", *args],
                env=site.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=work,
            )
        processes.append(process)
        return process

    server = start("serve", "serve", "--port", str(port))
    for number in range(workers):
        start(
            f"worker-{number}",
            *("worker", "--queues", "hashing,matching,text", "--concurrency", "1"),
        )
    base = f"http://127.0.0.1:{port}"

    def stopped() -> str | None:
        if all(process.poll() is None for process in processes):
            return None
        tails = {p.name: p.read_text()[-2000:] for p in logs.iterdir()}
        return f"a redline process exited: {tails}"

    try:
        wait_until_serving(base, stopped, 180)
        yield Running(
            base,
            {
                "api": [server.pid],
                "workers": [p.pid for p in processes if p is not server],
                "benchmark": [os.getpid()],
            },
        )
        # Every worker must have lived through the run: a worker that stopped early (as a
        # second one did when both took Celery's default node name) makes "2 workers" one.
        why = stopped()
        if why is not None:
            raise RuntimeError(f"during the run, {why}")
    finally:
        for process in reversed(processes):
            stop(process)


# --- where the CPU went -----------------------------------------------------------------------

# On a 2-core machine the database, broker and API share the cores with the workers: the ratio of
# 2 workers to 1 is bounded by how much of the CPU per item the workers themselves use.
SERVICES = {"postgresql": ("postgres",), "rabbitmq": ("beam.smp", "erl_child_setup")}


def cpu_by_part(parts: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) so far of each part: its processes and their children (not
    those of this process, which are the other parts), and the machine's PostgreSQL and RabbitMQ
    processes (other databases' work included: nothing else runs during a measurement)."""
    seconds: dict[str, float] = {}
    for name, pids in parts.items():
        total = 0.0
        for pid in pids:
            try:
                root = psutil.Process(pid)
                family = root.children(recursive=True) if pid != os.getpid() else []
                for process in [root, *family]:
                    times = process.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                continue  # exited: its time is lost to the count, not to the run
        seconds[name] = total
    for name, commands in SERVICES.items():
        total = 0.0
        for process in psutil.process_iter(["name", "cpu_times"]):
            if process.info["name"] in commands and process.info["cpu_times"] is not None:
                total += process.info["cpu_times"].user + process.info["cpu_times"].system
        seconds[name] = total
    return seconds


def cpu_used(before: dict[str, float], after: dict[str, float], items: int) -> dict[str, Any]:
    """CPU milliseconds per item of each part between two readings, and the share of it the
    workers (or the scan) used."""
    per_item = {
        name: round(1000 * (after[name] - before[name]) / items, 3) for name in sorted(after)
    }
    total = sum(per_item.values())
    doing = per_item.get("workers", 0.0) + per_item.get("scan", 0.0)
    return {"ms_per_item": per_item, "processing_share": round(doing / total, 3) if total else None}


# --- submitting and waiting -----------------------------------------------------------------


def post_batch(
    client: httpx.Client, corpus: Corpus, source: str, batch: list[dict[str, Any]]
) -> None:
    if corpus.kind == "text":
        answer = client.post("/api/v1/items", json={"source": source, "records": batch})
    else:
        files = [
            ("files", (name, (corpus.folder / name).read_bytes(), "image/jpeg"))
            for record in batch
            for name in record["media"]
        ]
        lines = "\n".join(json.dumps(record) for record in batch)
        answer = client.post(
            "/api/v1/items", data={"source": source, "records": lines}, files=files
        )
    if answer.status_code != 202:
        raise RuntimeError(f"POST /api/v1/items: {answer.status_code} {answer.text[:500]}")
    counts = answer.json()["counts"]
    if counts.get("stored", 0) != len(batch):
        raise RuntimeError(f"POST /api/v1/items stored {counts} of {len(batch)} records")


def post_all(
    client: httpx.Client, corpus: Corpus, source: str, records: list[dict[str, Any]], batch: int
) -> None:
    """POST ``records`` ``batch`` at a time (each POST becomes one message per stage)."""
    for start in range(0, len(records), batch):
        post_batch(client, corpus, source, records[start : start + batch])


def run_figures(
    engine: Engine, source: str, items: int, seconds: float, cases: int, cpu: dict[str, Any]
) -> dict[str, Any]:
    """One run's figures: items processed (counted again, exactly), cases, rate and CPU."""
    return {
        "items": items,
        "items_processed": processed(engine, source)[1],
        "cases_opened": cases,
        "seconds": round(seconds, 3),
        "items_per_s": round(items / seconds, 1),
        "cpu": cpu,
    }


def processed(engine: Engine, source: str) -> tuple[int, int, int]:
    """(items of the source, those processed, cases opened on them)."""
    query = text(
        """
        SELECT count(*),
               count(*) FILTER (WHERE
                   (i.text_sha256 IS NULL OR (
                       SELECT count(DISTINCT ts.stage) FROM text_scans ts
                       WHERE ts.text_sha256 = i.text_sha256 AND ts.stage = ANY(:stages)
                   ) = :n_stages)
                   AND NOT EXISTS (
                       SELECT 1 FROM item_media im WHERE im.item_id = i.id AND NOT EXISTS (
                           SELECT 1 FROM signals s WHERE s.media_sha256 = im.media_sha256
                           AND s.signal_type = 'pdq' AND s.matched_generation IS NOT NULL))),
               count(c.id)
        FROM items i JOIN sources so ON so.id = i.source_id
        LEFT JOIN cases c ON c.item_id = i.id
        WHERE so.name = :source
        """
    )
    with engine.connect() as connection:
        row = connection.execute(
            query, {"stages": list(TEXT_STAGES), "n_stages": len(TEXT_STAGES), "source": source}
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def progress(engine: Engine) -> int:
    """A cheap count that grows by one as each item's last step is recorded: its text's
    text-bank look-up, or its photo's PDQ match. ``processed`` is exact but costs the database
    about 20 ms on 2,000 items: polled 20 times a second it took a quarter of a core from the
    workers it was timing (the scan's figure had no such poll)."""
    query = text(
        "SELECT (SELECT count(*) FROM text_scans WHERE stage = 'text_banks')"
        " + (SELECT count(*) FROM signals WHERE signal_type = 'pdq'"
        " AND matched_generation IS NOT NULL)"
    )
    with engine.connect() as connection:
        return int(connection.scalar(query) or 0)


def wait_processed(engine: Engine, source: str, expected: int, baseline: int) -> tuple[float, int]:
    """Poll until every item of ``source`` is processed: (the time it was seen, cases).

    ``baseline`` is ``progress`` before the items were submitted; each item (a distinct text or
    photo) adds one, and once all have, the exact count confirms it."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while True:
        if progress(engine) - baseline >= expected:
            seen = time.perf_counter()
            items, done, cases = processed(engine, source)
            if items >= expected and done >= expected:
                return seen, cases
        if time.monotonic() > deadline:
            items, done, cases = processed(engine, source)
            raise RuntimeError(f"{source}: {done} of {expected} items processed after the limit")
        time.sleep(0.05)


def client_for(base: str, site: Site) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {site.token}"}, timeout=120
    )


def measure_workers(
    served: Running, site: Site, corpus: Corpus, warmup: Corpus, batch: int
) -> dict[str, Any]:
    with client_for(served.base, site) as client:
        baseline = progress(site.engine)
        # In small batches: each is a message, so every worker process has some (the first
        # text-bank look-up loads the index, the first query opens the connection).
        post_all(client, warmup, "warmup", warmup.records, WARMUP_BATCH)
        wait_processed(site.engine, "warmup", len(warmup.records), baseline)
        baseline = progress(site.engine)
        cpu_before = cpu_by_part(served.parts)
        started = time.perf_counter()
        post_all(client, corpus, "bench", corpus.records, batch)
        submitted = time.perf_counter()
        finished, cases = wait_processed(site.engine, "bench", len(corpus.records), baseline)
        cpu = cpu_used(cpu_before, cpu_by_part(served.parts), len(corpus.records))
    items = len(corpus.records)
    return {
        **run_figures(site.engine, "bench", items, finished - started, cases, cpu),
        "api_seconds": round(submitted - started, 3),
        "api_items_per_s": round(items / (submitted - started), 1),
    }


def measure_backlog(served: Running, site: Site, corpus: Corpus, batch: int) -> dict[str, Any]:
    """The workers' own rate, without the API beside them: with the workers up and warm but
    taking nothing (their consumers cancelled through Celery's remote control), every item is
    submitted; then they take the queues again, and the time runs until all are processed."""
    from celery import Celery

    control = Celery(broker=site.env["REDLINE_BROKER_URL"]).control
    prefixed = site.settings.model_copy(update={"queue_prefix": site.env["REDLINE_QUEUE_PREFIX"]})
    queues = [queue_name(prefixed, queue) for queue in (HASHING, MATCHING, TEXTS)]
    # Each worker by its node name: a broadcast would reach every worker on the broker, other
    # runs' included.
    nodes = [node_name(pid, socket.gethostname()) for pid in served.parts["workers"]]

    def tell(command: Any, queue: str) -> None:
        replies = command(queue, destination=nodes, reply=True, timeout=10)
        if len(replies) != len(nodes):
            raise RuntimeError(f"{queue}: {len(replies)} of {len(nodes)} workers answered")

    for queue in queues:
        tell(control.cancel_consumer, queue)
    baseline = progress(site.engine)
    items = len(corpus.records)
    # The submission, with the workers taking nothing, is the API's own rate: nothing else
    # runs beside it.
    cpu_before, started = cpu_by_part(served.parts), time.perf_counter()
    with client_for(served.base, site) as client:
        post_all(client, corpus, "backlog", corpus.records, batch)
    submitted = time.perf_counter() - started
    api_cpu = cpu_used(cpu_before, cpu_by_part(served.parts), items)
    cpu_before = cpu_by_part(served.parts)
    started = time.perf_counter()
    for queue in queues:
        tell(control.add_consumer, queue)
    finished, cases = wait_processed(site.engine, "backlog", items, baseline)
    cpu = cpu_used(cpu_before, cpu_by_part(served.parts), items)
    return {
        **run_figures(site.engine, "backlog", items, finished - started, cases, cpu),
        "api_alone_items_per_s": round(items / submitted, 1),
        "api_alone_cpu": api_cpu,
    }


def measure_latency(
    served: Running, site: Site, corpus: Corpus, rate: float, batch: int = 10
) -> dict[str, Any]:
    """Submit paced at ``rate`` items/s; submit → case time of each item that opens one."""
    submitted_at: dict[str, datetime] = {}
    interval = batch / rate
    baseline = progress(site.engine)
    with client_for(served.base, site) as client:
        next_at = time.perf_counter()
        for start in range(0, len(corpus.records), batch):
            chunk = corpus.records[start : start + batch]
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            when = datetime.now(UTC)
            post_batch(client, corpus, "latency", chunk)
            for record in chunk:
                submitted_at[record["id"]] = when
            next_at += interval
    wait_processed(site.engine, "latency", len(corpus.records), baseline)
    with site.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT i.external_id, c.opened_at FROM cases c JOIN items i ON i.id = c.item_id"
                " JOIN sources so ON so.id = i.source_id WHERE so.name = 'latency'"
            )
        ).all()
    delays = []
    for external_id, opened_at in rows:
        opened = opened_at if opened_at.tzinfo else opened_at.replace(tzinfo=UTC)
        delays.append((opened - submitted_at[external_id]).total_seconds())
    return {
        "items": len(corpus.records),
        "rate_items_per_s": round(rate, 1),
        "cases": len(delays),
        "cases_expected": -(-len(corpus.records) // MATCH_EVERY),
        "p50_s": round(percentile(delays, 0.5), 3) if delays else None,
        "p95_s": round(percentile(delays, 0.95), 3) if delays else None,
        "max_s": round(max(delays), 3) if delays else None,
    }


def ingest_file(site: Site, corpus: Corpus, source: str, work: Path) -> None:
    folder = corpus.folder if corpus.kind == "image" else work / f"scan-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}-{uuid.uuid4().hex[:6]}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in corpus.records), encoding="utf-8")
    ingest(path, source, engine=site.engine, settings=site.settings, actor=ACTOR)


def measure_scan(site: Site, corpus: Corpus, warmup: Corpus, work: Path) -> dict[str, Any]:
    """The same items ingested from a file (untimed), then what ``redline scan --workers 1
    --source bench`` runs, in this one process, after a scan of the warm-up source with the same
    text model (as the workers' figure comes after their warm-up)."""
    ingest_file(site, warmup, "warmup", work)
    started = time.perf_counter()
    ingest_file(site, corpus, "bench", work)
    ingested = time.perf_counter() - started
    indexes = IndexStore(site.engine, site.settings.data_dir)
    model = TextModel.load(site.settings.text_model)  # the workers' model (REDLINE_TEXT_MODEL)
    options: dict[str, Any] = {"actor": ACTOR, "workers": 1, "text_model": model}
    scan(site.engine, site.settings, indexes, source="warmup", **options)
    parts = {"scan": [os.getpid()]}
    cpu_before = cpu_by_part(parts)
    started = time.perf_counter()
    scan(site.engine, site.settings, indexes, source="bench", **options)
    seconds = time.perf_counter() - started
    cpu = cpu_used(cpu_before, cpu_by_part(parts), len(corpus.records))
    items, _done, cases = processed(site.engine, "bench")
    return {
        **run_figures(site.engine, "bench", items, seconds, cases, cpu),
        # ``redline ingest`` of the same records from a file: the reference for the API's rate.
        "file_ingest_items_per_s": round(len(corpus.records) / ingested, 1),
    }


# --- the run --------------------------------------------------------------------------------


def run_kind(
    kind: str, count: int, args: argparse.Namespace, scratch: ScratchDatabases, work: Path
) -> dict[str, Any]:
    scale = args.image_scale
    corpus = make_corpus(kind, count, "b", work / f"{kind}-items", scale=scale)
    warmup = make_corpus(kind, min(20, count), "w", work / f"{kind}-warmup", 12, scale)
    backlog = make_corpus(kind, count, "q", work / f"{kind}-backlog", 14, scale)
    batch = args.batch if kind == "text" else args.image_batch
    result: dict[str, Any] = {
        "items": count,
        "cases_expected": -(-count // MATCH_EVERY),
        "records_per_post": batch,
    }
    if kind == "image":
        sizes = [(corpus.folder / r["media"][0]).stat().st_size for r in corpus.records]
        result["image_bytes_mean"] = round(statistics.mean(sizes))
    ways = ("scan", "workers_1", "workers_2", "backlog_1", "backlog_2")
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in ways}
    # Rounds interleave the three ways, so a burst of load on the machine hits all of them.
    for round_number in range(1, args.repeat + 1):
        last = round_number == args.repeat
        site = prepare(scratch.new(), work, [corpus, warmup], None)
        log(f"{kind} round {round_number}: redline scan of {count} items")
        runs["scan"].append(measure_scan(site, corpus, warmup, work))
        site.engine.dispose()
        for workers in (1, 2):
            site = prepare(scratch.new(), work, [corpus, warmup, backlog], args.broker)
            log(f"{kind} round {round_number}: {workers} worker(s), {count} items through the API")
            with running(site, workers, work) as served:
                figures = measure_workers(served, site, corpus, warmup, batch)
                runs[f"workers_{workers}"].append(figures)
                log(f"{kind} round {round_number}: {workers} worker(s), a backlog of {count} items")
                runs[f"backlog_{workers}"].append(measure_backlog(served, site, backlog, batch))
                if workers == 2 and last and args.latency_items:
                    paced = min(count, args.latency_items)
                    latency = make_corpus(kind, paced, "l", work / f"{kind}-lat", 13, scale)
                    if latency.bank_images:  # its matching photos join the bank first
                        hashed = hash_media_files(media_store(site.settings), latency.bank_images)
                        with site.engine.begin() as connection:
                            add_media_files(
                                connection,
                                "bench-known",
                                hashed,
                                actor=ACTOR,
                                now=datetime.now(UTC),
                            )
                        time.sleep(2)  # the workers' indexes see the new banks counter
                    rate = statistics.median(r["items_per_s"] for r in runs["workers_2"]) / 2
                    log(f"{kind}: latency at {rate:.0f} items/s")
                    result["latency_at_half_max"] = measure_latency(served, site, latency, rate)
            site.engine.dispose()
    for name, figures in runs.items():
        # The median round by rate (the upper middle of an even count), with every round's rate.
        ordered = sorted(figures, key=lambda r: float(r["items_per_s"]))
        result[name] = {
            **ordered[len(ordered) // 2],
            "all_items_per_s": [r["items_per_s"] for r in figures],
        }
    one, two, scan = result["workers_1"], result["workers_2"], result["scan"]
    result["ratios"] = {
        "workers_2_vs_1": round(two["items_per_s"] / one["items_per_s"], 3),
        "workers_1_vs_scan": round(one["items_per_s"] / scan["items_per_s"], 3),
        # The same, on a backlog: the workers alone, without the API taking CPU beside them.
        "backlog_2_vs_1": round(
            result["backlog_2"]["items_per_s"] / result["backlog_1"]["items_per_s"], 3
        ),
        "backlog_1_vs_scan": round(result["backlog_1"]["items_per_s"] / scan["items_per_s"], 3),
    }
    goals = {
        "workers_2_ge_1.7x_1": result["ratios"]["workers_2_vs_1"] >= 1.7,
        "workers_1_ge_90pct_of_scan": result["ratios"]["workers_1_vs_scan"] >= 0.9,
    }
    if kind == "text":
        # The API's own rate (while the workers take nothing), as the goal reads.
        goals["api_text_ge_2000_per_s"] = result["backlog_1"]["api_alone_items_per_s"] >= 2000
        result["ratios"]["api_alone_vs_file_ingest"] = round(
            result["backlog_1"]["api_alone_items_per_s"] / scan["file_ingest_items_per_s"], 3
        )
    latency_p95 = result.get("latency_at_half_max", {}).get("p95_s")
    if latency_p95 is not None:
        goals["p95_submit_to_case_le_2s"] = latency_p95 <= 2.0
    result["goal_met"] = goals
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=2000, help="text items per run")
    parser.add_argument("--image-items", type=int, default=300, help="image items per run")
    parser.add_argument("--kinds", default="text,image", help="text, image or both")
    parser.add_argument("--latency-items", type=int, default=None, help="items paced (latency)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three runs")
    parser.add_argument("--batch", type=int, default=100, help="text records per POST")
    parser.add_argument(
        "--image-batch", type=int, default=10, help="image records (one photo each) per POST"
    )
    parser.add_argument(
        "--image-scale",
        type=float,
        default=2.0,
        help="photo size: 2.0 is 900-1600 px a side (JPEG, about 100-200 KB), as platforms"
        " serve them; 0.5 is thumbnails",
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument("--broker", default=DEFAULT_BROKER, help="RabbitMQ URL")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 items of each kind (small photos), 20 paced (a smoke run)",
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or set(kinds) - {"text", "image"}:
        parser.exit(2, f"throughput.py: error: --kinds {args.kinds!r}: text, image or both\n")
    if args.quick:
        args.items = args.image_items = 20
        args.image_scale = 0.5
        args.repeat = 1
        args.latency_items = args.latency_items or 20
    if args.latency_items is None:
        args.latency_items = min(args.items, 500)
    work = Path(tempfile.mkdtemp(prefix="redline-throughput-"))
    scratch = ScratchDatabases(args.pg)
    result: dict[str, Any] = {
        "benchmark": "throughput",
        "redline_version": __version__,
        "machine": machine(),
        "load_before": list(os.getloadavg()),
        "image_scale": args.image_scale,
        "repeat": args.repeat,
    }
    try:
        for kind in kinds:
            count = args.items if kind == "text" else args.image_items
            result[kind] = run_kind(kind, count, args, scratch, work)
    finally:
        scratch.drop_all()
        shutil.rmtree(work, ignore_errors=True)
    result["load_after"] = list(os.getloadavg())
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
