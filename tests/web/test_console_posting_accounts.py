"""A posting account's page over HTTP: reached from the case page and the item record, paged,
and its bulk decision held to the roles, CSRF and the four-eyes rule; hostile query strings and
forms get a 4xx."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from redline.model import AuditEvent, Case, Decision
from redline.review.tokens import create_token
from redline.web.app import create_app
from tests.review.test_posting_accounts import busy_channel, find_outlinks
from tests.review_desk import Desk
from tests.web.test_console import sign_in

CHANNEL = "/posting-accounts?" + urlencode({"source": "telegram-mirror", "account": "chan_1"})


@pytest.fixture
def console(desk: Desk) -> Callable[[], TestClient]:
    app = create_app(desk.settings)
    return lambda: TestClient(app, follow_redirects=False)


def decisions_count(desk: Desk) -> int:
    with desk.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Decision)) or 0)


def test_the_case_page_and_the_item_record_lead_to_the_account(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    find_outlinks(desk)
    client = console()
    sign_in(client, "rev1")
    case_page = client.get(f"/cases/{desk.cases['p1']}").text
    link = re.search(
        r'<a href="([^"]+)" id="account-link">All 2 items of this account</a>', case_page
    )
    assert link is not None
    target = link.group(1).replace("&amp;", "&")
    assert target == "/posting-accounts?source=channel-export&account=acct_a"
    with desk.engine.begin() as connection:
        secret = create_token(connection, "rev1", "t", ["cases:read"], "test")
        item = connection.scalar(select(Case.item_id).where(Case.id == desk.cases["p1"]))
    record = client.get(f"/api/v1/items/{item}", headers={"Authorization": f"Bearer {secret}"})
    assert record.json()["account_page"] == target
    page = client.get(target)
    assert page.status_code == 200
    with desk.engine.connect() as connection:
        viewed = connection.execute(
            select(AuditEvent.actor, AuditEvent.subject_id).where(
                AuditEvent.action == "posting_account.view"
            )
        ).all()
    assert [(a, s.split(":", 1)[1]) for a, s in viewed] == [("user:rev1", "acct_a")]
    assert 'id="account-items">2<' in page.text
    assert "example.org" in page.text and 'id="posts-per-day"' in page.text
    assert f'href="/cases/{desk.cases["p3"]}"' in page.text


def test_markup_in_an_account_renders_inert(console: Callable[[], TestClient], desk: Desk) -> None:
    client = console()
    sign_in(client, "rev1")
    page = client.get("/posting-accounts?source=channel-export&account=acct_d").text
    assert "<script>alert" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_a_channel_is_paged(console: Callable[[], TestClient], desk: Desk, tmp_path: Path) -> None:
    busy_channel(desk, tmp_path)
    client = console()
    sign_in(client, "aud1")
    first = client.get(CHANNEL).text
    second = client.get(CHANNEL + "&offset=50").text
    assert "1–50 of 70" in first and 'id="next-page"' in first
    assert "51–70 of 70" in second and 'id="next-page"' not in second
    rows = re.findall(r"<td class=\"url\">(c\d+)</td>", first + second)
    assert sorted(rows) == sorted(f"c{n}" for n in range(70))
    # An auditor reads the account and is offered no bulk decision.
    assert 'id="bulk-form"' not in first


def test_a_bulk_decision_over_http_is_one_decision_per_case(
    console: Callable[[], TestClient], desk: Desk, tmp_path: Path
) -> None:
    cases = busy_channel(desk, tmp_path)
    client = console()
    csrf = sign_in(client, "rev1")
    page = client.get(CHANNEL).text
    offered = sorted(int(c) for c in re.findall(r'name="case" value="(\d+)"', page))
    assert offered == sorted(cases.values())
    form = {
        "csrf": csrf,
        "source": "telegram-mirror",
        "account": "chan_1",
        "case": offered[:4],
        "verdict": "violating",
        "category": "recruitment",
    }
    done = client.post("/posting-accounts/decide", data=form)
    assert done.status_code == 303, done.text
    after = client.get(done.headers["location"]).text
    assert "Recorded 4 decisions" in after
    with desk.engine.connect() as connection:
        statuses = connection.execute(select(Case.status).where(Case.id.in_(offered[:4]))).scalars()
        assert set(statuses) == {"second_review"}  # four-eyes: a second reviewer confirms
    # The bulk form offers only the cases still waiting for a first review.
    assert sorted(int(c) for c in re.findall(r'name="case" value="(\d+)"', after)) == offered[4:]


def test_bulk_decisions_refuse_roles_tokens_and_hostile_forms(
    console: Callable[[], TestClient], desk: Desk, tmp_path: Path
) -> None:
    cases = busy_channel(desk, tmp_path)
    chosen = [cases["c0"]]
    base = {
        "source": "telegram-mirror",
        "account": "chan_1",
        "case": chosen,
        "verdict": "not_violating",
        "reason": "research",
    }
    auditor = console()
    auditor_csrf = sign_in(auditor, "aud1")
    assert (
        auditor.post("/posting-accounts/decide", data={"csrf": auditor_csrf, **base}).status_code
        == 403
    )
    client = console()
    csrf = sign_in(client, "rev1")
    assert (
        client.post("/posting-accounts/decide", data={"csrf": "forged", **base}).status_code == 403
    )
    assert client.post("/posting-accounts/decide", data=base).status_code == 403
    hostile = [
        {"case": ["abc"]},
        {"case": ["-1"]},
        {"case": [str(2**63)]},
        {"case": [desk.cases["p1"]]},  # a case of another account
        {"case": []},
        {"source": "x" * 201},
        {"source": "no-such-source"},
        {"account": ""},
        {"account": "a" * 1001},
        {"verdict": "escalate", "note": "why"},
        {"verdict": "maybe"},
        {"verdict": "violating", "category": ""},
        {"verdict": "violating", "category": "x" * 41},
        {"verdict": "violating", "category": "recruitment", "designation": "Unknown Front"},
        {"note": "n" * 5000},
    ]
    for change in hostile:
        answer = client.post("/posting-accounts/decide", data={"csrf": csrf, **base, **change})
        assert 400 <= answer.status_code < 500, (change, answer.status_code, answer.text)
    assert decisions_count(desk) == 0
    for query in (
        "?source=telegram-mirror",
        "?account=chan_1",
        "?source=telegram-mirror&account=nobody",
        "?source=telegram-mirror&account=chan_1&offset=-1",
        "?source=telegram-mirror&account=chan_1&offset=abc",
        f"?source=telegram-mirror&account={'a' * 1001}",
        "?source=%00&account=%00",
    ):
        answer = client.get("/posting-accounts" + query)
        assert 400 <= answer.status_code < 500, (query, answer.status_code)
