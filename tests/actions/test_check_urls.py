"""Liveness checks of referred URLs against a real local server, through the CLI and the
scheduler: a gone URL marks the referral removed; a private address is refused unless allowed."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from redline.actions import referrals
from redline.model import Item, UrlCheck
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from tests.conftest import CliResult
from tests.review_desk import Desk


class Host(BaseHTTPRequestHandler):
    """A hosting service: /gone was taken down, everything else is up."""

    def do_GET(self) -> None:
        gone = self.path.startswith("/gone")
        self.send_response(404 if gone else 200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"not here" if gone else b"a post")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    thread = threading.Thread(
        # shutdown() waits for the loop to look up: at the default 0.5 s, half a second a test.
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        daemon=True,
    )
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def sent_referral(desk: Desk, url: str) -> int:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p3").values(url=url))
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            utcnow(),
            four_eyes=False,
        )
        (referral,) = referrals.create_referrals(
            connection, "user:lead1", desk.cases["p3"], utcnow()
        )
        referrals.set_status(connection, "user:lead1", referral, "sent", utcnow())
    return referral


def test_a_gone_url_marks_the_referral_removed(
    desk: Desk, host: str, cli: Callable[..., CliResult]
) -> None:
    referral = sent_referral(desk, f"http://{host}/gone/post-3")
    # Without permission, the local (private) address is refused: nothing is fetched.
    refused = cli("check-urls", "--json")
    assert refused.code == 0 and json.loads(refused.out) == {str(referral): "sent"}
    with desk.engine.connect() as connection:
        first = connection.execute(select(UrlCheck)).one()
    assert first.state == "error" and "127.0.0.1" in (first.error or "")
    allowed = cli("check-urls", "--allow-host", host, "--json")
    assert json.loads(allowed.out) == {str(referral): "removed"}
    with desk.engine.connect() as connection:
        found = referrals.get_referral(connection, referral)
    assert found["status"] == "removed" and found["time_to_removal_s"] is not None
    assert [c["state"] for c in found["checks"]] == ["error", "down"]


def test_the_worker_checks_once_and_leaves_a_live_url_sent(
    desk: Desk, host: str, cli: Callable[..., CliResult]
) -> None:
    referral = sent_referral(desk, f"http://{host}/still/here")
    assert cli("worker", "--once", "--allow-host", host).code == 0
    with desk.engine.connect() as connection:
        found = referrals.get_referral(connection, referral)
    assert found["status"] == "sent" and [c["state"] for c in found["checks"]] == ["up"]
