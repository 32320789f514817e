"""What a flood of sign-in attempts does to a served redline: the health check's latency under it.

    python benchmarks/login_flood.py [--attempts N] [--seconds S] [--spray N]

A real ``redline serve`` (a subprocess, one uvicorn worker, a fresh SQLite database) is measured
from outside over loopback. ``GET /hma/status`` (one ``SELECT 1``) is timed three ways in the
same run:
- ``idle``: nothing else going on, the reference;
- ``paced``: while N wrong-password attempts for one user arrive over S seconds (the issue's
  80 in 15 s, which moved p50 from 29 to 874 ms when every attempt cost an argon2 hash);
- ``spray``: while N attempts, each for a different username, arrive as fast as 8 clients can
  send them.
For each flood it also counts the answers (401: a password hash was computed; 429: refused
before any hash). Each attempt that reaches argon2 costs tens of milliseconds of CPU; the limits
bound how many can. Prints JSON to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from _corpus import wait_until_serving
from redline.review.accounts import FAILURE_WINDOW, add_user
from redline.store import ensure_schema, make_engine

PASSWORD = "quiet harbour lantern orchard seventeen"


RATE_WINDOW_S = int(FAILURE_WINDOW.total_seconds())  # the sign-in limits count per window


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def latencies(base: str, stop: threading.Event, out: list[float], limit: int = 100_000) -> None:
    """Time GET /hma/status back to back until ``stop`` (or ``limit`` requests)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set() and len(out) < limit:
            started = time.perf_counter()
            client.get("/hma/status").raise_for_status()
            out.append((time.perf_counter() - started) * 1000)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def flood(
    base: str, attempts: int, seconds: float, spray: bool = False, workers: int = 8
) -> Counter[int]:
    """``attempts`` wrong passwords spread over ``seconds`` (0: as fast as they go), for one
    user, or (``spray``) each for another username, as password sprayers do."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    started = time.perf_counter()
    counter = iter(range(attempts))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            for n in counter:
                if seconds:
                    wait = started + n * seconds / attempts - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
                form = {
                    "username": f"user{n}" if spray else "alice",
                    "password": f"wrong guess {n}",
                    "csrf": token.group(1) if token else "",
                }
                answer = client.post("/login", data=form)
                with lock:
                    statuses[answer.status_code] += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measured_during(base: str, action: Any) -> tuple[dict[str, float], Any]:
    samples: list[float] = []
    stop = threading.Event()
    timer = threading.Thread(target=latencies, args=(base, stop, samples))
    timer.start()
    result = action()
    stop.set()
    timer.join()
    return summary(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=80, help="paced attempts (default 80)")
    parser.add_argument("--seconds", type=float, default=15.0, help="over this long (default 15)")
    parser.add_argument("--spray", type=int, default=300, help="sprayed attempts (default 300)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="redline-bench-login-") as folder:
        url = f"sqlite:///{Path(folder) / 'redline.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        with engine.begin() as connection:
            add_user(connection, "alice", "reviewer", PASSWORD, "benchmark")
        engine.dispose()
        port = free_port()
        env = {**os.environ, "REDLINE_DATABASE_URL": url, "REDLINE_DATA_DIR": folder}
        server = subprocess.Popen(
            [sys.executable, "-m", "redline", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(
                base, lambda: None if server.poll() is None else "the server exited", 180
            )
            print("idle reference", file=sys.stderr)
            idle, _ = measured_during(base, lambda: time.sleep(args.seconds))
            print(f"paced: {args.attempts} attempts over {args.seconds} s", file=sys.stderr)
            first_window = int(time.time()) // RATE_WINDOW_S
            paced, paced_statuses = measured_during(
                base, lambda: flood(base, args.attempts, args.seconds)
            )
            print(f"spray: {args.spray} attempts", file=sys.stderr)
            spray, spray_statuses = measured_during(
                base, lambda: flood(base, args.spray, 0, spray=True)
            )
            last_window = int(time.time()) // RATE_WINDOW_S
        finally:
            server.terminate()
            server.wait(timeout=30)

    result = {
        "benchmark": "login_flood",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "status_idle": idle,
        "status_during_paced_flood": paced,
        "status_during_spray": spray,
        "paced_answers": dict(sorted(paced_statuses.items())),
        "spray_answers": dict(sorted(spray_statuses.items())),
        "p50_ratio_paced_vs_idle": round(paced["p50_ms"] / idle["p50_ms"], 2),
        "p50_ratio_spray_vs_idle": round(spray["p50_ms"] / idle["p50_ms"], 2),
        # The limits count in fixed 15-minute windows: floods across an edge count afresh after it.
        "rate_windows_spanned": last_window - first_window + 1,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
