"""Users, roles, passwords and signed-in sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults, parameters stored in the hash). A
session is a random token in an HttpOnly cookie; the database keeps only its SHA-256 and the
session's CSRF token, so signing a user out everywhere is deleting their rows.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, RowMapping, delete, select, update
from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # no stubs published

from redline.model import User, UserSession
from redline.review.errors import Conflict, Forbidden, Invalid, NotFound, ReviewError
from redline.store import rates
from redline.store.audit import record_event

ROLES: Final = ("reviewer", "lead", "admin", "auditor")

_REVIEWER: Final = frozenset(
    {"queue.view", "case.view", "case.claim", "case.decide", "media.reveal", "bank.view"}
)
_LEAD: Final = _REVIEWER | {
    "case.assign",
    "case.escalated",
    # Earlier verdicts on a case not yet decided: leads audit and settle disagreements; a
    # reviewer's second review is blind (review/casefile.py).
    "case.history",
    "designation.edit",  # the list of designated organisations and movements
    "audit.view",
    "bank.edit",
    "action.view",
    "action.manage",
    "webhook.view",  # the delivery log
    "webhook.replay",
    # Queue health and reviewers' exposure; setting the daily exposure cap, lifting a break.
    "team.view",
    "team.manage",
}
# What each role may do. An auditor reads everything and changes nothing.
PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "reviewer": _REVIEWER,
    "lead": _LEAD,
    # organisation.manage: the organisation's defaults (the blur every user starts from).
    "admin": _LEAD | {"user.manage", "token.manage", "webhook.manage", "organisation.manage"},
    "auditor": frozenset(
        {
            "queue.view",
            "case.view",
            "case.history",
            "media.reveal",
            "bank.view",
            "audit.view",
            "action.view",
            "webhook.view",
            "team.view",
        }
    ),
}

# Roles that read and never write: the console and the APIs refuse them every state-changing
# request at one place (redline.web.auth), whatever the route, except their own session's.
READ_ONLY_ROLES: Final = frozenset({"auditor"})
WRITE_SCOPE_SUFFIX: Final = ":write"

SESSION_LIFETIME: Final = timedelta(hours=12)
MIN_PASSWORD: Final = 12
# The least zxcvbn score (0-4) of each role's password. 3 ("safely unguessable", 10^8 to 10^10
# guesses: moderate protection against an offline attack on a slow hash) for those who review
# and read; 4 ("very unguessable", 10^10 guesses and more) for leads and admins, who can take
# content down, edit banks and hand out accounts. Sign-in is throttled, so guessing online is
# slow whatever the score; the score is for the day the database and its argon2 hashes leak.
MIN_STRENGTH: Final[dict[str, int]] = {"reviewer": 3, "auditor": 3, "lead": 4, "admin": 4}
# Sign-in throttling, counted before any password hash is computed (each argon2id hash costs
# tens of milliseconds of CPU: 80 wrong logins in 15 s once slowed every other request 30-fold).
# A username is locked per client network, so nobody elsewhere can lock a user out.
FAILURE_WINDOW: Final = timedelta(minutes=15)
OVERALL_WINDOW: Final = timedelta(minutes=1)
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")
_hasher = PasswordHasher()
# Verified against when the username does not exist, so a wrong username costs the same time
# as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH: Final = _hasher.hash("redline-no-such-user")


class LoginRefused(ReviewError):
    """Wrong username or password, or a disabled account (one message for all three)."""

    status = 401


class TooManyAttempts(ReviewError):
    """Too many failed logins for this username; try again later."""

    status = 429


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Sign-in attempts allowed per client network and overall, and wrong passwords per
    (username, client network), each in its window."""

    per_network: int = 50
    per_minute: int = 60
    failures_per_user: int = 5


@dataclass(frozen=True, slots=True)
class Reviewer:
    """The signed-in user as every review function sees them."""

    id: int
    username: str
    role: str
    always_blur: bool = False
    break_after: int = 50

    @property
    def actor(self) -> str:
        """How this user appears in the audit trail."""
        return f"user:{self.username}"

    @property
    def read_only(self) -> bool:
        """Whether this user's role reads and changes nothing (an auditor)."""
        return self.role in READ_ONLY_ROLES

    def require_write(self) -> None:
        """Forbidden for a read-only role: the one check every state-changing request passes."""
        if self.read_only:
            raise Forbidden(f"a {self.role} reads and changes nothing")

    def can(self, permission: str) -> bool:
        """Whether this user's role allows ``permission``."""
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        """Forbidden unless this user's role allows ``permission``."""
        if not self.can(permission):
            raise Forbidden(f"a {self.role} may not do this ({permission})")


