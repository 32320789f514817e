"""Decisions that resist bias, over HTTP: a blind second review in every page and API answer a
reviewer can fetch, no category chosen for the reviewer, a note to escalate, the designated
organisation or movement on violating verdicts, and clear 4xx answers to incomplete ones."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from redline import banks
from redline.model import AuditEvent, BankEntry, Case, Decision, Designation
from redline.model.base import utcnow
from redline.review.tokens import create_token
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in

FIRST_NOTE = "first-reviewer-note-7f3a"  # rev1's words: must reach nobody before they decide


@pytest.fixture
def console(desk: Desk) -> Callable[[], TestClient]:
    """New clients (browsers) on one app over the desk's database."""
    app = create_app(desk.settings)
    return lambda: TestClient(app, follow_redirects=False)


def bearer(desk: Desk, user: str) -> dict[str, str]:
    with desk.engine.begin() as connection:
        secret = create_token(connection, user, "test", ["cases:read", "cases:write"], "test")
    return {"Authorization": f"Bearer {secret}"}


def first_violating(client: TestClient, csrf: str, case: int, **extra: str) -> None:
    """rev1's "violating, threat incitement" with a note: the case waits for a second review."""
    form = {
        "csrf": csrf,
        "verdict": "violating",
        "category": "threat_incitement",
        "note": FIRST_NOTE,
        **extra,
    }
    done = client.post(f"/cases/{case}/decide", data=form)
    assert done.status_code == 303, done.text


def category_selected(page: str) -> list[str]:
    """The options of the category field the page pre-selects."""
    field = re.search(r'<select id="category".*?</select>', page, re.S)
    assert field is not None, "no category field"
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', field.group(0))


def test_a_second_reviewer_can_fetch_nothing_of_the_first_verdict(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p3"]
    first = console()
    first_violating(first, sign_in(first, "rev1"), case)
    with desk.engine.connect() as connection:
        item = connection.scalar(select(Case.item_id).where(Case.id == case))
    second = console()
    csrf = sign_in(second, "rev2")
    api = bearer(desk, "rev2")
    answers = {
        path: second.get(path, headers=api if path.startswith("/api") else None)
        for path in (
            f"/cases/{case}",
            f"/cases/{case}/cluster",
            "/queue?status=second_review",
            "/queue?status=second_review&category=threat_incitement",
            f"/api/v1/cases/{case}",
            "/api/v1/cases?status=second_review",
            "/api/v1/cases?status=second_review&category=threat_incitement",
            f"/api/v1/items/{item}",
        )
    }
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, answer.text)
        assert FIRST_NOTE not in answer.text, path
        assert "rev1" not in answer.text, path  # who decided, and so that someone did
    page = answers[f"/cases/{case}"].text
    assert category_selected(page) == []
    assert "Blind review: 1 earlier decision on this case is shown after you decide" in page
    assert 'class="history' not in page
    data = answers[f"/api/v1/cases/{case}"].json()
    assert (data["decisions"], data["withheld"], data["category"]) == ([], 1, None)
    listed = answers["/api/v1/cases?status=second_review"].json()["cases"]
    assert [(c["id"], c["category"]) for c in listed] == [(case, None)]
    assert answers["/api/v1/cases?status=second_review&category=threat_incitement"].json() == {
        "cases": [],
        "offset": 0,
        "limit": 50,
    }
    assert answers[f"/api/v1/items/{item}"].json()["decisions"] == []

    # Their decision lifts it: the history shows both, and the case is final.
    done = second.post(
        f"/cases/{case}/decide",
        data={"csrf": csrf, "verdict": "violating", "category": "recruitment"},
    )
    assert done.status_code == 303  # on to the next case; the decided one shows its history
    after = second.get(f"/cases/{case}").text
    assert FIRST_NOTE in after and "rev1" in after and "s-violating" in after
    assert second.get(f"/api/v1/cases/{case}", headers=api).json()["withheld"] == 0


