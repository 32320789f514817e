"""The review console over HTTP: who may reach what, CSRF, and bad input.

Each console route is listed with the least role that may use it; a test checks that the list
covers every route the app has, so a new route cannot go untested.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from redline.model import AuditEvent, Case, Decision
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.web.app import create_app
from tests.helpers import only_on
from tests.review_desk import PASSWORD, Desk

# (method, path template, roles that may use it). {case}: the desk's case p3.
ROUTES: list[tuple[str, str, set[str]]] = [
    ("GET", "/queue", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/queue/next", {"reviewer", "lead", "admin"}),
    ("GET", "/cases/{case}", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/cases/{case}/claim", {"reviewer", "lead", "admin"}),
    ("POST", "/cases/{case}/release", {"reviewer", "lead", "admin"}),
    ("POST", "/cases/{case}/assign", {"lead", "admin"}),
    ("POST", "/queue/sample", {"lead", "admin"}),
    ("POST", "/queue/bulk", {"lead", "admin"}),
    ("POST", "/cases/{case}/decide", {"reviewer", "lead", "admin"}),
    ("POST", "/decisions/{decision}/undo", set()),  # only the decision's own author
    ("GET", "/cases/{case}/cluster", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/cases/{case}/media/{sha}/reveal", {"reviewer", "lead", "admin", "auditor"}),
    ("GET", "/cases/{case}/media/{sha}/preview", {"reviewer", "lead", "admin", "auditor"}),
    ("GET", "/cases/{case}/media/{sha}/full", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/cases/{case}/bank", {"lead", "admin"}),
    ("POST", "/cases/{case}/entries/{entry}/false-positive", {"reviewer", "lead", "admin"}),
    ("GET", "/banks", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/banks", {"lead", "admin"}),
    ("GET", "/banks/{bank}", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/banks/{bank}/entries/{entry}/{state}", {"lead", "admin"}),
    ("POST", "/banks/{bank}/import", {"lead", "admin"}),
    ("GET", "/banks/{bank}/export", {"reviewer", "lead", "admin", "auditor"}),
    ("GET", "/audit", {"lead", "admin", "auditor"}),
    ("GET", "/audit.csv", {"lead", "admin", "auditor"}),
    ("GET", "/admin", {"admin"}),
    ("POST", "/admin/users", {"admin"}),
    ("POST", "/admin/users/{username}/{state}", {"admin"}),
    ("POST", "/admin/tokens", {"admin"}),
    ("POST", "/admin/tokens/{token}/revoke", {"admin"}),
    ("GET", "/settings", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/settings", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/logout", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/logout-everywhere", {"reviewer", "lead", "admin", "auditor"}),
    ("GET", "/orders", {"lead", "admin", "auditor"}),
    ("GET", "/dashboard", {"lead", "admin", "auditor"}),
    ("GET", "/referrals", {"lead", "admin", "auditor"}),
    ("POST", "/cases/{case}/referrals", {"lead", "admin"}),
    ("POST", "/referrals/{referral}/status", {"lead", "admin"}),
    ("GET", "/complaints", {"lead", "admin", "auditor"}),
    ("POST", "/complaints/{complaint}/decision", {"lead", "admin"}),
    ("POST", "/orders/{order}/steps", {"lead", "admin"}),
    ("GET", "/orders/new", {"lead", "admin"}),
    ("POST", "/orders", {"lead", "admin"}),
    ("GET", "/orders/{order}", {"lead", "admin", "auditor"}),
    ("GET", "/orders/{order}/report", {"lead", "admin", "auditor"}),
    ("GET", "/preservations", {"lead", "admin", "auditor"}),
    ("POST", "/preservations/{item}/hold", {"lead", "admin"}),
    ("POST", "/cases/{case}/take-down", {"lead", "admin"}),
    ("GET", "/notices", {"lead", "admin", "auditor"}),
    ("POST", "/notices/{notice}/sent", {"lead", "admin"}),
    ("GET", "/webhooks", {"lead", "admin", "auditor"}),
    ("POST", "/webhooks/deliveries/{delivery}/replay", {"lead", "admin"}),
    ("GET", "/designations", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/designations", {"lead", "admin"}),
    ("POST", "/designations/{designation_id}/{state}", {"lead", "admin"}),
    ("GET", "/dashboard/report", {"lead", "admin", "auditor"}),
    ("GET", "/health", {"lead", "admin", "auditor"}),
    ("POST", "/health/cap", {"lead", "admin"}),
    ("POST", "/health/breaks/{username}/lift", {"lead", "admin"}),
    ("POST", "/settings/blur", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/settings/organisation", {"admin"}),
    ("GET", "/banks/{bank}/entries/{entry}/preview", {"reviewer", "lead", "admin", "auditor"}),
    ("POST", "/banks/{bank}/thresholds", {"lead", "admin"}),
    (
        "GET",
        "/posting-accounts?source=channel-export&account=acct_a",
        {"reviewer", "lead", "admin", "auditor"},
    ),
    ("POST", "/posting-accounts/decide", {"reviewer", "lead", "admin"}),
]
# Complete forms, so a refusal can only come from the role check.
VALID_FORMS = {
    "/cases/{case}/decide": {"verdict": "not_violating", "reason": "research"},
    "/cases/{case}/bank": {"bank": "nobank"},
    "/cases/{case}/assign": {"user": "rev2"},
    "/queue/bulk": {"case": "1", "action": "release"},
    "/banks": {"name": "newbank"},
    "/admin/users": {"username": "newuser", "role": "reviewer", "password": PASSWORD},
    "/admin/tokens": {"user": "rev1", "name": "t", "scope": "cases:read"},
    "/settings": {"break_after": "10"},
    "/orders/{order}/steps": {"url": "https://host.example/x", "action": "removed"},
    "/referrals/{referral}/status": {"status": "sent"},
    "/complaints/{complaint}/decision": {"outcome": "upheld", "reason": "x"},
    "/preservations/{item}/hold": {"until": "2099-01-01T00:00", "reason": "court order"},
    "/cases/{case}/take-down": {"visibility": "removed", "legal_basis": "terms of service"},
    "/designations": {"name": "Example Front"},
    "/health/cap": {"daily_cap": "30"},
    "/settings/blur": {"blur_radius": "20"},
    "/settings/organisation": {"blur_radius": "20"},
    "/banks/{bank}/thresholds": {"pdq_threshold": "30", "text_threshold": "0.8"},
    "/orders": {
        "authority": "Example authority",
        "reference": "TCO-ROLES",
        "issued_at": "2026-11-20T09:00",
        "received_at": "2026-11-20T09:05",
        "urls": "https://host.example/x",
        "reasons": "generic reasons",
    },
    "/posting-accounts/decide": {
        "source": "channel-export",
        "account": "acct_a",
        "verdict": "not_violating",
        "reason": "research",
    },
}
# Open to all: the sign-in form, and the complaint form for people whose content was acted on.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/complaints/new"),
    ("POST", "/complaints/new"),
}
USER_OF_ROLE = {"reviewer": "rev1", "lead": "lead1", "admin": "admin1", "auditor": "aud1"}


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the session's CSRF token."""
    form = client.get("/login")
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert login_csrf is not None
    done = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": login_csrf.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get("/settings")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