def _reviewer(user: RowMapping) -> Reviewer:
    return Reviewer(
        user["id"], user["username"], user["role"], user["always_blur"], user["break_after"]
    )


def check_password(password: str, role: str, username: str = "") -> None:
    """Invalid, naming why, unless ``password`` is long and strong enough for ``role``."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password too short: at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise Invalid("password too long: at most 1024 characters")
    needed = MIN_STRENGTH.get(role, max(MIN_STRENGTH.values()))
    # zxcvbn's cost grows with length; its first 100 characters say enough about a password.
    found = zxcvbn(password[:100], user_inputs=[username, "redline"] if username else ["redline"])
    if found["score"] < needed:
        feedback = found.get("feedback") or {}
        why = " ".join([feedback.get("warning") or "", *feedback.get("suggestions", [])]).strip()
        article = "an" if role[:1] in "aeiou" else "a"
        raise Invalid(
            f"password too weak for {article} {role}: strength {found['score']} of 4, at least"
            f" {needed} needed (several uncommon words make a strong one)"
            + (f". {why}" if why else "")
        )


def add_user(
    connection: Connection, username: str, role: str, password: str, actor: str
) -> Reviewer:
    """Create a user; Invalid for a bad name, role or password, Conflict if the name is taken."""
    if not _USERNAME.fullmatch(username):
        raise Invalid(
            f"bad username {username!r}: 2-63 characters, lower-case letters, digits, . _ -"
        )
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    check_password(password, role, username)
    if connection.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists already")
    user_id = connection.execute(
        User.__table__.insert().returning(User.id),
        {
            "username": username,
            "password_hash": _hasher.hash(password),
            "role": role,
            "disabled": False,
            "always_blur": False,
            "break_after": 50,
        },
    ).scalar_one()
    record_event(connection, actor, "user.add", "user", username, after={"role": role})
    return Reviewer(user_id, username, role)


def get_user(connection: Connection, username: str) -> RowMapping:
    """The row of the user called ``username``; NotFound otherwise."""
    row = connection.execute(select(User.__table__).where(User.username == username)).first()
    if row is None:
        raise NotFound(f"no user {username!r}")
    return row._mapping


def list_users(connection: Connection) -> list[dict[str, object]]:
    """Every user with role and state, by name."""
    rows = connection.execute(
        select(User.username, User.role, User.disabled, User.created_at).order_by(User.username)
    )
    return [dict(row._mapping) for row in rows]


def set_password(connection: Connection, username: str, password: str, actor: str) -> None:
    """Replace a user's password and sign them out everywhere."""
    user = get_user(connection, username)
    check_password(password, user["role"], username)
    connection.execute(
        update(User).where(User.id == user["id"]).values(password_hash=_hasher.hash(password))
    )
    end_all_sessions(connection, user["id"])
    record_event(connection, actor, "user.passwd", "user", username)


def set_disabled(connection: Connection, username: str, disabled: bool, actor: str) -> None:
    """Disable (and sign out everywhere) or re-enable a user."""
    user = get_user(connection, username)
    connection.execute(update(User).where(User.id == user["id"]).values(disabled=disabled))
    if disabled:
        end_all_sessions(connection, user["id"])
    record_event(
        connection,
        actor,
        "user.disable" if disabled else "user.enable",
        "user",
        username,
        before={"disabled": user["disabled"]},
        after={"disabled": disabled},
    )


def set_protection(
    connection: Connection, reviewer: Reviewer, always_blur: bool, break_after: int
) -> None:
    """A user's own protection settings: keep media blurred, reveals per day before a break."""
    if not 1 <= break_after <= 10_000:
        raise Invalid("break reminder must be between 1 and 10000 reveals")
    connection.execute(
        update(User)
        .where(User.id == reviewer.id)
        .values(always_blur=always_blur, break_after=break_after)
    )
    record_event(
        connection,
        reviewer.actor,
        "user.protection",
        "user",
        reviewer.username,
        after={"always_blur": always_blur, "break_after": break_after},
    )


def client_network(address: str) -> str:
    """The network a client's address is in, as sign-in throttling counts it: IPv4 /24, IPv6
    /64 (what one subscriber or one office usually has)."""
    return rates.network_of(address, ipv6_prefix=64)