def test_leads_and_auditors_read_the_history_before_anyone_decides(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p3"]
    first = console()
    first_violating(first, sign_in(first, "rev1"), case)
    for user in ("lead1", "aud1"):
        reader = console()
        sign_in(reader, user)
        page = reader.get(f"/cases/{case}").text
        assert FIRST_NOTE in page and "rev1" in page and "Blind review" not in page


def test_the_first_reviewer_reads_their_own_decision(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p3"]
    first = console()
    first_violating(first, sign_in(first, "rev1"), case)
    page = first.get(f"/cases/{case}").text
    assert FIRST_NOTE in page and "waits for a second reviewer" in page


def test_the_category_is_suggested_never_chosen_for_the_reviewer(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    sign_in(client, "rev1")
    page = client.get(f"/cases/{desk.cases['p4']}").text  # routed with support_glorification
    assert category_selected(page) == []
    assert "The signals suggest <strong>support glorification</strong>" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"verdict": "violating"}, "a violating decision needs a category"),
        ({"verdict": "violating", "category": "unknown"}, "a violating decision needs a category"),
        ({"verdict": "escalate"}, "an escalation needs a note"),
        ({"verdict": "escalate", "note": "   "}, "an escalation needs a note"),
    ],
)
def test_incomplete_decisions_get_a_422_naming_the_case(
    console: Callable[[], TestClient], desk: Desk, form: dict[str, str], message: str
) -> None:
    case = desk.cases["p3"]
    client = console()
    csrf = sign_in(client, "rev1")
    refused = client.post(f"/cases/{case}/decide", data={"csrf": csrf, **form})
    assert refused.status_code == 422 and f"case {case}: {message}" in refused.text
    api = TestClient(create_app(desk.settings))
    answer = api.post(f"/api/v1/cases/{case}/decisions", json=form, headers=bearer(desk, "rev1"))
    assert answer.status_code == 422 and f"case {case}: {message}" in answer.json()["message"]
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.status).where(Case.id == case)) == "open"
        assert connection.scalar(select(Decision.id).where(Decision.case_id == case)) is None


def test_an_escalation_with_a_note_reaches_a_lead(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p3"]
    client = console()
    csrf = sign_in(client, "rev1")
    form = {"csrf": csrf, "verdict": "escalate", "note": "the link may be news coverage"}
    assert client.post(f"/cases/{case}/decide", data=form).status_code == 303
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.status).where(Case.id == case)) == "escalated"


