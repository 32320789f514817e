"""Preservation holds and own-initiative take-downs through /api/v1 and the console: holds keep
content past its six months and away from the purge, refusals are clear, roles are checked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from redline.actions import preservation, scheduler
from redline.model import AuditEvent, Item, Preservation
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_api_v1 import auditor_token, token
from tests.web.test_console import sign_in

BASIS = "Regulation (EU) 2021/784, Article 5; terms of service 4.2"
VIOLATING = Verdict("violating", category="recruitment")


@pytest.fixture
def http(desk: Desk) -> TestClient:
    return TestClient(create_app(desk.settings), follow_redirects=False)


def taken_down(desk: Desk, post: str, at: datetime) -> int:
    """The item of ``post`` removed at ``at`` (and so preserved until six months later)."""
    with desk.engine.begin() as connection:
        item = connection.scalar(select(Item.id).where(Item.external_id == post))
        assert item is not None
        preservation.take_down(connection, "user:lead1", int(item), "removed", at)
    return int(item)


def kept(desk: Desk, item: int) -> Any:
    with desk.engine.connect() as connection:
        return connection.execute(select(Preservation).where(Preservation.item_id == item)).one()


def purged(desk: Desk, post: str) -> int:
    """An item removed eight months ago and purged by the scheduler."""
    item = taken_down(desk, post, utcnow() - timedelta(days=240))
    done = scheduler.tick(desk.engine, FolderStore(desk.settings.data_dir), utcnow())
    assert item in done.purged
    return item


def confirm(desk: Desk, post: str = "p1") -> int:
    """Two reviewers agree the case is violating (the four-eyes rule); the case id."""
    with desk.engine.begin() as connection:
        for reviewer in ("rev1", "rev2"):
            decide(connection, desk.users[reviewer], desk.cases[post], VIOLATING, utcnow())
    return desk.cases[post]


def lead(desk: Desk) -> dict[str, str]:
    return token(desk, "lead1", "actions:read", "actions:write")


# --- holds through the API ---------------------------------------------------------------------


def test_a_hold_keeps_an_item_past_its_six_months_and_the_scheduler_leaves_it(
    http: TestClient, desk: Desk
) -> None:
    now = utcnow()
    item = taken_down(desk, "p3", now - timedelta(days=200))
    with desk.engine.connect() as connection:
        assert preservation.due_purges(connection, now) == [item]  # due without the hold
    until = (now + timedelta(days=365)).replace(microsecond=0)
    held = http.post(
        f"/api/v1/items/{item}/hold",
        headers=lead(desk),
        json={"until": until.isoformat(), "reason": "court order 12/2027"},
    )
    assert held.status_code == 200, held.text
    body = held.json()
    assert body["state"] == "held" and body["hold_reason"] == "court order 12/2027"
    assert body["hold_until"] == body["ends_at"] == until.isoformat()
    assert body["keep_until"] < body["hold_until"] and body["purge_due"] is False
    done = scheduler.tick(desk.engine, FolderStore(desk.settings.data_dir), utcnow())
    assert item not in done.purged and kept(desk, item).purged_at is None
    listed = http.get("/api/v1/preservations?state=held", headers=lead(desk)).json()
    assert [p["item"] for p in listed["preservations"]] == [item]
    with desk.engine.connect() as connection:
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "preservation.hold")
        ).one()
    assert event.actor == "user:lead1" and event.after == {"until": until.isoformat()}
    # The hold has an end too: after it, the scheduler purges.
    later = scheduler.tick(
        desk.engine, FolderStore(desk.settings.data_dir), until + timedelta(seconds=1)
    )
    assert later.purged == [item]


def test_a_hold_given_with_an_offset_ends_at_that_instant(http: TestClient, desk: Desk) -> None:
    item = taken_down(desk, "p3", utcnow())
    held = http.post(
        f"/api/v1/items/{item}/hold",
        headers=lead(desk),
        json={"until": "2099-01-01T01:00:00+01:00", "reason": "prosecutor ref 7"},
    )
    assert held.status_code == 200
    assert kept(desk, item).hold_until == datetime(2099, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"until": "2099-01-01T00:00:00", "reason": "court"}, "no UTC offset"),
        ({"until": "next year", "reason": "court"}, "not an ISO 8601 time"),
        ({"until": "2026-01-01T00:00:00Z", "reason": "court"}, "must end after"),
        ({"until": "2099-01-01T00:00:00Z", "reason": "   "}, "needs its reason"),
        ({"until": "2099-01-01T00:00:00Z"}, "reason"),
    ],
)
def test_a_bad_hold_gets_422_and_changes_nothing(
    http: TestClient, desk: Desk, body: dict[str, str], message: str
) -> None:
    item = taken_down(desk, "p3", utcnow())
    refused = http.post(f"/api/v1/items/{item}/hold", headers=lead(desk), json=body)
    assert refused.status_code == 422 and message in refused.json()["message"]
    assert kept(desk, item).hold_until is None


def test_unknown_items_get_404_and_purged_ones_409(http: TestClient, desk: Desk) -> None:
    body = {"until": "2099-01-01T00:00:00Z", "reason": "court order"}
    unknown = http.post("/api/v1/items/99999/hold", headers=lead(desk), json=body)
    assert unknown.status_code == 404 and "not preserved" in unknown.json()["message"]
    with desk.engine.connect() as connection:
        visible = connection.scalar(select(Item.id).where(Item.external_id == "p2"))
    never_removed = http.post(f"/api/v1/items/{visible}/hold", headers=lead(desk), json=body)
    assert never_removed.status_code == 404
    gone = purged(desk, "p4")
    late = http.post(f"/api/v1/items/{gone}/hold", headers=lead(desk), json=body)
    assert late.status_code == 409 and "purged already" in late.json()["message"]
    assert kept(desk, gone).hold_until is None


def test_the_list_shows_each_state_with_the_hashes_that_outlive_a_purge(
    http: TestClient, desk: Desk
) -> None:
    now = utcnow()
    fresh = taken_down(desk, "p3", now)
    held = taken_down(desk, "p5", now)
    with desk.engine.begin() as connection:
        preservation.hold(connection, "user:lead1", held, now + timedelta(days=400), "court")
    gone = purged(desk, "p4")
    headers = lead(desk)
    everything = http.get("/api/v1/preservations", headers=headers).json()["preservations"]
    assert [p["item"] for p in everything] == [fresh, held, gone]  # nearest end first, purged last
    assert [p["state"] for p in everything] == ["kept", "held", "purged"]
    by_state = {
        state: [
            p["item"]
            for p in http.get(f"/api/v1/preservations?state={state}", headers=headers).json()[
                "preservations"
            ]
        ]
        for state in ("kept", "held", "purged")
    }
    assert by_state == {"kept": [fresh], "held": [held], "purged": [gone]}
    (purged_row,) = [p for p in everything if p["item"] == gone]
    assert purged_row["purged_at"] and purged_row["removed_at"] and purged_row["keep_until"]
    with desk.engine.connect() as connection:
        text_sha = connection.scalar(select(Item.text_sha256).where(Item.id == gone))
    assert text_sha is not None and purged_row["hashes"]["text_sha256"] == text_sha
    bad = http.get("/api/v1/preservations?state=forgotten", headers=headers)
    assert bad.status_code == 422 and "unknown state" in bad.json()["message"]


def test_reviewers_cannot_see_or_hold_and_auditors_only_read(http: TestClient, desk: Desk) -> None:
    item = taken_down(desk, "p3", utcnow())
    body = {"until": "2099-01-01T00:00:00Z", "reason": "court order"}
    reviewer = token(desk, "rev1", "actions:read", "actions:write")
    assert http.get("/api/v1/preservations", headers=reviewer).status_code == 403
    assert http.post(f"/api/v1/items/{item}/hold", headers=reviewer, json=body).status_code == 403
    auditor = auditor_token(desk, "aud1", "actions:read", "actions:write")
    assert http.get("/api/v1/preservations", headers=auditor).status_code == 200
    assert http.post(f"/api/v1/items/{item}/hold", headers=auditor, json=body).status_code == 403
    read_only = token(desk, "lead1", "actions:read")
    assert http.post(f"/api/v1/items/{item}/hold", headers=read_only, json=body).status_code == 403
    assert http.get("/api/v1/preservations").status_code == 401
    assert kept(desk, item).hold_until is None


# --- take-down of a confirmed case through the API ---------------------------------------------


def test_a_confirmed_case_is_taken_down_through_the_api(http: TestClient, desk: Desk) -> None:
    case = desk.cases["p1"]
    take = {"visibility": "removed", "legal_basis": BASIS}
    early = http.post(f"/api/v1/cases/{case}/take-down", headers=lead(desk), json=take)
    assert early.status_code == 409 and "not confirmed as violating (open)" in early.text
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev1"], case, VIOLATING, utcnow())
    half = http.post(f"/api/v1/cases/{case}/take-down", headers=lead(desk), json=take)
    assert half.status_code == 409 and "second review" in half.text  # four eyes, not two
    assert http.get("/api/v1/preservations", headers=lead(desk)).json()["preservations"] == []
    with desk.engine.begin() as connection:
        decide(connection, desk.users["rev2"], case, VIOLATING, utcnow())
    reviewer = token(desk, "rev1", "actions:read", "actions:write")
    assert (
        http.post(f"/api/v1/cases/{case}/take-down", headers=reviewer, json=take).status_code == 403
    )
    bad = http.post(
        f"/api/v1/cases/{case}/take-down", headers=lead(desk), json={**take, "visibility": "hidden"}
    )
    assert bad.status_code == 422
    done = http.post(f"/api/v1/cases/{case}/take-down", headers=lead(desk), json=take)
    assert done.status_code == 200, done.text
    shown = done.json()
    assert shown["case"] == case and shown["visibility"] == "removed"
    assert shown["state"] == "kept" and shown["order"] is None
    read = token(desk, "lead1", "cases:read")
    assert http.get(f"/api/v1/cases/{case}", headers=read).json()["item"]["visibility"] == "removed"
    again = http.post(f"/api/v1/cases/{case}/take-down", headers=lead(desk), json=take)
    assert again.status_code == 409 and "removed already" in again.text
    unknown = http.post("/api/v1/cases/99999/take-down", headers=lead(desk), json=take)
    assert unknown.status_code == 404
    with desk.engine.connect() as connection:
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "case.take_down")
        ).one()
    assert event.actor == "user:lead1" and event.subject_id == str(case)
    assert event.detail["legal_basis"] == BASIS and event.detail["item"] == shown["item"]


# --- the console --------------------------------------------------------------------------------


def test_the_console_lists_preserved_items_and_records_a_hold(http: TestClient, desk: Desk) -> None:
    item = taken_down(desk, "p3", utcnow())
    csrf = sign_in(http, "lead1")
    listing = http.get("/preservations")
    assert listing.status_code == 200 and f'id="item-{item}"' in listing.text
    assert 'href="/preservations"' in listing.text  # in the navigation
    assert f'action="/preservations/{item}/hold"' in listing.text
    held = http.post(
        f"/preservations/{item}/hold",
        data={"csrf": csrf, "until": "2099-01-01T00:00", "reason": "court order 7"},
    )
    assert held.status_code == 303 and held.headers["location"].startswith(
        f"/preservations?held={item}"
    )
    assert kept(desk, item).hold_until == datetime(2099, 1, 1, tzinfo=UTC)  # the form says UTC
    after = http.get(held.headers["location"]).text
    assert "Hold recorded" in after and "2099-01-01 00:00 UTC" in after and "court order 7" in after
    assert ">held<" in after


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"until": "whenever", "reason": "court"}, 422, "not an ISO 8601 time"),
        ({"until": "2099-01-01T00:00", "reason": ""}, 422, "needs its reason"),
        ({"until": "2000-01-01T00:00", "reason": "court"}, 422, "must end after"),
    ],
)
def test_a_bad_hold_form_shows_the_list_with_the_reason(
    http: TestClient, desk: Desk, form: dict[str, str], status: int, message: str
) -> None:
    item = taken_down(desk, "p3", utcnow())
    csrf = sign_in(http, "lead1")
    refused = http.post(f"/preservations/{item}/hold", data={"csrf": csrf, **form})
    assert refused.status_code == status and message in refused.text
    assert f'id="item-{item}"' in refused.text  # still on the list, with the form
    assert kept(desk, item).hold_until is None


def test_holding_the_unknown_or_the_purged_in_the_console_says_why(
    http: TestClient, desk: Desk
) -> None:
    gone = purged(desk, "p4")
    csrf = sign_in(http, "lead1")
    form = {"csrf": csrf, "until": "2099-01-01T00:00", "reason": "court"}
    late = http.post(f"/preservations/{gone}/hold", data=form)
    assert late.status_code == 409 and "purged already" in late.text
    assert "purged: nothing left to hold" in late.text
    missing = http.post("/preservations/99999/hold", data=form)
    assert missing.status_code == 404 and "not preserved" in missing.text
    no_csrf = http.post(f"/preservations/{gone}/hold", data={**form, "csrf": "forged"})
    assert no_csrf.status_code == 403


def test_auditors_see_preservations_without_the_hold_form(http: TestClient, desk: Desk) -> None:
    item = taken_down(desk, "p3", utcnow())
    sign_in(http, "aud1")
    page = http.get("/preservations?state=kept")
    assert page.status_code == 200 and f'id="item-{item}"' in page.text
    assert "/hold" not in page.text
    assert f'id="item-{item}"' not in http.get("/preservations?state=held").text


def test_a_lead_takes_down_a_confirmed_case_from_its_page(http: TestClient, desk: Desk) -> None:
    case = desk.cases["p1"]
    csrf = sign_in(http, "lead1")
    assert 'id="take-down-form"' not in http.get(f"/cases/{case}").text
    early = http.post(
        f"/cases/{case}/take-down",
        data={"csrf": csrf, "visibility": "removed", "legal_basis": BASIS},
    )
    assert early.status_code == 409 and "not confirmed as violating" in early.text
    assert f'href="/cases/{case}"' in early.text  # the error page leads back to the case
    confirm(desk)
    page = http.get(f"/cases/{case}").text
    assert 'id="take-down-form"' in page and 'value="Regulation (EU) 2021/784, Article 5' in page
    reviewer = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(reviewer, "rev1")
    assert 'id="take-down-form"' not in reviewer.get(f"/cases/{case}").text
    done = http.post(
        f"/cases/{case}/take-down",
        data={"csrf": csrf, "visibility": "disabled", "legal_basis": BASIS},
    )
    assert done.status_code == 303
    after = http.get(done.headers["location"]).text
    assert '<strong id="item-visibility">disabled</strong>' in after
    assert "Item disabled and preserved" in after and 'id="take-down-form"' not in after
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Preservation)) == 1
    assert f'<a href="/cases/{case}">case {case}</a>' in http.get("/preservations").text
    twice = http.post(
        f"/cases/{case}/take-down",
        data={"csrf": csrf, "visibility": "removed", "legal_basis": BASIS},
    )
    assert twice.status_code == 409 and "disabled already" in twice.text
    assert re.search(r"<title>Conflict", twice.text)