@pytest.fixture
def console(desk: Desk) -> Callable[[], TestClient]:
    """New clients (browsers) on the desk's database."""
    app = create_app(desk.settings)
    return lambda: TestClient(app, follow_redirects=False)


def fill(path: str, desk: Desk, decision: int = 1) -> str:
    return path.format(
        case=desk.cases["p3"],
        decision=decision,
        sha="0" * 64,
        bank="nobank",
        entry=1,
        state="disable",
        username="rev2",
        token=1,
        order=1,
        referral=1,
        complaint=1,
        item=1,
        notice=1,
        delivery=1,
        designation_id=1,
    )


def test_the_route_table_covers_every_console_route() -> None:
    from redline.web.ui import (
        admin_pages,
        audit_pages,
        bank_pages,
        case_pages,
        complaint_pages,
        dashboard_pages,
        designation_pages,
        followup_pages,
        order_pages,
        posting_account_pages,
        preservation_pages,
        session_pages,
        webhook_pages,
        wellbeing_pages,
    )

    pages = (
        wellbeing_pages,
        posting_account_pages,
        designation_pages,
        admin_pages,
        audit_pages,
        bank_pages,
        case_pages,
        complaint_pages,
        dashboard_pages,
        followup_pages,
        order_pages,
        preservation_pages,
        session_pages,
        webhook_pages,
    )
    actual = {
        (method, route.path)
        for module in pages
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
    }
    listed = {
        (
            method,
            path.split("?")[0]
            .replace("{case}", "{case_id}")
            .replace("{decision}", "{decision_id}")
            .replace("{sha}", "{sha256}")
            .replace("{bank}", "{name}")
            .replace("{entry}", "{entry_id}")
            .replace("{token}", "{token_id}")
            .replace("{order}", "{order_id}")
            .replace("{referral}", "{referral_id}")
            .replace("{complaint}", "{complaint_id}")
            .replace("{item}", "{item_id}")
            .replace("{notice}", "{notice_id}")
            .replace("{delivery}", "{delivery_id}"),
        )
        for method, path, _ in ROUTES
    }
    assert actual - PUBLIC == listed


