"""A platform's webhook receiver on 127.0.0.1, in a thread: it verifies each POST's signature
with the subscription's secret, keeps what it accepted, and answers as it is told (a status, or
a delay longer than the sender waits), so a test can make it fail, then recover."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from redline.actions import webhooks


@dataclass
class Got:
    """One POST as it arrived."""

    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class HookReceiver:
    """Where it listens, the secret it checks with (set once subscribed), what it got, and what
    it answers next: an int status, or ``"slow"`` to stall past the sender's timeout (then
    200). ``accepted`` are the events it took (2xx and a good signature)."""

    port: int = 0
    secret: str = ""
    posts: list[Got] = field(default_factory=list)
    answers: list[int | str] = field(default_factory=list)
    bad_signatures: int = 0
    stall: float = 2.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/redline"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [p.event for p in self.posts if p.answered == 200]


@pytest.fixture
def hook() -> Iterator[HookReceiver]:
    state = HookReceiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                answer = state.answers.pop(0) if state.answers else 200
            if answer == "slow":
                time.sleep(state.stall)
                answer = 200
            signature = self.headers.get(webhooks.SIGNATURE_HEADER, "")
            # The signature's own time, not the wall clock: the tests deliver at a fixed `now`.
            stamp = dict(p.split("=", 1) for p in signature.split(",") if "=" in p).get("t", "0")
            when = datetime.fromtimestamp(int(stamp), UTC)
            if answer == 200 and not webhooks.verify(state.secret, signature, body, when):
                answer = 401
                state.bad_signatures += 1
            with lock:
                state.posts.append(Got(dict(self.headers.items()), body, int(answer)))
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(
        # shutdown() waits for the loop to look up: at the default 0.5 s, half a second a test.
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        daemon=True,
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
