"""Complaints: two weeks to decide, reinstatement when upheld, clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from redline.actions import complaints, preservation
from redline.model import AuditEvent, Item
from redline.review import Conflict, Invalid, NotFound
from redline.review.decisions import Verdict, decide
from tests.review_desk import Desk

NOW = datetime(2026, 11, 23, 23, 50, tzinfo=UTC)


def removed_case(desk: Desk) -> tuple[int, int]:
    """Case p3 decided violating (one reviewer, four-eyes off) and its item removed:
    (decision id, item id)."""
    with desk.engine.begin() as connection:
        made = decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            NOW,
            four_eyes=False,
        )
        item = connection.scalar(select(Item.id).where(Item.external_id == "p3"))
        assert item is not None
        preservation.take_down(connection, "user:lead1", int(item), "removed", NOW)
    return made.decision_id, int(item)


def test_an_upheld_complaint_reinstates_the_content(desk: Desk) -> None:
    decision, item = removed_case(desk)
    with desk.engine.begin() as connection:
        complaint = complaints.file_complaint(connection, decision, "This was a news report.", NOW)
        filed = complaints.get_complaint(connection, complaint)
        status = complaints.decide_complaint(
            connection,
            "user:lead1",
            complaint,
            True,
            "reporting, not propaganda",
            NOW + timedelta(days=3),
        )
        visibility = connection.scalar(select(Item.visibility).where(Item.id == item))
        with pytest.raises(Conflict, match="decided already"):
            complaints.decide_complaint(connection, "user:lead1", complaint, False, "x", NOW)
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "complaint.upheld")
        ).one()
    # Received 23:50 UTC on 23 November: due at the same minute two weeks later.
    assert filed["due_at"] == datetime(2026, 12, 7, 23, 50, tzinfo=UTC)
    assert status == "upheld" and visibility == "visible"
    assert event.detail == {"within_deadline": True, "reinstated": True}


def test_a_rejected_complaint_keeps_the_content_down(desk: Desk) -> None:
    decision, item = removed_case(desk)
    with desk.engine.begin() as connection:
        complaint = complaints.file_complaint(connection, decision, "Please restore.", NOW)
        complaints.decide_complaint(
            connection, "user:lead1", complaint, False, "official propaganda, confirmed", NOW
        )
        visibility = connection.scalar(select(Item.visibility).where(Item.id == item))
    assert visibility == "removed"


def test_the_two_week_timer_warns_then_flags_overdue(desk: Desk) -> None:
    decision, _ = removed_case(desk)
    with desk.engine.begin() as connection:
        complaints.file_complaint(connection, decision, "Please restore.", NOW)
        assert complaints.due_complaints(connection, NOW + timedelta(days=11)) == []
        soon = complaints.due_complaints(connection, NOW + timedelta(days=12, hours=1))
        late = complaints.due_complaints(connection, NOW + timedelta(days=14, seconds=1))
    assert [kind for _, kind in soon] == ["due_soon"] and [kind for _, kind in late] == ["overdue"]


def test_complaints_about_unknown_or_unfinished_decisions_are_refused(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        with pytest.raises(NotFound, match="no decision 4242"):
            complaints.file_complaint(connection, 4242, "text", NOW)
        pending = decide(
            connection,
            desk.users["rev1"],
            desk.cases["p1"],
            Verdict("violating", category="recruitment"),
            NOW,
        )
        with pytest.raises(Invalid, match="not final"):
            complaints.file_complaint(connection, pending.decision_id, "text", NOW)
        with pytest.raises(Invalid, match="needs a text"):
            complaints.file_complaint(connection, pending.decision_id, "  ", NOW)


def test_the_public_form_files_a_complaint_and_refuses_bad_ones(desk: Desk) -> None:
    import re

    from fastapi.testclient import TestClient

    from redline.web.app import create_app

    decision, _item = removed_case(desk)
    browser = TestClient(create_app(desk.settings), follow_redirects=False)
    form = browser.get(f"/complaints/new?decision={decision}")
    assert form.status_code == 200 and f'value="{decision}"' in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    filed = browser.post(
        "/complaints/new",
        data={"csrf": token.group(1), "decision": decision, "text": "It was satire."},
    )
    assert filed.status_code == 201 and "Your complaint has number" in filed.text
    unknown = browser.post(
        "/complaints/new", data={"csrf": token.group(1), "decision": 4242, "text": "x"}
    )
    assert unknown.status_code == 404 and "could not find a decision" in unknown.text
    assert ">x</textarea>" in unknown.text  # what was typed comes back
    blank = browser.post(
        "/complaints/new", data={"csrf": token.group(1), "decision": decision, "text": "   "}
    )
    assert blank.status_code == 422 and "say why" in blank.text
    forged = TestClient(create_app(desk.settings)).post(
        "/complaints/new", data={"csrf": "forged", "decision": decision, "text": "x"}
    )
    assert forged.status_code == 403


def test_complaints_through_the_api(desk: Desk) -> None:
    from fastapi.testclient import TestClient

    from redline.web.app import create_app
    from tests.web.test_api_v1 import token

    decision, item = removed_case(desk)
    api = TestClient(create_app(desk.settings))
    lead = token(desk, "lead1", "actions:read", "actions:write")
    made = api.post(
        "/api/v1/complaints",
        headers=lead,
        json={
            "decision_id": decision,
            "text": "Restore please",
            "received_at": "2026-11-01T12:00:00Z",
        },
    )
    assert made.status_code == 201 and made.json()["due_at"] == "2026-11-15T12:00:00+00:00"
    due = api.get("/api/v1/complaints", headers=lead).json()["due"]
    assert [(c["id"], c["alert"]) for c in due] == [(made.json()["id"], "overdue")]
    decided = api.post(
        f"/api/v1/complaints/{made.json()['id']}/decision",
        headers=lead,
        json={"upheld": True, "reason": "counter-speech"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "upheld"
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Item.visibility).where(Item.id == item)) == "visible"
    missing = api.post("/api/v1/complaints", headers=lead, json={"decision_id": 999, "text": "x"})
    assert missing.status_code == 404


def test_client_networks_keep_no_address() -> None:
    assert complaints.client_network("203.0.113.77") == "203.0.113.0/24"
    assert complaints.client_network("2001:db8:1234:5678::9") == "2001:db8:1234::/48"
    assert complaints.client_network("testclient") == "unknown"
    assert complaints.client_network("") == "unknown"


def test_the_public_limit_counts_filed_and_refused_complaints_per_network(desk: Desk) -> None:
    decision, _item = removed_case(desk)
    now = datetime.now(UTC)
    flood, other = "203.0.113.0/24", "198.51.100.0/24"
    with desk.engine.begin() as connection:
        for _ in range(complaints.MAX_PER_NETWORK - 5):
            complaints.admit_public_complaint(connection, flood, now)
            complaints.record_refused(connection, flood, 4242)
        for _ in range(5):
            complaints.admit_public_complaint(connection, flood, now)
            complaints.file_public_complaint(connection, flood, decision, "Restore it.", now)
    with desk.engine.begin() as connection, pytest.raises(complaints.TooManyComplaints):
        complaints.admit_public_complaint(connection, flood, now)
    with desk.engine.begin() as connection:
        complaints.admit_public_complaint(connection, other, now)
        complaints.file_public_complaint(connection, other, decision, "Restore it.", now)
        # An hour later the network may complain again.
        complaints.admit_public_complaint(connection, flood, now + complaints.NETWORK_WINDOW * 2)
        actors = set(
            connection.scalars(
                select(AuditEvent.actor).where(AuditEvent.action == "complaint.file")
            ).all()
        )
    assert actors == {f"complainant:{flood}", f"complainant:{other}"}


def test_the_public_form_slows_a_scan_of_decision_numbers(desk: Desk) -> None:
    import re

    from fastapi.testclient import TestClient

    from redline.web.app import create_app

    decision, _item = removed_case(desk)
    app = create_app(desk.settings)
    scanner = TestClient(app, follow_redirects=False, client=("203.0.113.7", 50000))
    token = re.search(r'name="csrf" value="([^"]+)"', scanner.get("/complaints/new").text)
    assert token is not None
    for number in range(1000, 1000 + complaints.MAX_PER_NETWORK):
        tried = scanner.post(
            "/complaints/new", data={"csrf": token.group(1), "decision": number, "text": "x"}
        )
        assert tried.status_code == 404
    stopped = scanner.post(
        "/complaints/new",
        data={"csrf": token.group(1), "decision": decision, "text": "Now a real one"},
    )
    assert stopped.status_code == 429 and "try again in an hour" in stopped.text
    assert ">Now a real one</textarea>" in stopped.text  # what was typed comes back
    neighbour = TestClient(app, follow_redirects=False, client=("198.51.100.20", 50000))
    token = re.search(r'name="csrf" value="([^"]+)"', neighbour.get("/complaints/new").text)
    assert token is not None
    filed = neighbour.post(
        "/complaints/new",
        data={"csrf": token.group(1), "decision": decision, "text": "It was satire."},
    )
    assert filed.status_code == 201
    with desk.engine.connect() as connection:
        actors = connection.scalars(select(AuditEvent.actor)).all()
    assert not any("203.0.113.7" in a or "198.51.100.20" in a for a in actors)
