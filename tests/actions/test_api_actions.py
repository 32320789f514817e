"""/api/v1 orders and referrals: the countdown, roles and scopes, clear refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from redline.model import Item, RemovalOrder
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_api_v1 import auditor_token, token

URL = "https://host.example/post/1"
ORDER = {
    "authority": "Example authority",
    "reference": "TCO-9",
    "issued_at": "2026-11-23T09:58:00Z",
    "received_at": "2099-01-01T10:00:00Z",
    "urls": [URL],
    "reasons": "Article 2(7)(a)",
}


@pytest.fixture
def api(desk: Desk) -> TestClient:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
    return TestClient(create_app(desk.settings))


def test_an_order_through_the_api_shows_its_countdown(api: TestClient, desk: Desk) -> None:
    lead = token(desk, "lead1", "actions:read", "actions:write")
    made = api.post("/api/v1/orders", json=ORDER, headers=lead)
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["deadline_at"] == "2099-01-01T11:00:00+00:00" and order["seconds_left"] > 0
    listed = api.get("/api/v1/orders?open=true", headers=lead).json()["orders"]
    assert [o["reference"] for o in listed] == ["TCO-9"]
    step = api.post(
        f"/api/v1/orders/{order['id']}/steps", json={"url": URL, "action": "removed"}, headers=lead
    )
    assert step.status_code == 200 and step.json()["status"] == "executed"
    again = api.post("/api/v1/orders", json=ORDER, headers=lead)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"urls": ["https://host.example/never"]}, "no item with this URL"),
        ({"urls": ["::not a url::"]}, "'::not a url::'"),
        ({"received_at": "2026-11-23T10:00:00"}, "no UTC offset"),
        ({"received_at": "2026-11-23T09:00:00Z"}, "received_at is before issued_at"),
    ],
)
def test_bad_orders_get_422_and_nothing_is_stored(
    api: TestClient, desk: Desk, change: dict[str, object], message: str
) -> None:
    lead = token(desk, "lead1", "actions:write")
    response = api.post("/api/v1/orders", json={**ORDER, **change}, headers=lead)
    assert response.status_code == 422 and message in response.json()["message"]
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(RemovalOrder)) == 0


def test_reviewers_cannot_register_orders_and_auditors_only_read(
    api: TestClient, desk: Desk
) -> None:
    reviewer = token(desk, "rev1", "actions:read", "actions:write")
    assert api.post("/api/v1/orders", json=ORDER, headers=reviewer).status_code == 403
    assert api.get("/api/v1/orders", headers=reviewer).status_code == 403
    auditor = auditor_token(desk, "aud1", "actions:read", "actions:write")
    assert api.get("/api/v1/orders", headers=auditor).status_code == 200
    assert api.post("/api/v1/orders", json=ORDER, headers=auditor).status_code == 403
    assert api.get("/api/v1/orders").status_code == 401
    assert (
        api.get("/api/v1/orders/1", headers=token(desk, "lead1", "cases:read")).status_code == 403
    )


def test_referrals_through_the_api(api: TestClient, desk: Desk) -> None:
    from redline.model.base import utcnow
    from redline.review.decisions import Verdict, decide

    with desk.engine.begin() as connection:
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p1"],
            Verdict("violating", category="recruitment"),
            utcnow(),
            four_eyes=False,
        )
    lead = token(desk, "lead1", "actions:read", "actions:write")
    made = api.post(f"/api/v1/cases/{desk.cases['p1']}/referrals", headers=lead)
    assert made.status_code == 201
    (referral,) = made.json()["referrals"]
    sent = api.post(f"/api/v1/referrals/{referral}/status", json={"status": "sent"}, headers=lead)
    assert sent.status_code == 200 and sent.json()["sent_at"]
    back = api.post(f"/api/v1/referrals/{referral}/status", json={"status": "draft"}, headers=lead)
    assert back.status_code == 409
    listed = api.get("/api/v1/referrals?status=sent", headers=lead).json()["referrals"]
    assert listed[0]["evidence"]["canonical_url"] == URL
    unconfirmed = api.post(f"/api/v1/cases/{desk.cases['p2']}/referrals", headers=lead)
    assert unconfirmed.status_code == 409


def test_the_console_lists_orders_with_a_countdown_and_records_steps(
    api: TestClient, desk: Desk
) -> None:
    from tests.web.test_console import sign_in

    lead = token(desk, "lead1", "actions:write")
    order = api.post("/api/v1/orders", json=ORDER, headers=lead).json()
    browser = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(browser, "lead1")
    page = browser.get("/orders")
    assert page.status_code == 200 and "TCO-9" in page.text
    assert 'data-deadline="2099-01-01T11:00:00+00:00"' in page.text
    done = browser.post(
        f"/orders/{order['id']}/steps",
        data={"csrf": csrf, "url": URL, "reason": "content already gone"},
    )
    assert done.status_code == 303
    after = browser.get("/orders").text
    assert "not executed: content already gone" in after and "not executed</span>" in after


def test_referrals_and_complaints_are_worked_from_the_console(api: TestClient, desk: Desk) -> None:
    import re

    from redline.model.base import utcnow
    from redline.review.decisions import Verdict, decide
    from tests.web.test_console import sign_in

    with desk.engine.begin() as connection:
        made = decide(
            connection,
            desk.users["rev1"],
            desk.cases["p1"],
            Verdict("violating", category="recruitment"),
            utcnow(),
            four_eyes=False,
        )
    browser = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(browser, "lead1")
    assert "Refer to the hosting services" in browser.get(f"/cases/{desk.cases['p1']}").text
    assert (
        browser.post(f"/cases/{desk.cases['p1']}/referrals", data={"csrf": csrf}).status_code == 303
    )
    listing = browser.get("/referrals").text
    referral = re.search(r'action="/referrals/(\d+)/status"', listing)
    assert referral is not None and URL in listing
    sent = browser.post(
        f"/referrals/{referral.group(1)}/status", data={"csrf": csrf, "status": "sent"}
    )
    assert sent.status_code == 303 and ">sent<" in browser.get("/referrals").text
    back = browser.post(
        f"/referrals/{referral.group(1)}/status", data={"csrf": csrf, "status": "draft"}
    )
    assert back.status_code == 409
    lead = token(desk, "lead1", "actions:write")
    complaint = api.post(
        "/api/v1/complaints",
        headers=lead,
        json={"decision_id": made.decision_id, "text": "It was counter-speech."},
    ).json()
    page = browser.get("/complaints").text
    assert "It was counter-speech." in page and "due in" in page
    decided = browser.post(
        f"/complaints/{complaint['id']}/decision",
        data={"csrf": csrf, "outcome": "rejected", "reason": "propaganda"},
    )
    assert decided.status_code == 303
    assert "decided" in browser.get("/complaints").text
