"""``redline webhooks``: subscribe, list, the delivery log, a delivery round and replays from the
command line."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update

from redline.model import WebhookDelivery
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from tests.actions.webhook_receiver import HookReceiver, hook
from tests.conftest import CliResult
from tests.review_desk import Desk

__all__ = ["hook"]


def test_webhooks_from_the_command_line(
    desk: Desk,
    hook: HookReceiver,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = cli("webhooks", "add", hook.url, "--name", "moderation", "--event", "decision.made")
    assert made.code == 0, made.err
    hook.secret = made.out.split()[-1]
    assert hook.secret.startswith("whsec_")
    (listed,) = json.loads(cli("webhooks", "list", "--json").out)
    assert listed["url"] == hook.url and listed["events"] == ["decision.made"]
    assert hook.secret not in cli("webhooks", "list").out

    with desk.engine.begin() as connection:
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            utcnow(),
            four_eyes=False,
        )
    # The receiver is on 127.0.0.1: refused until the deployment allows private endpoints.
    refused = json.loads(cli("webhooks", "deliver", "--json").out)
    assert refused == {"delivered": 0, "retrying": 1, "failed": 0} and hook.posts == []
    (pending,) = json.loads(cli("webhooks", "deliveries", "--json").out)
    assert pending["status"] == "pending" and "loopback" in pending["last_error"]
    assert "loopback" in pending["log"][0]["error"]

    monkeypatch.setenv("REDLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    with desk.engine.begin() as connection:  # due again now rather than in 30 s
        connection.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    assert "delivered 1" in cli("webhooks", "deliver").out
    assert [e["type"] for e in hook.accepted] == ["decision.made"]
    (sent,) = json.loads(cli("webhooks", "deliveries", "--status", "delivered", "--json").out)
    assert sent["event_id"] == hook.accepted[0]["id"] and len(sent["log"]) == 2

    not_failed = cli("webhooks", "replay", str(sent["id"]))
    assert not_failed.code == 1 and "only a failed one" in not_failed.err
    bad = cli("webhooks", "deliveries", "--status", "lost")
    assert bad.code == 2 and "unknown delivery status" in bad.err
    unknown = cli("webhooks", "add", hook.url, "--name", "x", "--event", "everything")
    assert unknown.code == 2 and "unknown" in unknown.err
    assert cli("webhooks", "remove", str(listed["id"])).code == 0
    assert json.loads(cli("webhooks", "list", "--json").out) == []
