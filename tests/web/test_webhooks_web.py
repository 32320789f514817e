"""Webhooks through /api/v1/webhooks (admins, webhooks:* scopes) and the console's delivery log
with its replay button (leads and admins, CSRF)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from redline.actions import webhooks
from redline.model import AuditEvent
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.web.app import create_app
from tests.actions.webhook_receiver import HookReceiver, hook
from tests.review_desk import Desk
from tests.web.test_api_v1 import token
from tests.web.test_console import sign_in

__all__ = ["hook"]

HOOK = "https://hooks.platform.example/redline"


@pytest.fixture
def api(desk: Desk) -> TestClient:
    return TestClient(create_app(desk.settings))


def decided(desk: Desk) -> None:
    """A decision on case p3: one decision.made event for each subscription that wants it."""
    with desk.engine.begin() as connection:
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            utcnow(),
            four_eyes=False,
        )


def failed_delivery(desk: Desk, hook: HookReceiver) -> int:
    """A subscription whose endpoint answers 500 to every attempt, an event: the failed
    delivery's id."""
    with desk.engine.begin() as connection:
        webhooks.add_subscription(connection, "test", "down", hook.url, ["decision.made"], utcnow())
    decided(desk)
    hook.answers = [500] * webhooks.MAX_ATTEMPTS
    now = utcnow()
    for _ in range(webhooks.MAX_ATTEMPTS):
        webhooks.deliver_due(desk.engine, now, allow_private=True)
        # Past the longest wait with its jitter (6 h + 20%): each round finds the delivery due.
        now += webhooks.LONGEST_WAIT * (1 + webhooks.JITTER) + timedelta(minutes=1)
    with desk.engine.connect() as connection:
        (failed,) = webhooks.list_deliveries(connection, status="failed")
    return failed.id


def test_an_admin_manages_subscriptions_and_reads_the_log(api: TestClient, desk: Desk) -> None:
    write = token(desk, "admin1", "webhooks:read", "webhooks:write")
    made = api.post(
        "/api/v1/webhooks",
        json={"name": "moderation", "url": HOOK, "events": ["decision.made", "item.taken_down"]},
        headers=write,
    )
    assert made.status_code == 201, made.text
    subscription = made.json()
    assert subscription["secret"].startswith("whsec_")
    assert subscription["events"] == ["decision.made", "item.taken_down"]
    listed = api.get("/api/v1/webhooks", headers=write).json()["subscriptions"]
    assert [s["id"] for s in listed] == [subscription["id"]]
    assert (
        "secret" not in listed[0]
        and subscription["secret"]
        not in api.get(f"/api/v1/webhooks/{subscription['id']}", headers=write).text
    )

    decided(desk)
    log = api.get("/api/v1/webhooks/deliveries", headers=write).json()["deliveries"]
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [
        ("decision.made", "pending", 0)
    ]
    assert log[0]["event_id"].startswith("evt_") and log[0]["log"] == []
    one = api.get(f"/api/v1/webhooks/deliveries/{log[0]['id']}", headers=write)
    assert one.json()["subscription"] == "moderation"
    replayed = api.post(f"/api/v1/webhooks/deliveries/{log[0]['id']}/replay", headers=write)
    assert replayed.status_code == 409 and "only a failed one" in replayed.json()["message"]
    assert api.get("/api/v1/webhooks/deliveries?status=sent", headers=write).status_code == 422

    paused = api.patch(
        f"/api/v1/webhooks/{subscription['id']}", json={"active": False}, headers=write
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    bad = api.post(
        "/api/v1/webhooks",
        json={"name": "x", "url": "https://h.example/", "events": ["everything"]},
        headers=write,
    )
    assert bad.status_code == 422 and "unknown" in bad.json()["message"]
    gone = api.delete(f"/api/v1/webhooks/{subscription['id']}", headers=write)
    assert gone.status_code == 204
    assert api.get(f"/api/v1/webhooks/{subscription['id']}", headers=write).status_code == 404
    cancelled = api.get("/api/v1/webhooks/deliveries", headers=write).json()["deliveries"]
    assert [d["status"] for d in cancelled] == ["cancelled"]


def test_only_admins_with_the_scope_reach_the_webhooks_api(api: TestClient, desk: Desk) -> None:
    assert api.get("/api/v1/webhooks").status_code == 401
    for user in ("rev1", "lead1"):
        headers = token(desk, user, "webhooks:read", "webhooks:write")
        assert api.get("/api/v1/webhooks", headers=headers).status_code == 403
        refused = api.post(
            "/api/v1/webhooks",
            json={"name": "x", "url": HOOK, "events": ["decision.made"]},
            headers=headers,
        )
        assert refused.status_code == 403
    read_only = token(desk, "admin1", "webhooks:read")
    assert api.get("/api/v1/webhooks/deliveries", headers=read_only).status_code == 200
    no_write = api.post(
        "/api/v1/webhooks",
        json={"name": "x", "url": HOOK, "events": ["decision.made"]},
        headers=read_only,
    )
    assert no_write.status_code == 403 and "webhooks:write" in no_write.json()["message"]
    other = token(desk, "admin1", "cases:read", "actions:read")
    assert api.get("/api/v1/webhooks", headers=other).status_code == 403
    with desk.engine.connect() as connection:
        assert webhooks.list_subscriptions(connection) == []


def test_a_lead_sees_the_log_and_replays_a_failed_delivery(desk: Desk, hook: HookReceiver) -> None:
    failed = failed_delivery(desk, hook)
    app = create_app(desk.settings)
    lead = TestClient(app, follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    page = lead.get("/webhooks?status=failed")
    assert page.status_code == 200
    row = re.search(rf'<tr id="delivery-{failed}".*?</tr>', page.text, re.S)
    assert row is not None and "answered 500" in row.group(0)
    assert f'action="/webhooks/deliveries/{failed}/replay"' in row.group(0)
    assert 'href="/webhooks"' in page.text  # in the navigation

    forged = lead.post(f"/webhooks/deliveries/{failed}/replay", data={"csrf": "forged"})
    assert forged.status_code == 403
    done = lead.post(f"/webhooks/deliveries/{failed}/replay", data={"csrf": csrf})
    assert done.status_code == 303
    with desk.engine.connect() as connection:
        assert webhooks.get_delivery(connection, failed).status == "pending"
        actor = connection.scalar(
            select(AuditEvent.actor).where(AuditEvent.action == "webhook.replay")
        )
    assert actor == "user:lead1"
    again = lead.post(f"/webhooks/deliveries/{failed}/replay", data={"csrf": csrf})
    assert again.status_code == 409
    assert lead.get("/webhooks?status=nonsense").status_code == 422

    reviewer = TestClient(app, follow_redirects=False)
    sign_in(reviewer, "rev1")
    assert reviewer.get("/webhooks").status_code == 403
    assert 'href="/webhooks"' not in reviewer.get("/queue").text
