"""Sign-in and public-complaint limits (issue 14, rows 7, 8 and 13).

Against a real served instance (``redline serve`` in a subprocess on a free loopback port, on
SQLite and PostgreSQL): 40 parallel attempts let exactly the limit through, for sign-ins and for
complaints; X-Forwarded-For is believed from configured proxies only. In-process: a throttled
attempt computes no password hash.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from redline.model.base import utcnow
from redline.review import accounts
from redline.web.app import create_app
from tests.helpers import wait_until_listening
from tests.review_desk import PASSWORD, Desk

PARALLEL = 40
# The sign-in counters count in fixed 15-minute windows (store/rates.py): a test whose attempts
# straddle a window's edge sees its count start again, as the limits' documented price says.
FAILURE_WINDOW_S = 15 * 60


def clear_of_a_window_edge(within_s: float = 90.0) -> None:
    """Wait for the next window when the current one ends in less than ``within_s``: what a
    test counts then all falls in one window."""
    left = FAILURE_WINDOW_S - time.time() % FAILURE_WINDOW_S
    if left < within_s:
        time.sleep(left + 0.5)


Serve = Callable[..., str]
# One TLS context for every client (the servers are plain HTTP): an httpx.Client makes its own
# by default, 27 ms of CPU each, and 40 clients start at once in each parallel test.
TLS = ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(desk: Desk) -> Iterator[Serve]:
    """Start ``redline serve`` on the desk's database with REDLINE_* overrides; its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> str:
        port = free_port()
        env = {
            **os.environ,
            "REDLINE_DATABASE_URL": desk.settings.database_url,
            "REDLINE_DATA_DIR": str(desk.settings.data_dir),
            **{f"REDLINE_{k.upper()}": v for k, v in settings.items()},
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "redline", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_listening(base, lambda: process.poll() is None, "redline serve")
        except AssertionError as error:
            raise AssertionError(
                process.stderr.read().decode()
                if process.poll() is not None and process.stderr
                else str(error)
            ) from None
        return base

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


Attempt = Callable[[httpx.Client, threading.Barrier | None], int]


def in_parallel(attempt: Attempt, count: int = PARALLEL) -> Counter[int]:
    """Run ``attempt`` ``count`` times at once, each with its own client; each reads its form
    first and waits for the others before it posts. The statuses returned."""
    ready = threading.Barrier(count)

    def one(_: int) -> int:
        with httpx.Client(timeout=120, verify=TLS) as client:
            return attempt(client, ready)

    with ThreadPoolExecutor(count) as pool:
        return Counter(pool.map(one, range(count)))


def sign_in(
    base: str, username: str, password: str, headers: dict[str, str] | None = None
) -> Attempt:
    """An attempt to sign in through the form."""

    def attempt(client: httpx.Client, ready: threading.Barrier | None = None) -> int:
        form = client.get(f"{base}/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        if ready is not None:
            ready.wait()
        done = client.post(
            f"{base}/login",
            headers=headers or {},
            data={"username": username, "password": password, "csrf": token.group(1)},
        )
        return done.status_code

    return attempt


def complain(base: str, headers: Callable[[], dict[str, str]] = dict) -> Attempt:
    """An attempt to file a complaint about a decision that does not exist (refusals count)."""

    def attempt(client: httpx.Client, ready: threading.Barrier | None = None) -> int:
        form = client.get(f"{base}/complaints/new")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        if ready is not None:
            ready.wait()
        done = client.post(
            f"{base}/complaints/new",
            headers=headers(),
            data={"csrf": token.group(1), "decision": 4242, "text": "Please restore it."},
        )
        return done.status_code

    return attempt


def test_parallel_sign_ins_let_exactly_the_network_limit_through(serve: Serve) -> None:
    base = serve(login_attempts_per_network="5")
    clear_of_a_window_edge(30.0)
    statuses = in_parallel(sign_in(base, "rev1", PASSWORD))
    assert statuses == Counter({303: 5, 429: PARALLEL - 5}), statuses


def test_parallel_wrong_passwords_lock_exactly_at_the_limit(serve: Serve) -> None:
    base = serve(login_failures_per_user="5")
    clear_of_a_window_edge()
    statuses = in_parallel(sign_in(base, "rev1", "not the password at all"))
    assert statuses == Counter({401: 5, 429: PARALLEL - 5}), statuses
    # Locked from this network only: the same user signs in through a trusted proxy that says
    # the client is elsewhere.
    proxied = serve(trusted_proxies="127.0.0.1")
    with httpx.Client(verify=TLS) as client:
        assert sign_in(base, "rev1", PASSWORD)(client, None) == 429
    with httpx.Client(verify=TLS) as client:
        elsewhere = {"X-Forwarded-For": "198.51.100.20"}
        assert sign_in(proxied, "rev1", PASSWORD, elsewhere)(client, None) == 303


def test_parallel_complaints_let_exactly_the_limit_through(serve: Serve) -> None:
    from redline.actions.complaints import MAX_PER_NETWORK

    base = serve()
    statuses = in_parallel(complain(base))
    assert statuses == Counter({404: MAX_PER_NETWORK, 429: PARALLEL - MAX_PER_NETWORK}), statuses


def test_forwarded_for_is_believed_from_trusted_proxies_only(serve: Serve) -> None:
    """Issue 14, row 13: a rotating X-Forwarded-For from loopback bypassed the complaint limit."""
    from redline.actions.complaints import MAX_PER_NETWORK

    numbers = iter(range(10_000))

    def rotating() -> dict[str, str]:
        n = next(numbers)
        return {"X-Forwarded-For": f"198.{n // 250}.{n % 250}.7"}

    untrusted = serve()
    with httpx.Client(verify=TLS) as client:
        statuses = Counter(
            complain(untrusted, rotating)(client, None) for _ in range(MAX_PER_NETWORK + 5)
        )
    assert statuses == Counter({404: MAX_PER_NETWORK, 429: 5}), statuses
    trusted = serve(trusted_proxies="10.9.0.0/16, 127.0.0.1")
    with httpx.Client(verify=TLS) as client:
        statuses = Counter(
            complain(trusted, rotating)(client, None) for _ in range(MAX_PER_NETWORK + 5)
        )
    assert statuses == Counter({404: MAX_PER_NETWORK + 5}), statuses


def test_a_throttled_attempt_computes_no_password_hash(desk: Desk) -> None:
    settings = desk.settings.model_copy(update={"login_attempts_per_network": 3})
    client = TestClient(create_app(settings), follow_redirects=False, client=("203.0.113.9", 1))
    for _ in range(3):
        assert sign_in("", "rev1", "not the password at all")(client, None) == 401
    checked = accounts.password_checks
    for username, password in [("rev1", PASSWORD), ("rev2", "wrong"), ("nobody", "x")] * 5:
        assert sign_in("", username, password)(client, None) == 429
    assert accounts.password_checks == checked
    # Another network is not throttled, and its attempt is checked.
    other = TestClient(create_app(settings), follow_redirects=False, client=("198.51.100.9", 1))
    assert sign_in("", "rev1", PASSWORD)(other, None) == 303
    assert accounts.password_checks == checked + 1


def test_the_overall_limit_holds_across_networks(desk: Desk) -> None:
    limits, now = accounts.LoginLimits(per_minute=4), utcnow()
    refused = 0
    for n in range(8):
        try:
            with desk.engine.begin() as connection:
                accounts.admit_login(connection, "rev1", f"198.51.{n}.0/24", now, limits)
        except accounts.TooManyAttempts as error:
            assert "right now" in str(error)
            refused += 1
    assert refused == 4
