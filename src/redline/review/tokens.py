"""API tokens for /api/v1: scoped, shown once, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Final, TypedDict

from sqlalchemy import Connection, select, update

from redline.errors import Invalid, NotFound
from redline.model import ApiToken, User
from redline.model.base import utcnow
from redline.review.accounts import READ_ONLY_ROLES, WRITE_SCOPE_SUFFIX, Reviewer
from redline.store.audit import record_event

# What a token may do; a request needs the scope of its route and its user's role must allow it.
SCOPES: Final[dict[str, str]] = {
    "cases:read": "list and read cases, items and matches",
    "cases:write": "claim cases and record decisions",
    "banks:read": "list banks and entries",
    "banks:write": "create banks and add or disable entries",
    "feeds:read": "read banks' signed hash feeds (another redline instance subscribing)",
    "actions:read": "read removal orders and referrals",
    "actions:write": "register and execute removal orders, make and update referrals",
    "items:read": "read items with their signals, matches, scores, case and decisions",
    "items:write": "submit items (POST /api/v1/items), as a platform does when content is posted",
    "webhooks:read": "list webhook subscriptions and the delivery log (admins)",
    "webhooks:write": "subscribe, change and remove webhook endpoints, replay deliveries (admins)",
}
PREFIX: Final = "rl_"
# How fresh a token's "last used" is kept: written at most once a minute, not at every request
# (an HMA look-up or a batch of items would otherwise be a write and a commit each), which is
# as precise as a "last used" column is read (which tokens are idle, which to revoke).
LAST_USED_EVERY: Final = timedelta(minutes=1)


def create_token(
    connection: Connection, user: str, name: str, scopes: list[str], actor: str
) -> str:
    """A new token for ``user`` with ``scopes``; the only time the secret is seen."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Invalid(f"unknown or no scopes {unknown} (scopes: {', '.join(SCOPES)})")
    if not 1 <= len(name) <= 100:
        raise Invalid("token name: 1-100 characters")
    found = connection.execute(select(User.id, User.role).where(User.username == user)).first()
    if found is None:
        raise NotFound(f"no user {user!r}")
    user_id = found.id
    if found.role in READ_ONLY_ROLES and any(s.endswith(WRITE_SCOPE_SUFFIX) for s in scopes):
        raise Invalid(f"{user!r} is an {found.role}: read scopes only")
    secret = PREFIX + secrets.token_urlsafe(32)
    token_id = connection.execute(
        ApiToken.__table__.insert().returning(ApiToken.id),
        {
            "user_id": user_id,
            "name": name,
            "token_sha256": _sha256(secret),
            "scopes": sorted(set(scopes)),
            "created_at": utcnow(),
        },
    ).scalar_one()
    record_event(
        connection,
        actor,
        "token.create",
        "api_token",
        str(token_id),
        after={"user": user, "name": name, "scopes": sorted(set(scopes))},
    )
    return secret


def token_user(
    connection: Connection, secret: str, now: datetime
) -> tuple[Reviewer, frozenset[str]] | None:
    """The user and scopes of a live token; None for unknown, revoked or disabled. Marks the
    token used at ``now`` unless it was marked less than ``LAST_USED_EVERY`` before."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = connection.execute(
        select(
            ApiToken.id,
            ApiToken.scopes,
            ApiToken.last_used_at,
            User.id.label("user_id"),
            User.username,
            User.role,
        )
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_sha256 == _sha256(secret))
        .where(ApiToken.revoked_at.is_(None), User.disabled.is_(False))
    ).first()
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        connection.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Reviewer(row.user_id, row.username, row.role), frozenset(row.scopes)


class TokenRow(TypedDict):
    """One API token as the admin page and ``token list`` show it (never its secret)."""

    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user: str


def list_tokens(connection: Connection) -> list[TokenRow]:
    """Every token (never its secret), newest first."""
    rows = connection.execute(
        select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.scopes,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
            User.username.label("user"),
        )
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
    )
    return [
        TokenRow(
            id=r.id,
            name=r.name,
            scopes=r.scopes,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            revoked_at=r.revoked_at,
            user=r.user,
        )
        for r in rows
    ]


def revoke_token(connection: Connection, token_id: int, now: datetime, actor: str) -> None:
    """Revoke a token; NotFound when there is no such live token."""
    done = connection.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if not done:
        raise NotFound(f"no live token {token_id}")
    record_event(connection, actor, "token.revoke", "api_token", str(token_id))


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
