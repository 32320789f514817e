"""Review console latency over a large queue, next to the same server's trivial endpoint.

    python benchmarks/web.py [--cases N] [--requests N] [--databases sqlite,postgresql]

For each database: a fresh, migrated database (a SQLite file; a scratch PostgreSQL database on
the server of ``--pg`` when it answers) filled with bulk inserts in the shape the pipeline
leaves behind: N cases, each on its own item, over a few sources; short generic texts (some
re-posted by several accounts), classifier scores for the classifier cases' texts, bank matches
for the bank cases, decisions and audit events for the cases already worked on; priorities
40..100, statuses mostly open. Three users are added with ``redline.review.accounts.add_user``.

A real uvicorn server (a subprocess, one worker, as ``redline serve`` runs it) then serves that
database. The benchmark signs in through ``/login`` with httpx, keeps the session cookie, and
measures the latency of each request, interleaved in shuffled rounds after a warm-up, so every
endpoint sees the same machine state:
- ``queue``: GET /queue (the first page of open cases);
- ``queue_lang``: GET /queue?lang=ar; ``queue_signal``: GET /queue?signal=bank (filters);
- ``case``: GET /cases/{id} of a random case;
- ``decide``: POST /cases/{id}/decide on distinct open cases, alternately "not violating, news
  reporting" and "violating, <category>" (which goes to second review, four-eyes);
- ``claim``: POST /cases/{id}/claim on distinct open cases;
- ``status``: GET /hma/status (one ``SELECT 1``): the reference, the cost of the framework,
  the session-less request and one database round trip. ``static``: GET /static/console.css.

Reported per endpoint and database: p50, p95, p99 (ms) and p95 / p95 of ``status``. The goals
(issue: queue and case pages p95 <= 150 ms, decision POST p95 <= 100 ms, at 100,000 cases) are
checked per database. ``sql`` profiles the same handlers in-process (the domain functions each
route calls, in one transaction, rolled back): statements per request, database time, and the
slowest statements; ``plans`` holds EXPLAIN QUERY PLAN / EXPLAIN (ANALYZE, BUFFERS) of the
slowest SELECTs of every endpoint over its goal (of all of them with ``--explain``).

Prints JSON to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Engine, Table, event, func, select

from _corpus import wait_until_serving
from redline import __version__
from redline.model import (
    AuditEvent,
    Bank,
    BankEntry,
    Case,
    Decision,
    Item,
    Match,
    Score,
    Source,
    TextBody,
    User,
)
from redline.model.base import utcnow
from redline.review import accounts, decisions, protection, queue
from redline.review.casefile import case_file
from redline.review.taxonomy import CATEGORIES
from redline.store import audit, ensure_schema, make_engine
from redline.store.audit import record_event

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = os.environ.get("REDLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark password, not a secret"
GOAL_CASES = 100_000
# Issue goals, p95 in ms, per endpoint.
GOALS_MS = {
    "queue": 150.0,
    "queue_lang": 150.0,
    "queue_signal": 150.0,
    "case": 150.0,
    "decide": 100.0,
    # The console's second generation: each new page under the same goal as the queue.
    "account": 150.0,
    "bank": 150.0,
    "dashboard": 150.0,
    "health": 150.0,
    "audit": 150.0,
    "orders": 150.0,
    "designations": 150.0,
}
TRIVIAL = "status"
PROFILE_CALLS = 20  # in-process calls of each handler for the SQL profile

# --- synthetic content: short, generic, harmless posts --------------------------------------

SUBJECTS = [
    "The city council",
    "Our book club",
    "The weather service",
    "A local bakery",
    "The football team",
    "The public library",
    "The school board",
    "Our choir",
    "The night market",
    "The cycling group",
    "The museum",
    "The harbour office",
]
VERBS = [
    "announced",
    "postponed",
    "shared photos of",
    "is looking for volunteers for",
    "published the schedule of",
    "reported on",
    "thanked everyone for",
    "moved",
]
OBJECTS = [
    "the spring market",
    "road repairs on the north bridge",
    "the new bus timetable",
    "Saturday's concert",
    "the reading hour for children",
    "the river clean-up",
    "the photo exhibition",
    "the charity run",
    "the garden open day",
    "the evening language classes",
]
TAILS = [
    "this weekend.",
    "after the storm.",
    "until further notice.",
    "next Tuesday.",
    "more details on the website.",
    "see you there!",
    "thanks for the kind messages.",
    "tickets are free.",
]
OTHER_LANGS = {
    "ar": [
        "تحديث حالة الطقس لهذا الأسبوع",
        "افتتاح سوق الربيع في وسط المدينة",
        "مواعيد الحافلات الجديدة تبدأ يوم الأحد",
        "صور من مباراة كرة القدم أمس",
        "المكتبة العامة مفتوحة حتى الساعة الثامنة",
    ],
    "fr": [
        "La mairie annonce de nouveaux horaires de bus.",
        "Photos du marché de printemps.",
        "La bibliothèque reste ouverte jusqu'à 20 heures.",
        "Concert gratuit samedi soir.",
    ],
    "de": [
        "Der Wochenmarkt öffnet am Samstag wieder.",
        "Neue Busfahrpläne ab Montag.",
        "Fotos vom Stadtfest sind online.",
    ],
    "es": [
        "El mercado de primavera abre este fin de semana.",
        "Nuevos horarios de autobús desde el lunes.",
        "Gracias por venir al concierto.",
    ],
}
LANGS = [("en", 0.55), ("ar", 0.25), ("fr", 0.08), ("de", 0.05), ("es", 0.04), (None, 0.03)]
SOURCES = [
    ("channel-export", "jsonl", 0.45),
    ("forum-crawl", "html", 0.2),
    ("twitter-archive", "csv", 0.3),
    ("url-list", "txt", 0.05),
]
# Case status shares: mostly open, some worked on.
STATUSES = [
    ("open", 0.85),
    ("second_review", 0.03),
    ("escalated", 0.01),
    ("violating", 0.04),
    ("not_violating", 0.07),
]
REPOST_SHARE = 0.08  # items whose text another account posted too (near-duplicate clusters)
MODEL = "redline-text-bench"


def post_text(rng: random.Random, lang: str | None, number: int) -> str:
    if lang in OTHER_LANGS:
        parts = rng.sample(OTHER_LANGS[lang], k=2)
        return f"{parts[0]} - {parts[1]} ({number})"
    sentences = [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {rng.choice(TAILS)}"
        for _ in range(rng.randint(1, 3))
    ]
    return " ".join(sentences) + f" #{number}"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


@dataclass
class Dataset:
    """Rows per table (insert order respects foreign keys), and what the workload needs."""

    tables: list[tuple[Table, list[dict[str, Any]]]] = field(default_factory=list)
    free_open: list[int] = field(default_factory=list)  # open, unclaimed: decide/claim targets
    case_ids: list[int] = field(default_factory=list)
    busiest_account: tuple[str, str] = ("", "")  # (source name, account): the account page


def build_rows(cases: int, users: dict[str, int], now: datetime, seed: int = 7) -> Dataset:
    """The content of a review desk with ``cases`` cases, as plain rows."""
    rng = random.Random(seed)
    sources = [
        {"id": n, "name": name, "format": fmt, "created_at": now - timedelta(days=90)}
        for n, (name, fmt, _) in enumerate(SOURCES, start=1)
    ]
    source_weights = [(n, share) for n, (_, _, share) in enumerate(SOURCES, start=1)]
    accounts_per_source = max(2, cases // 25)
    texts: dict[str, str] = {}
    reposted: list[tuple[str, str | None]] = []  # (sha256, lang) of texts posted more than once
    items, case_rows, matches, entries, decided, events = [], [], [], [], [], []
    scores: dict[str, dict[str, Any]] = {}
    dataset = Dataset()
    for number in range(1, cases + 1):
        lang = pick(rng, LANGS)
        if reposted and rng.random() < REPOST_SHARE:
            digest, lang = rng.choice(reposted)
        else:
            body = post_text(rng, lang, number)
            digest = sha256(body)
            texts[digest] = body
            if rng.random() < REPOST_SHARE / 3:
                reposted.append((digest, lang))
        source_id = pick(rng, source_weights)
        account = rng.randrange(accounts_per_source)
        posted = now - timedelta(days=30 * rng.random())
        items.append(
            {
                "id": number,
                "source_id": source_id,
                "external_id": f"post-{number}",
                "revision": 1,
                "content_sha256": sha256(f"{source_id}:{number}:{digest}"),
                "text_sha256": digest,
                "account": f"acct_{source_id}_{account:05d}",
                "account_name": f"Account {account}",
                "posted_at": posted,
                "url": f"https://example.org/page/{number}" if source_id == 4 else None,
                "encoding": None,
                "file": f"{SOURCES[source_id - 1][0]}.{SOURCES[source_id - 1][1]}",
                "location": f"line {number}",
                "extra": None,
                "ingested_at": posted + timedelta(hours=1),
            }
        )
        # A case: 10% opened by a bank match (confirmed: 100), the rest by the classifier.
        category = rng.choice(list(CATEGORIES))
        if rng.random() < 0.10:
            signal = "bank"
            confirmed = rng.random() < 0.6
            priority = 100 if confirmed else rng.randint(60, 80)
            distance = rng.randint(0, 20)
            reason = f"bank match: {'confirmed' if confirmed else 'reported'} (distance {distance})"
            entries.append(
                {
                    "id": len(entries) + 1,
                    "bank_id": 1 if confirmed else 2,
                    "category": category,
                    "source_org": "partner",
                    "note": f"entry {len(entries) + 1}",
                    "tags": None,
                    "provenance": {"import": "bench.csv"},
                    "media_sha256": None,
                    "enabled": True,
                    "added_at": now - timedelta(days=60),
                    "added_by": "cli:bench",
                }
            )
            matches.append(
                {
                    "media_sha256": None,
                    "text_sha256": digest,
                    "bank_entry_id": len(entries),
                    "signal_type": "text_minhash",
                    "distance": distance / 100,
                    "detail": {"jaccard": round(1 - distance / 100, 2)},
                    "created_at": now,
                }
            )
        else:
            signal = "classifier"
            priority = rng.randint(40, 99)
            reason = f"classifier score {priority / 100:.2f} ({category})"
        opened = now - timedelta(days=7 * rng.random())
        status = pick(rng, STATUSES)
        case = {
            "id": number,
            "item_id": number,
            "status": status,
            "priority": priority,
            "reason": reason,
            "signal": signal,
            "category": category,
            "lang": lang,
            "assignee_id": None,
            "claimed_at": None,
            "decided_at": None,
            "opened_at": opened,
            "updated_at": opened,
        }
        if status == "open" and rng.random() < 0.02:  # someone else is on it
            case.update(assignee_id=users["rev2"], claimed_at=now - timedelta(minutes=5))
        elif status == "open":
            dataset.free_open.append(number)
        if status != "open":
            decided.append((number, status, opened))
        if status in queue.FINAL_STATUSES:
            case["decided_at"] = opened + timedelta(hours=2)
        case_rows.append(case)
        if signal == "classifier" and digest not in scores:  # one per (text, model)
            scores[digest] = {
                "text_sha256": digest,
                "model": MODEL,
                "score": priority / 100,
                "flagged": True,
                "category": category,
                "lang": lang or "und",
                "explanation": [{"feature": "word", "weight": 0.4, "spans": [[0, 8]]}],
                "created_at": opened,
            }
    decision_rows = []
    for case_id, status, opened in decided:
        first = (
            "violating"
            if status in ("second_review", "escalated", "violating")
            else ("not_violating")
        )
        steps = [
            (users["rev2"], first, "open", "second_review" if first == "violating" else status)
        ]
        if status in ("escalated", "violating"):  # the second reviewer agreed, or did not
            second = "violating" if status == "violating" else "not_violating"
            steps.append((users["lead1"], second, "second_review", status))
        for step, (user_id, verdict, before, after) in enumerate(steps):
            at = opened + timedelta(minutes=30 * (step + 1))
            decision_rows.append(
                {
                    "case_id": case_id,
                    "user_id": user_id,
                    "verdict": verdict,
                    "category": rng.choice(list(CATEGORIES)) if verdict == "violating" else None,
                    "reason": "news_reporting" if verdict == "not_violating" else None,
                    "note": None,
                    "applied_from": None,
                    "status_before": before,
                    "status_after": after,
                    "created_at": at,
                    "undone_at": None,
                }
            )
            events.append(
                {
                    "at": at,
                    "actor": "user:rev2" if step == 0 else "user:lead1",
                    "action": "case.decide",
                    "subject_type": "case",
                    "subject_id": str(case_id),
                    "before": {"status": before},
                    "after": {"status": after, "verdict": verdict},
                    "detail": None,
                }
            )
    for _ in range(cases):  # one earlier case view per case, on average
        viewer = rng.choice(["user:rev1", "user:rev2", "user:lead1"])
        events.append(
            {
                "at": now - timedelta(days=7 * rng.random()),
                "actor": viewer,
                "action": "case.view",
                "subject_type": "case",
                "subject_id": str(rng.randint(1, cases)),
                "before": None,
                "after": None,
                "detail": None,
            }
        )
    banks = [
        {
            "id": n,
            "name": name,
            "description": None,
            "enabled": True,
            "enabled_ratio": 1.0,
            "pdq_threshold": 31,
            "text_threshold": 0.8,
            "dihedral": False,
            "confirmed": confirmed,
            "version": 1,
            "created_at": now - timedelta(days=90),
            "updated_at": now - timedelta(days=60),
        }
        for n, name, confirmed in ((1, "confirmed", True), (2, "reported", False))
    ]
    dataset.tables = [
        (Source.__table__, sources),
        (TextBody.__table__, [{"sha256": k, "body": v} for k, v in texts.items()]),
        (Item.__table__, items),
        (Case.__table__, case_rows),
        (Score.__table__, list(scores.values())),
        (Bank.__table__, banks),
        (BankEntry.__table__, entries),
        (Match.__table__, matches),
        (Decision.__table__, decision_rows),
        (AuditEvent.__table__, events),
    ]
    dataset.case_ids = [c["id"] for c in case_rows]
    posts = Counter((item["source_id"], item["account"]) for item in items)
    (source_id, account), _ = posts.most_common(1)[0]
    dataset.busiest_account = (sources[source_id - 1]["name"], str(account))
    rng.shuffle(dataset.free_open)
    return dataset


# --- loading ---------------------------------------------------------------------------------


def bulk_load(engine: Engine, dataset: Dataset) -> dict[str, int]:
    """Insert every row in one transaction: COPY on PostgreSQL, executemany on SQLite."""
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        for table, rows in dataset.tables:
            counts[table.name] = len(rows)
            if not rows:
                continue
            if table is AuditEvent.__table__:  # appended to the hash chain, as redline writes them
                audit.append_events(connection, rows)
            elif postgres:
                copy_rows(connection, table, rows)
            else:
                for start in range(0, len(rows), 20_000):
                    connection.execute(table.insert(), rows[start : start + 20_000])
        if postgres:  # explicit ids were given: move each id sequence past them
            for table, rows in dataset.tables:
                if "id" in table.c and rows and "id" in rows[0]:
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
    return counts


def copy_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    json_columns = {c.name for c in table.c if isinstance(c.type, JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c]
                    for c in columns
                ]
            )


def add_users(engine: Engine) -> dict[str, int]:
    with engine.begin() as connection:
        return {
            name: accounts.add_user(connection, name, role, PASSWORD, "cli:bench").id
            for name, role in (("rev1", "reviewer"), ("rev2", "reviewer"), ("lead1", "lead"))
        }


def analyze(engine: Engine) -> None:
    """Planner statistics, as autovacuum (PostgreSQL) would have them by now. SQLite gets none:
    redline never runs ANALYZE there, so the benchmark measures what a deployment gets."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )


# --- PostgreSQL scratch databases ------------------------------------------------------------


class ScratchDatabases:
    """Fresh PostgreSQL databases on the server, dropped at the end."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.names: list[str] = []

    def reachable(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            with psycopg.connect(self.server, connect_timeout=5):
                return None
        except psycopg.OperationalError as error:
            return f"PostgreSQL not reachable at {self.server}: {str(error).strip()}"

    def new(self) -> str:
        name = f"redline_bench_web_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        base = self.server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as admin:
            for name in self.names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server and the client ----------------------------------------------------------------


def log(message: str) -> None:
    print(f"[web {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(url: str, data_dir: Path, workdir: Path) -> Iterator[str]:
    """A uvicorn server over ``url`` in a subprocess; yields its base URL."""
    port = free_port()
    server_log = workdir / f"server-{port}.log"
    env = {**os.environ, "REDLINE_DATABASE_URL": url, "REDLINE_DATA_DIR": str(data_dir)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "redline.web.app:served_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with server_log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_serving(
                base,
                lambda: None if process.poll() is None else "the server exited",
                120,
            )
        except RuntimeError as error:
            raise RuntimeError(f"{error}:\n{server_log.read_text()[-4000:]}") from None
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
LOGIN_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)"')


def sign_in(client: httpx.Client, username: str) -> str:
    """Sign in through the login form; the session's CSRF token (from a page's meta tag)."""
    form = client.get("/login")
    form.raise_for_status()
    found = LOGIN_CSRF.search(form.text)
    assert found, "no CSRF field on the login form"
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": found.group(1)}
    )
    if answer.status_code != 303 or "redline_session" not in client.cookies:
        raise RuntimeError(f"sign-in refused: {answer.status_code} {answer.text[:300]}")
    page = client.get("/queue")
    page.raise_for_status()
    meta = CSRF_META.search(page.text)
    assert meta and meta.group(1), "no csrf-token meta tag on the queue page"
    return meta.group(1)


@dataclass
class Endpoint:
    """One measured request kind: how to make the next request, and what answer is right."""

    name: str
    method: str
    path: str  # as reported
    next_request: Callable[[], tuple[str, str, dict[str, str] | None]]
    expect: int
    lead: bool = False  # asked by a lead (the pages reviewers cannot open)
    samples: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def workload(dataset: Dataset, csrf: str, rng: random.Random, per_endpoint: int) -> list[Endpoint]:
    if len(dataset.free_open) < 2 * per_endpoint + PROFILE_CALLS:
        raise SystemExit(
            f"web.py: error: {len(dataset.free_open)} open cases are too few for "
            f"{per_endpoint} decisions and claims: raise --cases or lower --requests"
        )
    to_decide = iter(dataset.free_open[:per_endpoint])
    to_claim = iter(dataset.free_open[per_endpoint : 2 * per_endpoint])
    categories = list(CATEGORIES)
    decided = 0

    def get(path: str) -> Callable[[], tuple[str, str, None]]:
        return lambda: ("GET", path, None)

    def decide() -> tuple[str, str, dict[str, str]]:
        nonlocal decided
        decided += 1
        form = {"csrf": csrf, "note": ""}
        if decided % 2:
            form.update(verdict="not_violating", reason="news_reporting", category="")
        else:
            form.update(verdict="violating", category=rng.choice(categories), reason="")
        return "POST", f"/cases/{next(to_decide)}/decide", form

    def claim() -> tuple[str, str, dict[str, str]]:
        return "POST", f"/cases/{next(to_claim)}/claim", {"csrf": csrf}

    def case() -> tuple[str, str, None]:
        return "GET", f"/cases/{rng.choice(dataset.case_ids)}", None

    source, account = dataset.busiest_account
    account_page = f"/posting-accounts?source={source}&account={account}"

    return [
        Endpoint("queue", "GET", "/queue", get("/queue"), 200),
        Endpoint("queue_lang", "GET", "/queue?lang=ar", get("/queue?lang=ar"), 200),
        Endpoint("queue_signal", "GET", "/queue?signal=bank", get("/queue?signal=bank"), 200),
        Endpoint("case", "GET", "/cases/{id}", case, 200),
        Endpoint("decide", "POST", "/cases/{id}/decide", decide, 303),
        Endpoint("claim", "POST", "/cases/{id}/claim", claim, 303),
        Endpoint("status", "GET", "/hma/status", get("/hma/status"), 200),
        Endpoint("static", "GET", "/static/console.css", get("/static/console.css"), 200),
        Endpoint("account", "GET", "/posting-accounts", get(account_page), 200),
        Endpoint("bank", "GET", "/banks/{name}", get("/banks/confirmed"), 200),
        Endpoint("dashboard", "GET", "/dashboard", get("/dashboard"), 200, lead=True),
        Endpoint("health", "GET", "/health", get("/health"), 200, lead=True),
        Endpoint("audit", "GET", "/audit", get("/audit"), 200, lead=True),
        Endpoint("orders", "GET", "/orders", get("/orders"), 200, lead=True),
        Endpoint("designations", "GET", "/designations", get("/designations"), 200, lead=True),
    ]


def measure(
    client: httpx.Client,
    lead: httpx.Client,
    endpoints: list[Endpoint],
    warmup: int,
    rounds: int,
) -> None:
    """Shuffled rounds of one request per endpoint (a lead's pages through ``lead``); the first
    ``warmup`` rounds not recorded."""
    rng = random.Random(11)
    for round_number in range(warmup + rounds):
        order = endpoints[:]
        rng.shuffle(order)
        for endpoint in order:
            method, path, form = endpoint.next_request()
            started = time.perf_counter()
            answer = (lead if endpoint.lead else client).request(method, path, data=form)
            elapsed = time.perf_counter() - started
            if answer.status_code != endpoint.expect:
                raise RuntimeError(
                    f"{method} {path}: {answer.status_code}, expected {endpoint.expect}: "
                    f"{answer.text[:500]}"
                )
            if round_number >= warmup:
                endpoint.samples.append(elapsed * 1000)
                endpoint.sizes.append(len(answer.content))
        if (round_number + 1) % 50 == 0:
            log(f"  round {round_number + 1}/{warmup + rounds}")


def percentiles(samples: list[float]) -> dict[str, float]:
    if len(samples) == 1:
        samples = samples * 2
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "max_ms": round(max(samples), 2),
    }


# --- in-process SQL profile and plans ---------------------------------------------------------


class StatementLog:
    """Every statement an engine runs while ``capturing``, with its parameters and time."""

    def __init__(self, engine: Engine) -> None:
        self.capturing = False
        self.entries: list[tuple[str, Any, float]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, _cursor: Any, stmt: str, params: Any, *_: Any) -> None:
        if self.capturing:
            self.entries.append((stmt, params, time.perf_counter() - conn.info["bench_started"]))


def profile(engine: Engine, token: str, dataset: Dataset, calls: int) -> dict[str, Any]:
    """The domain calls of each console route, in-process, each in a rolled-back transaction."""
    statements = StatementLog(engine)
    rng = random.Random(5)
    targets = iter(dataset.free_open[-calls:])
    categories = list(CATEGORIES)

    def signed_in(connection: Connection) -> accounts.Reviewer:
        found = accounts.session_user(connection, token, utcnow())
        assert found is not None
        return found[0]

    def queue_page(where: queue.QueueFilter) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            me = signed_in(connection)
            queue.list_queue(connection, me, where, utcnow())
            queue.count_open(connection)

        return run

    def case_page(connection: Connection) -> None:
        me = signed_in(connection)
        case_id = rng.choice(dataset.case_ids)
        case_file(connection, me, case_id, utcnow())
        record_event(connection, me.actor, "case.view", "case", str(case_id))
        protection.exposure(connection, me, utcnow())

    def decide(connection: Connection) -> None:
        me = signed_in(connection)
        verdict = decisions.Verdict("violating", rng.choice(categories))
        decisions.decide(connection, me, next(targets), verdict, utcnow())

    handlers = {
        "queue": queue_page(queue.QueueFilter()),
        "queue_lang": queue_page(queue.QueueFilter(lang="ar")),
        "queue_signal": queue_page(queue.QueueFilter(signal="bank")),
        "case": case_page,
        "decide": decide,
    }
    result: dict[str, Any] = {}
    for name, handler in handlers.items():
        timed: list[tuple[str, Any, float]] = []
        wall: list[float] = []
        for _ in range(calls):
            with engine.connect() as connection:
                transaction = connection.begin()
                statements.entries.clear()
                statements.capturing = True
                started = time.perf_counter()
                handler(connection)
                wall.append(time.perf_counter() - started)
                statements.capturing = False
                # A driver returns from execute() before every row is read (SQLite steps to the
                # first row only): each SELECT runs again, in the same transaction, with its rows.
                for stmt, params, seconds in statements.entries:
                    if is_select(stmt):
                        started = time.perf_counter()
                        connection.exec_driver_sql(stmt, params).fetchall()
                        seconds = time.perf_counter() - started
                    timed.append((stmt, params, seconds))
                transaction.rollback()
        by_sql: dict[str, list[float]] = defaultdict(list)
        example: dict[str, Any] = {}
        for stmt, params, seconds in timed:
            by_sql[stmt].append(seconds)
            example.setdefault(stmt, params)
        slowest = sorted(by_sql.items(), key=lambda kv: -sum(kv[1]))[:3]
        result[name] = {
            "calls": calls,
            "statements_per_call": round(len(timed) / calls, 1),
            "db_ms_per_call": round(sum(s for *_, s in timed) / calls * 1000, 2),
            "handler_ms_per_call": round(statistics.fmean(wall) * 1000, 2),
            "slowest": [
                {
                    "sql": " ".join(stmt.split())[:300],
                    "ms_per_call": round(sum(times) / calls * 1000, 2),
                    "runs_per_call": round(len(times) / calls, 1),
                }
                for stmt, times in slowest
            ],
            "_examples": [(stmt, example[stmt]) for stmt, _ in slowest],
        }
    return result


def is_select(stmt: str) -> bool:
    return stmt.lstrip().upper().startswith("SELECT")


def explain(engine: Engine, stmt: str, params: Any) -> list[str]:
    if not is_select(stmt):
        return ["(not a SELECT: not explained)"]
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params)
            return [row[0] for row in rows]
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return lines


# --- one database -----------------------------------------------------------------------------


def run_database(name: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    engine = make_engine(url)
    ensure_schema(engine)
    now = utcnow()
    log(f"{name}: building {args.cases} cases")
    started = time.perf_counter()
    users = add_users(engine)
    dataset = build_rows(args.cases, users, now)
    built = time.perf_counter() - started
    log(f"{name}: loading")
    started = time.perf_counter()
    counts = bulk_load(engine, dataset)
    analyze(engine)
    loaded = time.perf_counter() - started
    with engine.connect() as connection:
        open_cases = connection.scalar(
            select(func.count()).select_from(Case).where(Case.status == "open")
        )
        counts["users"] = connection.scalar(select(func.count()).select_from(User)) or 0
    log(f"{name}: loaded in {loaded:.1f} s; serving")
    warmup = min(args.warmup, args.requests)
    with (
        served(url, workdir / "data", workdir) as base,
        httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client,
        httpx.Client(base_url=base, follow_redirects=False, timeout=60) as lead,
    ):
        csrf = sign_in(client, "rev1")
        sign_in(lead, "lead1")
        token = client.cookies["redline_session"]
        endpoints = workload(dataset, csrf, random.Random(3), warmup + args.requests)
        log(f"{name}: measuring {len(endpoints)} endpoints x {args.requests} (+{warmup} warm-up)")
        measure(client, lead, endpoints, warmup, args.requests)
    figures = {
        e.name: {
            "method": e.method,
            "path": e.path,
            **percentiles(e.samples),
            "mean_bytes": round(statistics.fmean(e.sizes)),
        }
        for e in endpoints
    }
    trivial = figures[TRIVIAL]["p95_ms"]
    for figure in figures.values():
        figure["p95_vs_trivial"] = round(figure["p95_ms"] / trivial, 2) if trivial else None
    goal_met = {
        f"{endpoint}_p95_le_{int(goal)}ms": figures[endpoint]["p95_ms"] <= goal
        for endpoint, goal in GOALS_MS.items()
    }
    log(f"{name}: profiling the handlers in-process")
    sql = profile(engine, token, dataset, calls=min(PROFILE_CALLS, args.requests))
    plans: dict[str, Any] = {}
    for endpoint, goal in GOALS_MS.items():
        if endpoint in sql and (args.explain or figures[endpoint]["p95_ms"] > goal):
            plans[endpoint] = [
                {"sql": " ".join(stmt.split())[:300], "plan": explain(engine, stmt, params)}
                for stmt, params in sql[endpoint]["_examples"][:2]
            ]
    for entry in sql.values():
        del entry["_examples"]
    engine.dispose()
    return {
        "rows": counts,
        "open_cases": open_cases,
        "build_s": round(built, 2),
        "load_s": round(loaded, 2),
        "endpoints": figures,
        "goal_met": goal_met,
        "all_goals_met": all(goal_met.values()),
        "sql": sql,
        **({"plans": plans} if plans else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=GOAL_CASES, help="cases in the database")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up rounds (not measured)")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument(
        "--explain", action="store_true", help="query plans of all endpoints, not only the slow"
    )
    args = parser.parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if unknown := set(databases) - {"sqlite", "postgresql"}:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    if args.cases < 10 or args.requests < 1:
        parser.error("--cases must be at least 10 and --requests at least 1")
    result: dict[str, Any] = {
        "benchmark": "web",
        "redline_version": __version__,
        "cases": args.cases,
        "requests": args.requests,
        "warmup": min(args.warmup, args.requests),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "reference": f"{TRIVIAL}: GET /hma/status (one SELECT 1), same server, same run",
        "goals_ms": GOALS_MS,
        "goals_apply": args.cases >= GOAL_CASES,
    }
    workdir = Path(tempfile.mkdtemp(prefix="redline-bench-web-"))
    scratch = ScratchDatabases(args.pg) if "postgresql" in databases else None
    try:
        for database in databases:
            if database == "sqlite":
                url = f"sqlite:///{workdir / 'web.db'}"
            else:
                assert scratch is not None
                missing = scratch.reachable()
                if missing is not None:
                    log(f"postgresql: skipped ({missing})")
                    result[database] = {"skipped": missing}
                    continue
                url = scratch.new()
            result[database] = run_database(database, url, args, workdir)
    finally:
        if scratch is not None and scratch.names:
            scratch.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    # Other processes on the machine widen the tails: the load says how quiet the run was.
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["all_goals_met"] = {
        d: result[d]["all_goals_met"] for d in databases if "all_goals_met" in result[d]
    }
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
