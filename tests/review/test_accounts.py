"""Users, passwords, sessions and the login lock-out."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from datetime import datetime, timedelta

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


def test_the_shipped_password_hashes_cost_what_argon2_recommends() -> None:
    # The suite hashes with argon2-cffi's cheapest profile (tests/conftest.py); a redline started
    # on its own must use the library's defaults (RFC 9106's low-memory choice: 64 MiB, t=3, p=4).
    shipped = subprocess.run(
        [
            sys.executable,
            "-c",
            "from redline.review import accounts; "
            "print(accounts._hasher.hash('correct horse battery staple'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shipped.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), shipped


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


def sign_in(desk: Desk, username: str, password: str, address: str, now: datetime) -> str:
    """One attempt as the console makes it: counted first (committed), then checked."""
    with desk.engine.begin() as connection:
        accounts.admit_login(connection, username, accounts.client_network(address), now)
    with desk.engine.begin() as connection:
        return accounts.authenticate(connection, username, password, now, address).username


def test_five_failures_lock_the_username_from_that_network_only(desk: Desk) -> None:
    """Issue 14, row 7: five wrong passwords from anywhere locked the user out everywhere."""
    now, here, there = utcnow(), "203.0.113.7", "198.51.100.20"
    for _ in range(accounts.LoginLimits().failures_per_user):
        with pytest.raises(accounts.LoginRefused):
            sign_in(desk, "rev1", "wrong password!!", here, now)
    # Even the right password is refused from that network while locked...
    with pytest.raises(accounts.TooManyAttempts, match="from your network"):
        sign_in(desk, "rev1", PASSWORD, here, now)
    # ...but the user signs in from another one, and rev2 from the same one.
    assert sign_in(desk, "rev1", PASSWORD, there, now) == "rev1"
    assert sign_in(desk, "rev2", PASSWORD, here, now) == "rev2"
    assert sign_in(desk, "rev1", PASSWORD, here, now + timedelta(minutes=16)) == "rev1"


def test_a_right_password_clears_the_failures(desk: Desk) -> None:
    now, here = utcnow(), "203.0.113.7"
    for _ in range(3):
        for password in ("wrong password!!", "wrong password!!", PASSWORD):
            with contextlib.suppress(accounts.LoginRefused):
                sign_in(desk, "rev1", password, here, now)
    assert sign_in(desk, "rev1", PASSWORD, here, now) == "rev1"


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


@pytest.mark.parametrize(
    ("role", "password", "why"),
    [
        ("admin", "password1234", "This is a very common password"),  # issue 14, row 11
        ("reviewer", "qwertyuiop123", "strength"),
        ("reviewer", "aaaaaaaaaaaaaaaa", "Repeats like"),
        ("lead", "Password2026!", "similar to a commonly used password"),
        ("lead", "Redline2026!!", "strength 3 of 4"),  # the product's name: enough to read
        ("admin", "newadmin2026!", "strength 2 of 4"),  # the user's own name
    ],
)
def test_weak_passwords_are_refused_saying_why(
    desk: Desk, role: str, password: str, why: str
) -> None:
    made = pytest.raises(Invalid, match=f"too weak for an? {role}")
    with made as refused, desk.engine.begin() as connection:
        accounts.add_user(connection, "newadmin", role, password, "test")
    assert why in str(refused.value) and "at least" in str(refused.value)
    if "newadmin" in password:
        return  # weak for its own user only
    user = {"admin": "admin1", "lead": "lead1"}.get(role, "rev1")
    with pytest.raises(Invalid, match="too weak"), desk.engine.begin() as connection:
        accounts.set_password(connection, user, password, "test")


def test_strong_passwords_are_accepted_and_leads_need_more(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        accounts.add_user(connection, "newlead", "lead", "violet tram under copper hill", "test")
        accounts.set_password(connection, "admin1", "gentle-orbit-73-walnut-cascade", "test")
    # Strong enough to read with (score 3), not to take content down with (4).
    middling = next(
        p
        for p in ("Tr0ub4dor&3x", "bluefinch2741", "maple8harbor")
        if accounts.zxcvbn(p)["score"] == 3
    )
    with desk.engine.begin() as connection:
        accounts.add_user(connection, "newaud", "auditor", middling, "test")
    with pytest.raises(Invalid, match="too weak for a lead"), desk.engine.begin() as connection:
        accounts.add_user(connection, "newlead2", "lead", middling, "test")