def test_leads_keep_the_designations_violating_verdicts_name(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p3"]
    lead = console()
    lead_csrf = sign_in(lead, "lead1")
    added = lead.post(
        "/designations",
        data={"csrf": lead_csrf, "name": "Example Front", "listed_by": "a national list"},
    )
    assert added.status_code == 303
    lead.post("/designations", data={"csrf": lead_csrf, "name": "Retired Movement"})
    again = lead.post("/designations", data={"csrf": lead_csrf, "name": " Example  Front "})
    assert again.status_code == 409 and "on the list already" in again.text
    listed = lead.get("/designations").text
    retired = re.search(r'action="/designations/(\d+)/disable"', listed.split("Retired")[1])
    assert retired is not None
    off = lead.post(
        f"/designations/{retired.group(1)}/disable",
        data={"csrf": lead_csrf, "reason": "merged into another entry"},
    )
    assert off.status_code == 303

    first = console()
    csrf = sign_in(first, "rev1")
    page = first.get(f"/cases/{case}").text
    assert "Example Front" in page and "Retired Movement" not in page  # disabled: not offered
    base = {"csrf": csrf, "verdict": "violating", "category": "recruitment"}
    missing = first.post(f"/cases/{case}/decide", data=base)
    assert missing.status_code == 422 and "designated organisation or movement" in missing.text
    disabled = first.post(f"/cases/{case}/decide", data={**base, "designation": "Retired Movement"})
    assert disabled.status_code == 422 and "disabled by a lead" in disabled.text
    unknown = first.post(f"/cases/{case}/decide", data={**base, "designation": "Nobody"})
    assert unknown.status_code == 422 and f"case {case}: no designation &#39;Nobody&#39;" in (
        unknown.text
    )
    assert first.post(
        f"/cases/{case}/decide", data={**base, "designation": "Example Front"}
    ).status_code == (303)

    second = console()
    csrf2 = sign_in(second, "rev2")
    final = second.post(
        f"/cases/{case}/decide",
        data={**base, "csrf": csrf2, "designation": "Example Front"},
    )
    assert final.status_code == 303
    shown = second.get(f"/cases/{case}").text
    assert '<span id="case-designation">Example Front</span>' in shown
    api = TestClient(create_app(desk.settings))
    data = api.get(f"/api/v1/cases/{case}", headers=bearer(desk, "rev2")).json()
    assert data["designation"] == "Example Front"
    assert [d["designation"] for d in data["decisions"]] == ["Example Front", "Example Front"]
    with desk.engine.connect() as connection:
        item = connection.scalar(select(Case.item_id).where(Case.id == case))
        events = connection.execute(
            select(AuditEvent.action, AuditEvent.detail).where(
                AuditEvent.action.like("designation.%")
            )
        ).all()
    record = api.get(f"/api/v1/items/{item}", headers=bearer(desk, "rev2")).json()
    assert {d["designation"] for d in record["decisions"]} == {"Example Front"}
    assert [e.action for e in events] == [
        "designation.add",
        "designation.add",
        "designation.disable",
    ]
    assert events[-1].detail == {"name": "Retired Movement", "reason": "merged into another entry"}

    # Added to a bank, the content's entry carries it, as hash-sharing labels do.
    with desk.engine.begin() as connection:
        banks.create_bank(connection, "shared", actor="test", now=utcnow())
    banked = lead.post(f"/cases/{case}/bank", data={"csrf": lead_csrf, "bank": "shared"})
    assert banked.status_code == 303
    with desk.engine.connect() as connection:
        entry = connection.execute(select(BankEntry.note, BankEntry.provenance)).one()
    assert entry.note == f"from case {case}; designation: Example Front"
    assert entry.provenance == {"case": case, "designation": "Example Front"}


def test_none_identified_is_an_explicit_answer(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    lead = console()
    lead.post("/designations", data={"csrf": sign_in(lead, "lead1"), "name": "Example Front"})
    client = console()
    csrf = sign_in(client, "rev1")
    form = {"csrf": csrf, "verdict": "violating", "category": "other_tvec", "designation": "none"}
    assert client.post(f"/cases/{desk.cases['p3']}/decide", data=form).status_code == 303
    # Other verdicts may name one, or not.
    news = {"csrf": csrf, "verdict": "not_violating", "reason": "news_reporting"}
    assert client.post(f"/cases/{desk.cases['p4']}/decide", data=news).status_code == 303


def test_hostile_designation_forms_get_a_clear_4xx_and_change_nothing(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    lead = console()
    csrf = sign_in(lead, "lead1")
    assert (
        lead.post("/designations", data={"csrf": csrf, "name": "Example Front"}).status_code == 303
    )
    hostile = [
        ("/designations", {"name": "x" * 100_000}),  # far past the form's bound
        ("/designations", {"name": "   "}),
        ("/designations", {"name": " None "}),  # the answer for no designation, not a name
        ("/designations", {"name": "Other", "listed_by": "y" * 100_000}),
        (f"/designations/{2**63}/disable", {"reason": "id past a 64-bit integer"}),
        ("/designations/-1/disable", {"reason": "negative id"}),
        ("/designations/999999/disable", {"reason": "no such entry"}),
        ("/designations/1/delete", {"reason": "a state that does not exist"}),
    ]
    for path, form in hostile:
        answer = lead.post(path, data={"csrf": csrf, **form})
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:300])
    with desk.engine.connect() as connection:
        names = connection.scalars(select(Designation.name).order_by(Designation.name)).all()
        states = connection.scalars(select(Designation.enabled)).all()
    assert names == ["Example Front"] and states == [True]
