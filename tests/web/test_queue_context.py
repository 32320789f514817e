"""The queue keeps the reviewer's context over HTTP: the tab and filters travel through the next
case, the decision and its undo; leads change several cases at once and nobody else can; hostile
filter values get a 4xx, never a 500."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from redline.model import AuditEvent, Case
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in


@pytest.fixture
def console(desk: Desk) -> Callable[[], TestClient]:
    app = create_app(desk.settings)
    return lambda: TestClient(app, follow_redirects=False)


def action_of(page: str, form_id: str) -> str:
    """The action of the form ``form_id`` on the page, as the browser reads it."""
    found = re.search(rf'<form[^>]*action="([^"]*)"[^>]*id="{form_id}"', page) or re.search(
        rf'<form[^>]*id="{form_id}"[^>]*action="([^"]*)"', page
    )
    assert found is not None, f"no form {form_id}"
    return html.unescape(found.group(1))


def test_next_decide_and_undo_keep_the_language_filter(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    csrf = sign_in(client, "rev1")
    queue_page = client.get("/queue?status=open&lang=ar").text
    assert action_of(queue_page, "next-form") == "/queue/next?status=open&lang=ar"

    # j from the Arabic queue opens the Arabic case, not the image-less head of the queue.
    opened = client.post("/queue/next?status=open&lang=ar", data={"csrf": csrf})
    assert opened.headers["location"] == f"/cases/{desk.cases['p4']}?status=open&lang=ar"
    case_page = client.get(opened.headers["location"]).text
    for form in ("next-form", "decision-form"):
        assert "status=open&lang=ar" in action_of(case_page, form), form
    assert 'href="/queue?status=open&amp;lang=ar" id="back-link"' in case_page

    # The decision goes on to the next Arabic case; there is none: the queue says so, with undo.
    done = client.post(
        action_of(case_page, "decision-form"),
        data={"csrf": csrf, "verdict": "not_violating", "reason": "news_reporting"},
    )
    location = done.headers["location"]
    assert re.fullmatch(r"/queue\?status=open&lang=ar&empty=1&decided=\d+", location), location
    empty = client.get(location).text
    assert 'id="queue-empty"' in empty and "under these filters" in empty
    assert f"case #{desk.cases['p4']}</a>: <strong>not violating</strong>" in empty
    undo = client.post(action_of(empty, "undo-form"), data={"csrf": csrf})
    assert undo.headers["location"] == f"/cases/{desk.cases['p4']}?status=open&lang=ar"
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.status).where(Case.id == desk.cases["p4"])) == "open"


def test_after_a_decision_the_next_case_opens_with_the_undo_bar(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    csrf = sign_in(client, "rev1")
    first = client.post("/queue/next?status=open&signal=bank", data={"csrf": csrf})
    assert first.headers["location"] == f"/cases/{desk.cases['p1']}?status=open&signal=bank"
    done = client.post(
        f"/cases/{desk.cases['p1']}/decide?status=open&signal=bank",
        data={"csrf": csrf, "verdict": "second_review"},
    )
    # p2 is the other bank case: one page load later it is open, claimed, with the undo bar.
    location = done.headers["location"]
    assert location.startswith(f"/cases/{desk.cases['p2']}?status=open&signal=bank&decided=")
    page = client.get(location).text
    assert f"case #{desk.cases['p1']}</a>: <strong>second review</strong>" in page
    assert "claimed by <strong>rev1</strong>" in page
    assert "status=open&signal=bank" in action_of(page, "undo-form")
    # Someone else's decision id in the address offers nothing.
    decided = location.rsplit("=", 1)[1]
    other = console()
    sign_in(other, "rev2")
    assert 'id="undo-form"' not in other.get(f"/cases/{desk.cases['p3']}?decided={decided}").text


FILTER_READERS = (
    "GET /queue",
    "GET /cases/{case}",
    "POST /queue/next",
    "POST /cases/{case}/decide",
)


@pytest.mark.parametrize(
    ("query", "readers"),
    [
        ("status=closed", FILTER_READERS),
        ("status=" + "open" * 300, FILTER_READERS),
        ("signal=psychic", FILTER_READERS),
        ("lang=" + "a" * 5000, FILTER_READERS),
        ("source=" + "%00" * 300, FILTER_READERS),
        ("assignee=" + "x" * 201, FILTER_READERS),
        ("offset=-1", FILTER_READERS[:1]),
        ("decided=abc", FILTER_READERS[:2]),
        ("decided=99999999999999999999999", FILTER_READERS[:2]),
    ],
)
def test_hostile_filter_values_get_a_4xx(
    console: Callable[[], TestClient], desk: Desk, query: str, readers: tuple[str, ...]
) -> None:
    client = console()
    csrf = sign_in(client, "rev1")
    case = desk.cases["p3"]
    for reader in readers:
        method, path = reader.format(case=case).split()
        form = {"csrf": csrf, "verdict": "escalate", "note": "look"}
        answer = client.request(method, f"{path}?{query}", data=form if method == "POST" else None)
        assert 400 <= answer.status_code < 500, (reader, query[:40], answer.status_code)
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.status).where(Case.id == case)) == "open"
        assert connection.scalar(select(Case.id).where(Case.assignee_id.is_not(None))) is None


def test_a_strange_but_valid_filter_is_shown_inert(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    sign_in(client, "rev1")
    page = client.get('/queue?source=<script>alert(1)</script>&lang="><b>x')
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and '"><b>x' not in page.text


def _bulk(client: TestClient, csrf: str, **form: object) -> int:
    return client.post("/queue/bulk?status=open", data={"csrf": csrf, **form}).status_code


def test_only_leads_change_several_cases_at_once(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    chosen = [desk.cases["p3"], desk.cases["p5"]]
    reviewer = console()
    csrf = sign_in(reviewer, "rev1")
    assert 'id="bulk-form"' not in reviewer.get("/queue").text
    assert _bulk(reviewer, csrf, case=chosen, action="assign", user="rev1") == 403
    auditor = console()
    assert _bulk(auditor, sign_in(auditor, "aud1"), case=chosen, action="release") == 403

    lead = console()
    csrf = sign_in(lead, "lead1")
    page = lead.get("/queue").text
    assert 'id="bulk-form"' in page and f'id="select-{chosen[0]}"' in page
    # p2 re-posts p1's text: one row, and selecting it selects both (the twin goes along).
    assert (
        f'value="{desk.cases["p2"]}" form="bulk-form" disabled data-twin-of="{desk.cases["p1"]}"'
        in page
    )
    answer = lead.post(
        "/queue/bulk?status=open&signal=bank",
        data={"csrf": csrf, "case": chosen, "action": "assign", "user": "rev2"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/queue?status=open&signal=bank&bulk=assign&changed=2"
    assert "Assigned 2 cases." in lead.get(answer.headers["location"]).text
    with desk.engine.connect() as connection:
        held = dict(connection.execute(select(Case.id, Case.assignee_id)).all())
        audited = connection.scalars(
            select(AuditEvent.subject_id).where(
                AuditEvent.action == "case.assign", AuditEvent.actor == "user:lead1"
            )
        ).all()
    assert [held[c] for c in chosen] == [desk.users["rev2"].id] * 2
    assert sorted(audited) == sorted(str(c) for c in chosen)
    assert _bulk(lead, csrf, case=chosen, action="release") == 303
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.assignee_id).where(Case.id == chosen[0])) is None


@pytest.mark.parametrize(
    "form",
    [
        {"case": ["abc"], "action": "release"},
        {"case": ["-1"], "action": "release"},
        {"action": "release"},
        {"case": ["1"], "action": "delete"},
        {"case": ["1"], "action": "assign", "user": "aud1"},
        {"case": ["1"], "action": "assign", "user": "nobody"},
        {"case": ["1"], "action": "assign", "user": "x" * 5000},
        {"case": [str(n) for n in range(1, 250)], "action": "release"},
        {"case": ["99999999999999999999999"], "action": "release"},
    ],
)
def test_hostile_bulk_forms_get_a_4xx_and_change_nothing(
    console: Callable[[], TestClient], desk: Desk, form: dict[str, object]
) -> None:
    lead = console()
    csrf = sign_in(lead, "lead1")
    assert 400 <= _bulk(lead, csrf, **form) < 500
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.id).where(Case.assignee_id.is_not(None))) is None