def _normal(username: str) -> str:
    return username.strip().lower()[:100]


def _failures_key(username: str, network: str) -> str:
    return f"login.user:{network}:{_normal(username)}"


def admit_login(
    connection: Connection,
    username: str,
    network: str,
    now: datetime,
    limits: LoginLimits = LoginLimits(),
) -> None:
    """Count a sign-in attempt against its client network's limit, the overall limit and the
    (username, network)'s wrong passwords; TooManyAttempts past any of them. Call it in a
    transaction of its own, committed before ``authenticate``: the count must stand when the
    sign-in fails, and no password is checked for a refused attempt (whose transaction, rolled
    back, counts nothing: only admitted attempts use up a limit)."""
    if rates.hit(connection, f"login.network:{network}", FAILURE_WINDOW, now) > limits.per_network:
        raise TooManyAttempts("too many sign-in attempts from your network: try again later")
    if rates.hit(connection, "login.all", OVERALL_WINDOW, now) > limits.per_minute:
        raise TooManyAttempts("too many sign-in attempts right now: try again in a minute")
    failures = rates.hit(connection, _failures_key(username, network), FAILURE_WINDOW, now)
    if failures > limits.failures_per_user:
        raise TooManyAttempts(
            "too many failed sign-ins for this user from your network: try again in 15 minutes"
        )


# How many passwords this process has checked against a hash: each is one argon2id computation.
# Read by the tests that show a throttled attempt costs none.
password_checks = 0


def authenticate(
    connection: Connection, username: str, password: str, now: datetime, client: str = ""
) -> Reviewer:
    """The user if the password is right; LoginRefused otherwise. ``admit_login`` first.

    A success is audited here and clears the user's failures from this client's network; the
    caller records a refusal with ``record_refusal`` in a transaction of its own, since the
    refused one is rolled back.
    """
    global password_checks
    username = _normal(username)
    row = connection.execute(select(User.__table__).where(User.username == username)).first()
    user = row._mapping if row is not None else None
    password_checks += 1
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password[:1024])
        ok = user is not None and not user["disabled"]
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise LoginRefused("wrong username or password")
    rates.forget(connection, _failures_key(username, client_network(client)))
    record_event(
        connection, f"user:{username}", "login", "user", username, detail={"client": client}
    )
    return _reviewer(user)


def record_refusal(
    connection: Connection, username: str, refusal: ReviewError, client: str = ""
) -> None:
    """Audit a refused sign-in (the throttling counts in ``admit_login``, not here)."""
    action = "login.locked" if isinstance(refusal, TooManyAttempts) else "login.failed"
    name = _normal(username)
    record_event(connection, f"login:{name}", action, "user", name, detail={"client": client})


def start_session(connection: Connection, reviewer: Reviewer, now: datetime) -> tuple[str, str]:
    """A new session for ``reviewer``: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    connection.execute(
        UserSession.__table__.insert(),
        {
            "token_sha256": _sha256(token),
            "user_id": reviewer.id,
            "csrf": csrf,
            "created_at": now,
            "expires_at": now + SESSION_LIFETIME,
        },
    )
    return token, csrf


def session_user(connection: Connection, token: str, now: datetime) -> tuple[Reviewer, str] | None:
    """The user and CSRF token of a live session; None if forged, expired or disabled."""
    if not token or len(token) > 200:
        return None
    row = connection.execute(
        select(User.__table__, UserSession.csrf)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_sha256 == _sha256(token))
        .where(UserSession.expires_at > now)
        .where(User.disabled.is_(False))
    ).first()
    if row is None:
        return None
    return _reviewer(row._mapping), row.csrf


def end_session(connection: Connection, token: str) -> None:
    """Sign this browser out."""
    connection.execute(delete(UserSession).where(UserSession.token_sha256 == _sha256(token)))


def end_all_sessions(connection: Connection, user_id: int) -> int:
    """Sign a user out of every browser; how many sessions ended."""
    result = connection.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return result.rowcount or 0


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


__all__ = [
    "PERMISSIONS",
    "READ_ONLY_ROLES",
    "ROLES",
    "LoginLimits",
    "LoginRefused",
    "Reviewer",
    "TooManyAttempts",
    "add_user",
    "admit_login",
    "authenticate",
    "check_password",
    "client_network",
    "end_all_sessions",
    "end_session",
    "get_user",
    "list_users",
    "record_refusal",
    "session_user",
    "set_disabled",
    "set_password",
    "set_protection",
    "start_session",
]
