"""/api/v1: scoped tokens, the same rules as the console, JSON errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from redline.model import Case, User
from redline.review import Invalid
from redline.review.tokens import create_token
from redline.web.app import create_app
from tests.review_desk import Desk


def token(desk: Desk, user: str, *scopes: str) -> dict[str, str]:
    with desk.engine.begin() as connection:
        secret = create_token(connection, user, "test", list(scopes), "test")
    return {"Authorization": f"Bearer {secret}"}


def auditor_token(desk: Desk, user: str, *scopes: str) -> dict[str, str]:
    """A token with any scopes for ``user``, an auditor now: made while they were a lead, since
    an auditor is never given a write scope (the refusal must then come from the role)."""
    with desk.engine.begin() as connection:
        connection.execute(update(User).where(User.username == user).values(role="lead"))
    headers = token(desk, user, *scopes)
    with desk.engine.begin() as connection:
        connection.execute(update(User).where(User.username == user).values(role="auditor"))
    return headers


@pytest.fixture
def api(desk: Desk) -> TestClient:
    return TestClient(create_app(desk.settings))


def test_cases_are_listed_and_read_with_a_read_token(api: TestClient, desk: Desk) -> None:
    headers = token(desk, "rev1", "cases:read")
    listed = api.get("/api/v1/cases", headers=headers)
    assert listed.status_code == 200
    ids = [c["id"] for c in listed.json()["cases"]]
    assert ids[0] == desk.cases["p1"] and len(ids) == 5
    arabic = api.get("/api/v1/cases?lang=ar", headers=headers).json()["cases"]
    assert [c["id"] for c in arabic] == [desk.cases["p4"]]
    one = api.get(f"/api/v1/cases/{desk.cases['p1']}", headers=headers).json()
    assert one["item"]["text"].startswith("Generic re-posted") and one["status"] == "open"
    item = api.get(f"/api/v1/items/{one['item']['id']}", headers=headers).json()
    assert item["account_name"] == "Account A"


def test_decisions_through_the_api_follow_four_eyes(api: TestClient, desk: Desk) -> None:
    case = desk.cases["p3"]
    first, second = token(desk, "rev1", "cases:write"), token(desk, "rev2", "cases:write")
    body = {"verdict": "violating", "category": "recruitment"}
    made = api.post(f"/api/v1/cases/{case}/decisions", json=body, headers=first)
    assert made.status_code == 201 and made.json()["decisions"][0]["status_after"] == (
        "second_review"
    )
    again = api.post(f"/api/v1/cases/{case}/decisions", json=body, headers=first)
    assert again.status_code == 403 and "four-eyes" in again.json()["message"]
    done = api.post(f"/api/v1/cases/{case}/decisions", json=body, headers=second)
    assert done.json()["decisions"][0]["status_after"] == "violating"
    late = api.post(f"/api/v1/cases/{case}/decisions", json=body, headers=second)
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/1"),
        ("POST", "/api/v1/cases/1/claim"),
        ("POST", "/api/v1/cases/1/decisions"),
        ("POST", "/api/v1/cases/1/assign"),
        ("POST", "/api/v1/decisions/1/undo"),
        ("POST", "/api/v1/samples"),
        ("GET", "/api/v1/items/1"),
        ("GET", "/api/v1/matches"),
        ("GET", "/api/v1/banks"),
        ("POST", "/api/v1/banks"),
        ("GET", "/api/v1/banks/x/entries"),
        ("POST", "/api/v1/banks/x/entries/1/disable"),
        ("GET", "/api/v1/orders"),
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/orders/1"),
        ("POST", "/api/v1/orders/1/steps"),
        ("GET", "/api/v1/referrals"),
        ("POST", "/api/v1/cases/1/referrals"),
        ("POST", "/api/v1/referrals/1/status"),
    ],
)
def test_every_api_route_needs_a_token_with_its_scope(
    api: TestClient, desk: Desk, method: str, path: str
) -> None:
    anonymous = api.request(method, path)
    assert anonymous.status_code == 401 and "token" in anonymous.json()["message"]
    revoked_like = api.request(method, path, headers={"Authorization": "Bearer rl_nope"})
    assert revoked_like.status_code == 401
    # A token with every scope but the route's own.
    needed = {"GET": "read", "POST": "write"}[method]
    kind = (
        "banks"
        if "/banks" in path
        else "actions"
        if ("/orders" in path or "referrals" in path)
        else "cases"
    )
    others = [
        s
        for s in (
            "cases:read",
            "cases:write",
            "banks:read",
            "banks:write",
            "actions:read",
            "actions:write",
        )
        if s != f"{kind}:{needed}"
    ]
    wrong_scope = api.request(method, path, headers=token(desk, "admin1", *others))
    assert wrong_scope.status_code == 403 and "scope" in wrong_scope.json()["message"]


def test_role_limits_apply_to_tokens_too(api: TestClient, desk: Desk) -> None:
    reviewer = token(desk, "rev1", "banks:write", "banks:read")
    refused = api.post("/api/v1/banks", json={"name": "newbank"}, headers=reviewer)
    assert refused.status_code == 403
    lead = token(desk, "lead1", "banks:write", "banks:read")
    created = api.post("/api/v1/banks", json={"name": "newbank"}, headers=lead)
    assert created.status_code == 201
    assert api.post("/api/v1/banks", json={"name": "newbank"}, headers=lead).status_code == 409
    listed = api.get("/api/v1/banks", headers=reviewer).json()["banks"]
    assert [b["name"] for b in listed] == ["newbank"]
    with pytest.raises(Invalid, match="read scopes only"):  # an auditor never writes
        token(desk, "aud1", "cases:write")
    auditor = auditor_token(desk, "aud1", "cases:write")
    claim = api.post(f"/api/v1/cases/{desk.cases['p1']}/claim", headers=auditor)
    assert claim.status_code == 403
    with desk.engine.connect() as connection:
        held = connection.scalar(select(Case.assignee_id).where(Case.id == desk.cases["p1"]))
    assert held is None


def test_bad_bodies_get_422_json(api: TestClient, desk: Desk) -> None:
    headers = token(desk, "rev1", "cases:write")
    case = desk.cases["p3"]
    for body in (
        {"verdict": "violating"},
        {"verdict": "nuke"},
        {"note": "x"},
        {"verdict": "escalate", "note": "x" * 5000},
    ):
        response = api.post(f"/api/v1/cases/{case}/decisions", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["message"]
    missing = api.get("/api/v1/cases/123456", headers=token(desk, "rev1", "cases:read"))
    assert missing.status_code == 404 and missing.json() == {"message": "no case 123456"}


def test_openapi_documents_the_api(api: TestClient) -> None:
    schema = api.get("/api/openapi.json").json()
    assert "/api/v1/cases/{case_id}/decisions" in schema["paths"]
    assert not any(path.startswith("/queue") for path in schema["paths"])
