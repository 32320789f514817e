"""Users, passwords, sessions and the login lock-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from redline.model import AuditEvent, User
from redline.model.base import utcnow
from redline.review import Conflict, Forbidden, Invalid, accounts
from tests.review_desk import PASSWORD, Desk


def test_passwords_are_stored_as_argon2id_hashes(desk: Desk) -> None:
    with desk.engine.connect() as connection:
        stored = connection.scalar(select(User.password_hash).where(User.username == "rev1"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_right_password_signs_in_and_a_session_knows_its_user(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        reviewer = accounts.authenticate(connection, "REV1 ", PASSWORD, now, "127.0.0.1")
        token, csrf = accounts.start_session(connection, reviewer, now)
        found = accounts.session_user(connection, token, now)
        expired = accounts.session_user(connection, token, now + timedelta(hours=13))
        forged = accounts.session_user(connection, token[:-1] + "x", now)
    assert reviewer.username == "rev1" and reviewer.role == "reviewer"
    assert found is not None and found[0].id == reviewer.id and found[1] == csrf
    assert expired is None and forged is None


def test_wrong_password_and_unknown_user_get_the_same_refusal(desk: Desk) -> None:
    now = utcnow()
    messages = []
    for username, password in [("rev1", "wrong password!!"), ("nobody", PASSWORD)]:
        with pytest.raises(accounts.LoginRefused) as refused, desk.engine.begin() as connection:
            accounts.authenticate(connection, username, password, now)
        messages.append(str(refused.value))
    assert messages[0] == messages[1] == "wrong username or password"


def test_five_failures_lock_the_username_for_a_quarter_hour(desk: Desk) -> None:
    now = utcnow()
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.LoginRefused), desk.engine.begin() as connection:
            accounts.authenticate(connection, "rev1", "wrong password!!", now)
        with desk.engine.begin() as connection:
            accounts.record_refusal(connection, "rev1", accounts.LoginRefused("x"), "10.0.0.1")
    # Even the right password is refused while locked, and rev2 is not affected.
    with pytest.raises(accounts.TooManyAttempts), desk.engine.begin() as connection:
        accounts.authenticate(connection, "rev1", PASSWORD, now)
    with desk.engine.begin() as connection:
        assert accounts.authenticate(connection, "rev2", PASSWORD, now).username == "rev2"
        later = accounts.authenticate(connection, "rev1", PASSWORD, now + timedelta(minutes=16))
    assert later.username == "rev1"


def test_disabling_a_user_ends_their_sessions_and_refuses_login(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        token, _ = accounts.start_session(connection, desk.users["rev1"], now)
        accounts.set_disabled(connection, "rev1", True, "user:admin1")
        assert accounts.session_user(connection, token, now) is None
    with pytest.raises(accounts.LoginRefused), desk.engine.begin() as connection:
        accounts.authenticate(connection, "rev1", PASSWORD, now)
    with desk.engine.connect() as connection:
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "user.disable")
        ).one()
    assert event.actor == "user:admin1" and event.after == {"disabled": True}


def test_logout_everywhere_ends_every_session_of_the_user_only(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        mine = [accounts.start_session(connection, desk.users["rev1"], now)[0] for _ in range(3)]
        other, _ = accounts.start_session(connection, desk.users["rev2"], now)
        assert accounts.end_all_sessions(connection, desk.users["rev1"].id) == 3
        assert all(accounts.session_user(connection, t, now) is None for t in mine)
        assert accounts.session_user(connection, other, now) is not None


@pytest.mark.parametrize(
    ("username", "role", "password", "error"),
    [
        ("Bad Name", "reviewer", PASSWORD, Invalid),
        ("newuser", "superuser", PASSWORD, Invalid),
        ("newuser", "reviewer", "short", Invalid),
        ("rev1", "reviewer", PASSWORD, Conflict),
    ],
)
def test_bad_users_are_refused_with_a_reason(
    desk: Desk, username: str, role: str, password: str, error: type[Exception]
) -> None:
    with pytest.raises(error), desk.engine.begin() as connection:
        accounts.add_user(connection, username, role, password, "test")


def test_roles_allow_what_the_role_should_and_nothing_more(desk: Desk) -> None:
    reviewer, lead, admin, auditor = (desk.users[n] for n in ("rev1", "lead1", "admin1", "aud1"))
    assert reviewer.can("case.decide") and not reviewer.can("audit.view")
    assert lead.can("audit.view") and lead.can("case.escalated") and not lead.can("user.manage")
    assert admin.can("user.manage") and admin.can("token.manage")
    assert auditor.can("audit.view") and not auditor.can("case.decide")
    assert not auditor.can("case.claim") and not auditor.can("bank.edit")
    with pytest.raises(Forbidden):
        auditor.require("case.decide")
