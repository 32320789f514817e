"""Two real redline instances federate a bank: the publisher is ``redline serve`` in a
subprocess on its own SQLite database and data dir, the subscriber this process on the test's
database (SQLite and PostgreSQL), fetching through ``redline exchange fetch``. One fetch brings
what was added, relabelled and removed; a feed altered on the way (one byte, by a proxy between
them), or read with a token the publisher does not know, is refused with its reason recorded
and nothing stored."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from redline.banks import manage
from redline.model import BankEntry, Quarantine
from redline.model.base import utcnow
from redline.review.accounts import add_user
from redline.review.tokens import create_token
from redline.store import make_engine
from tests.conftest import CliResult, run_redline
from tests.helpers import wait_until_listening

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5_A, MD5_B, MD5_C = "a" * 32, "b" * 32, "c" * 32


class Publisher:
    """The publishing instance: its database, data dir, base URL and a subscriber's token."""

    def __init__(self, engine: Engine, env: dict[str, str], base: str, token: str) -> None:
        self.engine, self.env, self.base, self.token = engine, env, base, token

    def feed(self, base: str | None = None) -> str:
        return f"{base or self.base}/api/v1/feeds/shared-tvec"


@pytest.fixture
def publisher(sqlite_template: Path, tmp_path: Path) -> Iterator[Publisher]:
    database = tmp_path / "publisher.db"
    shutil.copyfile(sqlite_template, database)
    env = {
        **os.environ,
        "REDLINE_DATABASE_URL": f"sqlite:///{database}",
        "REDLINE_DATA_DIR": str(tmp_path / "publisher-data"),
        "REDLINE_ORGANISATION": "Publisher Trust & Safety",
    }
    engine = make_engine(env["REDLINE_DATABASE_URL"])
    with engine.begin() as connection:
        manage.create_bank(connection, "shared-tvec", actor="lead", now=utcnow())
        add_user(connection, "partner", "auditor", "Tr4nsl-ucent-Harbour-9", "admin")
        token = create_token(connection, "partner", "subscriber", ["feeds:read"], "admin")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "redline", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(base, lambda: process.poll() is None, "redline serve")
        yield Publisher(engine, env, base, token)
    finally:
        process.terminate()
        process.wait(timeout=30)
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def tampering_proxy(publisher: Publisher) -> Iterator[str]:
    """A proxy that passes the publisher's answers on with one byte of the body changed."""

    class Tamper(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = httpx.get(
                publisher.base + self.path,
                headers={"Authorization": self.headers.get("Authorization", "")},
            )
            body = bytearray(answer.content)
            at = body.index(b'"category":"') + len(b'"category":"')
            body[at] = ord("X") if body[at] != ord("X") else ord("Y")
            self.send_response(answer.status_code)
            for name in ("Content-Type", "Redline-Signature"):
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(bytes(body))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tamper)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def entries(engine: Engine, bank: str) -> dict[str, tuple[bool, str | None, str | None]]:
    """A bank's entries by their first hash: (enabled, category, disabled reason)."""
    found = {}
    with engine.connect() as connection:
        for row in connection.execute(
            select(BankEntry.id, BankEntry.enabled, BankEntry.category, BankEntry.disabled_reason)
        ):
            entry = manage.get_entry(connection, row.id)
            if entry.bank == bank:
                first = next(iter(entry.signals.values()))[0]
                found[first] = (row.enabled, row.category, row.disabled_reason)
    return found


def test_a_bank_federates_between_two_instances_and_a_tampered_feed_is_refused(
    publisher: Publisher,
    tampering_proxy: str,
    engine: Engine,
    cli: Callable[..., CliResult],
) -> None:
    made = run_redline("exchange", "key", env=publisher.env)
    assert made.returncode == 0, made.stderr
    public_key = made.stdout.strip()
    assert public_key.startswith("ed25519:") and "feed-signing.key" in made.stderr
    now = utcnow()
    with publisher.engine.begin() as connection:
        a = manage.add_entry(
            connection, "shared-tvec", {"pdq": PDQ}, actor="alice", now=now, category="video"
        ).id
        b = manage.add_entry(
            connection, "shared-tvec", {"md5": MD5_B}, actor="alice", now=now, category="logo"
        ).id
    with engine.begin() as connection:
        manage.create_bank(connection, "from-partner", actor="lead", now=now)
        manage.create_bank(connection, "via-proxy", actor="lead", now=now)
    common = ["--token", publisher.token, "--public-key", public_key, "--allow-private"]
    assert cli("exchange", "add", "partner", "--bank", "from-partner", "--url",
               publisher.feed(), *common).code == 0  # fmt: skip
    assert cli("exchange", "add", "tampered", "--bank", "via-proxy", "--url",
               publisher.feed(tampering_proxy), *common).code == 0  # fmt: skip

    first = cli("exchange", "fetch", "partner")
    assert first.code == 0, first.err
    assert "added 2" in first.out
    assert entries(engine, "from-partner") == {
        PDQ: (True, "video", None),
        MD5_B: (True, "logo", None),
    }

    # On the publisher: one added, one relabelled, one removed; one fetch brings all three.
    with publisher.engine.begin() as connection:
        manage.add_entry(connection, "shared-tvec", {"md5": MD5_C}, actor="bob", now=now)
        manage.update_entry(connection, a, {"category": "manifesto"}, actor="bob", now=now)
        manage.delete_entry(connection, b, actor="bob", now=now)
    second = cli("exchange", "fetch", "partner")
    assert second.code == 0, second.err
    assert "added 1, relabelled 1, removed 1" in second.out
    reason = "removed from exchange partner (Publisher Trust & Safety)"
    assert entries(engine, "from-partner") == {
        PDQ: (True, "manifesto", None),
        MD5_B: (False, "logo", reason),
        MD5_C: (True, None, None),
    }

    # The same feed through a proxy that changes one byte: refused, the reason kept, nothing
    # stored (not the entries, not the checkpoint, nothing quarantined).
    refused = cli("exchange", "fetch", "tampered")
    assert refused.code == 1
    assert "refused, nothing stored" in refused.err and "signature does not match" in refused.err
    assert entries(engine, "via-proxy") == {}
    status = cli("exchange", "status", "tampered", "--json")
    assert status.code == 0
    assert '"checkpoint": null' in status.out and "signature does not match" in status.out
    assert publisher.token not in status.out  # the token is never shown
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Quarantine)) == 0

    # A token the publisher does not know: refused with the publisher's answer as reason.
    assert cli("exchange", "add", "stranger", "--bank", "via-proxy", "--url", publisher.feed(),
               "--token", "rl_not_a_token", "--public-key", public_key,
               "--allow-private").code == 0  # fmt: skip
    stranger = cli("exchange", "fetch", "stranger")
    assert stranger.code == 1 and "HTTP 401" in stranger.err
    listed = cli("exchange", "list", "--json")
    assert listed.code == 0 and '"name": "partner"' in listed.out
    assert entries(engine, "via-proxy") == {}

    # The scheduler's round (`redline worker` without a broker) fetches every exchange: a change
    # on the publisher is on the subscriber after one round; the refusing ones say why.
    with publisher.engine.begin() as connection:
        manage.update_entry(connection, a, {"category": "video"}, actor="bob", now=now)
    tick = cli("worker", "--once")
    assert tick.code == 0
    assert "exchange tampered: the feed's signature does not match" in " ".join(tick.err.split())
    assert entries(engine, "from-partner")[PDQ] == (True, "video", None)
