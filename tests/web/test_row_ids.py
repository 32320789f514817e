"""Ids out of the database's range (>= 2**63, 0, negative) on every route: 404 or 422, never 500.

The test walks the app's own route table, so a route added later is covered without being
listed here. Every integer path parameter gets each bad value, with a body that would otherwise
be accepted, so the id (not a missing field) decides the answer.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from redline.review.tokens import SCOPES, create_token
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import VALID_FORMS, sign_in

BAD_IDS = [str(2**63), str(2**64 + 1), "-1", "0", "9" * 40]
# Other path parameters: values the routes accept, so only the id can be wrong.
OTHER_PARAMS = {
    "sha256": "0" * 64,
    "name": "nobank",
    "state": "disable",
    "username": "rev2",
    "bank_name": "nobank",
    "content_id": "1",
}
# JSON bodies of the API routes that take an id in the path, complete and valid.
API_BODIES = {
    "/api/v1/cases/{case_id}/assign": {"user": "rev2"},
    "/api/v1/cases/{case_id}/decisions": {"verdict": "not_violating", "reason": "research"},
    "/api/v1/orders/{order_id}/steps": {"url": "https://host.example/x", "action": "removed"},
    "/api/v1/referrals/{referral_id}/status": {"status": "sent"},
    "/api/v1/complaints/{complaint_id}/decision": {"outcome": "upheld", "reason": "x"},
    "/api/v1/items/{item_id}/hold": {"until": "2099-01-01T00:00:00+00:00", "reason": "court"},
    "/api/v1/cases/{case_id}/take-down": {"visibility": "removed", "legal_basis": "terms"},
}


def _is_int(annotation: object) -> bool:
    """Whether a parameter's type is an int (possibly Annotated or Optional)."""
    if annotation is int:
        return True
    return any(_is_int(arg) for arg in typing.get_args(annotation))


def _id_routes() -> Iterator[tuple[str, str, list[str]]]:
    """(method, path, names of its integer path parameters) for every route that has one."""
    from redline.config import Settings

    app = create_app(Settings(database_url="sqlite://"))
    # Included routers are resolved lazily; iter_route_contexts gives each route's full path.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None:
            continue
        ints = [p.name for p in route.dependant.path_params if _is_int(p.field_info.annotation)]
        if ints:
            for method in sorted((context.methods or set()) - {"HEAD"}):
                yield method, context.path, ints


ID_ROUTES = list(_id_routes())


def _console_form(path: str) -> dict[str, str]:
    """The console's valid form for a route, from the console tests' table."""
    for template, form in VALID_FORMS.items():
        normalised = (
            template.replace("{case}", "{case_id}")
            .replace("{order}", "{order_id}")
            .replace("{referral}", "{referral_id}")
            .replace("{complaint}", "{complaint_id}")
            .replace("{item}", "{item_id}")
        )
        if normalised == path:
            return form
    return {}


def test_the_walk_finds_the_routes_with_ids() -> None:
    paths = {path for _, path, _ in ID_ROUTES}
    assert "/api/v1/cases/{case_id}" in paths and "/cases/{case_id}" in paths
    assert len(ID_ROUTES) >= 30  # console and API; the HMA API's content ids are strings


@pytest.mark.parametrize("signed_in", [True, False], ids=["admin", "signed-out"])
def test_no_id_out_of_range_is_a_server_error(desk: Desk, signed_in: bool) -> None:
    app = create_app(desk.settings)
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    headers: dict[str, str] = {}
    csrf = "x"
    if signed_in:
        csrf = sign_in(client, "admin1")
        with desk.engine.begin() as connection:
            secret = create_token(connection, "admin1", "walk", list(SCOPES), "test")
        headers = {"Authorization": f"Bearer {secret}"}
    answers: dict[str, set[int]] = {}
    for method, path, ints in ID_ROUTES:
        for bad in BAD_IDS:
            url = path.format(**{**OTHER_PARAMS, **dict.fromkeys(ints, bad)})
            if path.startswith("/api/"):
                response = client.request(
                    method,
                    url,
                    headers=headers,
                    json=API_BODIES.get(path) if method != "GET" else None,
                )
            else:
                response = client.request(
                    method,
                    url,
                    headers={"X-CSRF-Token": csrf},
                    data={"csrf": csrf, **_console_form(path)},
                )
            assert response.status_code < 500, (method, url, response.status_code, response.text)
            answers.setdefault(f"{method} {path}", set()).add(response.status_code)
    if signed_in:  # past the sign-in and role checks, the id itself is refused
        for route, statuses in answers.items():
            assert statuses <= {404, 422}, (route, statuses)
    # The HMA API's content ids are strings (as in HMA) and checked against the same range.
    for bad in BAD_IDS:
        for method in ("GET", "PUT", "DELETE"):
            response = client.request(
                method,
                f"/hma/c/bank/nobank/content/{bad}",
                headers=headers,
                json={} if method == "PUT" else None,
            )
            assert response.status_code in ({404} if signed_in else {401, 403, 404}), (
                method,
                bad,
                response.status_code,
            )


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_in_queries_forms_and_bodies_are_checked_too(desk: Desk, bad: str) -> None:
    client = TestClient(
        create_app(desk.settings), follow_redirects=False, raise_server_exceptions=False
    )
    # The public complaint form, signed out: its decision id comes as a query and a form field.
    assert client.get(f"/complaints/new?decision={bad}").status_code in {404, 422}
    form = client.get("/complaints/new")
    token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    filed = client.post(
        "/complaints/new",
        data={"csrf": token, "decision": bad, "text": "please look again", "contact": ""},
    )
    assert filed.status_code in {400, 404, 422}, filed.text
    csrf = sign_in(client, "admin1")
    assert client.get(f"/cases/{desk.cases['p3']}?decided={bad}").status_code in {404, 422}
    with desk.engine.begin() as connection:
        secret = create_token(connection, "admin1", "walk", list(SCOPES), "test")
    body = {"decision_id": int(bad), "text": "a letter"}
    registered = client.post(
        "/api/v1/complaints",
        json=body,
        headers={"Authorization": f"Bearer {secret}", "X-CSRF-Token": csrf},
    )
    assert registered.status_code in {404, 422}, registered.text