# The two route-by-role matrices run on one database: who may reach a route is decided before
# any query of the route's own (the role comes from the session), and every route's work is
# tested on both databases by its own tests.
@only_on("sqlite")
@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES])
def test_every_console_route_turns_anonymous_users_away(
    console: Callable[[], TestClient], desk: Desk, method: str, path: str
) -> None:
    response = console().request(method, fill(path, desk), data={"csrf": "x"})
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 401
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Decision)) == 0


@only_on("sqlite")
@pytest.mark.parametrize(
    ("method", "path", "roles"), [r for r in ROUTES if r[2] != set(USER_OF_ROLE)]
)
def test_roles_without_the_right_get_403(
    console: Callable[[], TestClient], desk: Desk, method: str, path: str, roles: set[str]
) -> None:
    decision = 1
    if "{decision}" in path:  # rev2's decision: nobody else may undo it
        with desk.engine.begin() as connection:
            decision = decide(
                connection,
                desk.users["rev2"],
                desk.cases["p2"],
                Verdict("escalate", note="a lead should look"),
                utcnow(),
            ).decision_id
    for role, username in USER_OF_ROLE.items():
        if role in roles:
            continue
        client = console()
        csrf = sign_in(client, username)
        form = {"csrf": csrf, **VALID_FORMS.get(path, {})}
        response = client.request(
            method,
            fill(path, desk, decision),
            data=form,
            files={"file": ("x.csv", b"pdq\n")} if "import" in path else None,
        )
        assert response.status_code == 403, (role, path, response.status_code)


def test_a_reviewer_works_a_case_and_the_record_shows_it(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p3"]
    client = console()
    csrf = sign_in(client, "rev1")
    assert client.post(f"/cases/{case}/claim", data={"csrf": csrf}).status_code == 303
    page = client.get(f"/cases/{case}")
    assert page.status_code == 200 and "Another generic post from account A" in page.text
    assert "claimed by <strong>rev1</strong>" in page.text
    decided = client.post(
        f"/cases/{case}/decide",
        data={
            "csrf": csrf,
            "verdict": "not_violating",
            "reason": "news_reporting",
            "note": "a report",
        },
    )
    assert decided.status_code == 303 and "decided=" in decided.headers["location"]
    # Straight on to the next case, with the undo of the decision just made.
    assert not decided.headers["location"].startswith(f"/cases/{case}?")
    after = client.get(decided.headers["location"])
    assert "Undo (u)" in after.text
    assert f"case #{case}</a>: <strong>not violating</strong>" in after.text
    with desk.engine.connect() as connection:
        actions = connection.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == "user:rev1")
        ).all()
    assert {"login", "case.claim", "case.view", "case.decide"} <= set(actions)


