"""What each web process serves: the banks version of its indexes in /api/v1/status and
/hma/m/index/status, HMA's 503 when it is too far behind, and `redline serve --workers N`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine

from redline import banks
from redline.config import Settings
from redline.model.base import utcnow
from redline.store import counters
from tests.helpers import only_on, wait_until_listening
from tests.web.conftest import ClientFactory, hma_token

H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
H2 = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
BOUND = 60.0  # seconds a poll waits for what must happen well before (never a speed claim)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {BOUND}s"
        time.sleep(0.05)


def add_directly(engine: Engine, value: str) -> int:
    """A bank entry added by another process (here: straight into the database)."""
    with engine.begin() as connection:
        return banks.add_entry(connection, "BANK", {"pdq": value}, actor="t", now=utcnow()).id


def banks_version(engine: Engine) -> int:
    with engine.connect() as connection:
        return counters.current(connection, counters.BANKS)


def test_status_says_which_banks_version_the_process_serves_and_503_when_too_stale(
    make_client: ClientFactory, engine: Engine
) -> None:
    # Never reloads by itself within the test (a delay drawn once from up to 11 days); stale
    # after half a second.
    client = make_client(
        index_check_seconds=0, index_reload_jitter=10**6, index_max_stale_seconds=0.5
    )
    assert client.post("/hma/c/banks", json={"name": "BANK"}).status_code == 201
    first = client.post("/hma/c/bank/BANK/signal", json={"pdq": H1}).json()["id"]
    # The process that made the change serves it at once.
    found = client.get("/hma/m/lookup", params={"signal": H1, "signal_type": "pdq"})
    assert found.json() == {"BANK": [{"bank_content_id": first, "distance": "0"}]}
    index = client.get("/hma/m/index/status", params={"signal_type": "pdq"}).json()["pdq"]
    assert index["banks_version"] == index["database_version"] == banks_version(engine)
    assert index["present"] is True and index["stale"] is False and index["behind_seconds"] == 0
    assert index["seconds_since_load"] >= 0
    status = client.get("/api/v1/status").json()
    assert status["index"]["pid"] == os.getpid()
    assert status["index"]["banks_version"] == banks_version(engine)
    assert status["indexes"]["pdq"]["present"] is True
    assert client.get("/hma/status").text == "I-AM-ALIVE"

    # Another process adds an entry: this one is behind, and says so.
    second = add_directly(engine, H2)
    behind = client.get("/api/v1/status").json()["index"]
    assert behind["database_version"] == banks_version(engine) > behind["banks_version"]
    assert behind["reload_in"] is not None and behind["reload_in"] <= 10**6
    wait_for(lambda: client.get("/hma/status").status_code == 503, "stale")
    assert client.get("/hma/status").text == "INDEX-STALE"
    refused = client.get("/hma/m/lookup", params={"signal": H2, "signal_type": "pdq"})
    assert refused.status_code == 503 and "index stale" in refused.json()["message"]
    assert (
        client.get("/hma/m/raw_lookup", params={"signal": H2, "signal_type": "pdq"}).status_code
        == 503
    )
    index = client.get("/hma/m/index/status").json()["pdq"]
    assert index["stale"] is True and index["behind_seconds"] > 0.5
    assert client.get("/api/v1/status").json()["index"]["stale"] is True

    # A change made through this process (here: enabling the bank, as it was) loads what is pending.
    assert client.put("/hma/c/bank/BANK", json={"enabled": True}).status_code == 200
    found = client.get("/hma/m/lookup", params={"signal": H2, "signal_type": "pdq"})
    assert found.json() == {"BANK": [{"bank_content_id": second, "distance": "0"}]}
    current = client.get("/api/v1/status").json()["index"]
    assert current["banks_version"] == current["database_version"] == banks_version(engine)
    assert current["stale"] is False and current["reloads"] == 1
    assert client.get("/hma/status").text == "I-AM-ALIVE"


def test_status_needs_a_token(make_client: ClientFactory) -> None:
    client = make_client()
    assert client.get("/api/v1/status", headers={"Authorization": ""}).status_code == 401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@only_on("postgresql")  # what several web processes share in a deployment
def test_serve_with_two_workers_answers_from_two_processes(settings: Settings) -> None:
    headers = hma_token(settings)
    port = free_port()
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": settings.database_url,
        "REDLINE_DATA_DIR": str(settings.data_dir),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "redline", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    pids: set[int] = set()
    versions: list[Any] = []
    try:
        wait_until_listening(base, lambda: process.poll() is None, "redline serve --workers 2")
        # No kept-alive connections: every request is a new connection, which the kernel may
        # hand to either process. One client: a new one per request costs a TLS context's CPU.
        client = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))

        def ask() -> httpx.Response | None:
            try:
                return client.get(f"{base}/api/v1/status", headers=headers)
            except httpx.HTTPError:
                return None

        def both_answered() -> bool:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            # Several new connections at once: an idle process that wins every accept race would
            # otherwise answer one request after another by itself.
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: ask(), range(8)))
            for answer in answers:
                if answer is None:
                    return False
                assert answer.status_code == 200, answer.text
                pids.add(answer.json()["index"]["pid"])
                versions.append(answer.json()["index"]["banks_version"])
            return len(pids) == 2

        wait_for(both_answered, "answered by two processes")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.pid not in pids  # the answers came from the worker processes
    assert set(versions) == {0}  # an empty database: banks version 0 everywhere
