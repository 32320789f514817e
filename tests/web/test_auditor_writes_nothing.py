"""An auditor reads everything and changes nothing (issue 14, row 12: an auditor could POST
``/cases/{id}/release``).

The test walks every state-changing route the app has (POST/PUT/PATCH/DELETE, console, JSON API
and HMA API) as an auditor, with a valid session and CSRF token, and with an API token that
still carries every scope (made while the user was a lead), and checks that each one is refused
with 403 and leaves the database as it was; the few routes an auditor may use are listed below
with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from redline.banks import add_entry, create_bank
from redline.model import Base, Case, User
from redline.model.base import utcnow
from redline.review.tokens import SCOPES, create_token
from redline.web.app import create_app
from tests.review_desk import PASSWORD, Desk
from tests.web.test_console import sign_in

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# State-changing routes an auditor may use, and why.
ALLOWED = {
    ("POST", "/login"): "signing in is how an auditor starts reading",
    ("POST", "/complaints/new"): "the public complaint form: no account is involved",
    ("POST", "/logout"): "ends the auditor's own session",
    ("POST", "/logout-everywhere"): "ends the auditor's own sessions",
    ("POST", "/settings"): "the auditor's own protection settings (blur, break reminder)",
    ("POST", "/settings/blur"): "the auditor's own blur strength for previews",
    ("POST", "/cases/{case_id}/media/{sha256}/reveal"): "an audited read of a media file",
    ("POST", "/hma/m/lookup"): "HMA matching: computes matches, stores nothing",
    ("POST", "/hma/m/compare"): "HMA matching: compares hashes, stores nothing",
    ("POST", "/hma/h/hash"): "HMA hashing: computes hashes, stores nothing",
}
# Tables a refused request may still touch: the audit trail and its chain head (reads are
# audited), sessions and the rate-limit counters (signing in).
NOT_COMPARED = {"audit_events", "audit_chain", "user_sessions", "rate_counters"}
# Columns that record a read: when an API token was last used.
READ_MARKS = {"last_used_at"}


def state_changing_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every state-changing route, those of included routers too."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        found = (
            [(c.methods, c.path) for c in contexts()]
            if contexts
            else [(getattr(route, "methods", None) or set(), getattr(route, "path", ""))]
        )
        for methods, path in found:
            for method in sorted(set(methods) & WRITES):
                yield method, path


def fingerprint(engine: Engine) -> dict[str, str]:
    """A digest of each table's rows, every table but ``NOT_COMPARED``."""
    digests = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in NOT_COMPARED:
                columns = [c for c in table.columns if c.name not in READ_MARKS]
                rows = sorted(repr(tuple(r)) for r in connection.execute(select(*columns)))
                digests[table.name] = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def test_an_auditor_changes_nothing_anywhere(desk: Desk) -> None:
    case = desk.cases["p3"]
    with desk.engine.begin() as connection:
        # A token with every scope, made while aud1 was a lead: a role change must not leave
        # a way to write.
        connection.execute(update(User).where(User.username == "aud1").values(role="lead"))
        secret = create_token(connection, "aud1", "old", list(SCOPES), "test")
        connection.execute(update(User).where(User.username == "aud1").values(role="auditor"))
        # A case rev1 holds: releasing it would be a change.
        connection.execute(
            update(Case).where(Case.id == case).values(assignee_id=desk.users["rev1"].id)
        )
        item = connection.scalar(select(Case.item_id).where(Case.id == case))
    with desk.engine.begin() as connection:
        create_bank(connection, "WALK", actor="test", now=utcnow())
    with desk.engine.begin() as connection:
        entry = add_entry(connection, "WALK", {"pdq": "f" * 64}, actor="test", now=utcnow())
    app = create_app(desk.settings)
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, "aud1")
    values = {
        "case_id": case,
        "item_id": item,
        "sha256": "0" * 64,
        "name": "WALK",
        "bank_name": "WALK",
        "entry_id": entry.id,
        "content_id": entry.id,
        "state": "disable",
        "username": "rev2",
        "decision_id": 1,
        "token_id": 1,
        "order_id": 1,
        "referral_id": 1,
        "complaint_id": 1,
        "notice_id": 1,
        "subscription_id": 1,
        "delivery_id": 1,
        "designation_id": 1,
    }
    routes = sorted(set(state_changing_routes(app)))
    assert ("POST", "/cases/{case_id}/release") in routes and len(routes) > 40
    assert set(ALLOWED) <= set(routes), "the list of allowed routes names a route that is gone"
    refused = []
    # The routes that end the session go last.
    for method, path in sorted(routes, key=lambda r: r[1].startswith("/logout")):
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
        headers = {"X-CSRF-Token": csrf}
        if path.startswith(("/api/", "/hma/")):
            headers = {"Authorization": f"Bearer {secret}"}
        before = fingerprint(desk.engine)
        response = client.request(method, url, headers=headers, data={"csrf": csrf})
        touched = changed(before, fingerprint(desk.engine))
        if (method, path) in ALLOWED:
            assert touched in ([], ["users"] if path == "/settings" else []), (path, touched)
            continue
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert touched == [], (method, path, touched)
        refused.append(path)
    assert len(refused) == len(routes) - len(ALLOWED)
    with desk.engine.connect() as connection:
        assert connection.scalar(select(Case.assignee_id).where(Case.id == case)) == (
            desk.users["rev1"].id
        )


def test_an_auditor_gets_no_token_that_writes(desk: Desk) -> None:
    from redline.review import Invalid

    with desk.engine.begin() as connection:
        create_token(connection, "aud1", "reads", ["cases:read", "banks:read"], "test")
    try:
        with desk.engine.begin() as connection:
            create_token(connection, "aud1", "writes", ["cases:write"], "test")
    except Invalid as refused:
        assert "read scopes only" in str(refused)
    else:
        raise AssertionError("an auditor was given a write scope")


def test_the_login_form_still_works_for_an_auditor(desk: Desk) -> None:
    client = TestClient(create_app(desk.settings), follow_redirects=False)
    assert sign_in(client, "aud1", PASSWORD)
    assert client.get("/queue").status_code == 200