def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    sign_in(client, "rev1")
    case = desk.cases["p3"]
    for data in ({}, {"csrf": "forged"}):
        response = client.post(
            f"/cases/{case}/decide", data={**data, "verdict": "not_violating", "reason": "research"}
        )
        assert response.status_code == 403 and "CSRF" in response.text
    header = client.post(f"/cases/{case}/claim", headers={"X-CSRF-Token": "forged"})
    assert header.status_code == 403
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.status).where(Case.id == case)) == "open"
        assert connection.scalar(select(Case.assignee_id).where(Case.id == case)) is None


def test_login_form_needs_its_own_token_and_wrong_passwords_are_limited(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    client.get("/login")
    forged = client.post(
        "/login", data={"username": "rev1", "password": PASSWORD, "csrf": "forged"}
    )
    assert forged.status_code == 403 and "redline_session" not in forged.cookies
    for _ in range(5):
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        wrong = client.post(
            "/login", data={"username": "rev1", "password": "not it at all", "csrf": token.group(1)}
        )
        assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    locked = client.post(
        "/login", data={"username": "rev1", "password": PASSWORD, "csrf": token.group(1)}
    )
    assert locked.status_code == 429


def test_session_cookie_is_httponly_and_strict(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    done = client.post(
        "/login", data={"username": "rev2", "password": PASSWORD, "csrf": token.group(1)}
    )
    cookie = done.headers["set-cookie"].lower()
    assert "redline_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_forged_and_expired_sessions_are_signed_out(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    client.cookies.set("redline_session", "not-a-real-session")
    assert client.get("/queue").status_code == 303
    assert client.post("/cases/1/claim", headers={"HX-Request": "true"}).status_code == 401


def test_logout_everywhere_ends_other_browsers(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    laptop, desktop = console(), console()
    sign_in(laptop, "rev1")
    csrf = sign_in(desktop, "rev1")
    assert desktop.post("/logout-everywhere", data={"csrf": csrf}).status_code == 303
    assert laptop.get("/queue").status_code == 303  # sent to sign in


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cases/999999", 404),
        ("/cases/abc", 422),
        ("/queue?status=closed", 422),
        ("/banks/no-such-bank", 404),
        ("/queue?offset=-1", 422),
        ("/nowhere", 404),
    ],
)
def test_bad_requests_get_a_clear_page_and_the_right_status(
    console: Callable[[], TestClient], desk: Desk, path: str, status: int
) -> None:
    client = console()
    sign_in(client, "rev1")
    response = client.get(path)
    assert response.status_code == status
    assert "text/html" in response.headers["content-type"] and "Traceback" not in response.text


def test_deciding_a_decided_case_is_a_conflict(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    csrf = sign_in(client, "rev1")
    case = desk.cases["p4"]
    form = {"csrf": csrf, "verdict": "not_violating", "reason": "research"}
    assert client.post(f"/cases/{case}/decide", data=form).status_code == 303
    again = client.post(f"/cases/{case}/decide", data=form)
    assert again.status_code == 409 and "decided already" in again.text


def test_oversize_fields_and_bodies_are_refused(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    csrf = sign_in(client, "rev1")
    case = desk.cases["p3"]
    long_note = client.post(
        f"/cases/{case}/decide", data={"csrf": csrf, "verdict": "escalate", "note": "x" * 5000}
    )
    assert long_note.status_code == 422
    huge = client.post(
        f"/cases/{case}/decide", data={"csrf": csrf, "verdict": "escalate", "note": "x" * 300_000}
    )
    assert huge.status_code == 413
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.status).where(Case.id == case)) == "open"


def test_markup_in_texts_and_names_renders_inert(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    sign_in(client, "rev1")
    page = client.get(f"/cases/{desk.cases['p5']}")
    queue = client.get("/queue")
    for response in (page, queue):
        assert "<script>alert" not in response.text and "<img src=x" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text


def test_open_redirects_after_login_are_refused(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    client = console()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    done = client.post(
        "/login",
        data={
            "username": "rev1",
            "password": PASSWORD,
            "csrf": token.group(1),
            "next": "//evil.example/x",
        },
    )
    assert done.headers["location"] == "/queue"
