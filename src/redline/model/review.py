"""Review: the people who decide (User), how they are signed in (UserSession, ApiToken), and
what they decided (Decision)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redline.model.base import Base, BigId, JsonDoc, utcnow


class User(Base):
    """A person who signs in to the console: reviewer, lead, admin or auditor."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, parameters included
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(default=False)
    # Reviewer protection: keep every image blurred even after a reveal click, and how many
    # reveals in a day before the console suggests a break.
    always_blur: Mapped[bool] = mapped_column(default=False)
    break_after: Mapped[int] = mapped_column(default=50)
    # How the user's blurred previews are made; None: the organisation's default.
    blur_radius: Mapped[int | None] = mapped_column(Integer)
    greyscale: Mapped[bool | None]
    # When a lead last lifted this user's enforced break; it holds for the rest of that UTC day.
    break_lifted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationSettings(Base):
    """The organisation's reviewer-protection settings, in one row (id 1): the daily exposure cap
    leads set, and the blur default an admin sets. No row: the built-in defaults."""

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Media reveals plus cases viewed a reviewer may have in a UTC day before the console
    # enforces a break; None: no cap.
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    blur_radius: Mapped[int] = mapped_column(Integer)
    greyscale: Mapped[bool]
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a copy of the
    database signs nobody in; deleting a user's rows signs them out everywhere."""

    __tablename__ = "user_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token for /api/v1, scoped and revocable; stored as its SHA-256 only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Decision(Base):
    """One reviewer's decision on a case. Never updated but for ``undone_at``: an undone decision
    stays on the record."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_case", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    # The designated organisation or movement the content is for (violating verdicts), from
    # the list leads keep; transparency reports and hash-sharing labels name it.
    designation_id: Mapped[int | None] = mapped_column(ForeignKey("designations.id"))
    # The case the reviewer was looking at when one decision covered a near-duplicate cluster.
    applied_from: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status_before: Mapped[str] = mapped_column(String(20))
    status_after: Mapped[str] = mapped_column(String(20))
    # The case's category before this decision, so an undo puts back what the queue showed.
    category_before: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class Designation(Base):
    """A designated terrorist organisation or violent extremist movement, on the list leads keep
    (who designates it: "UN 1267", "EU", a national list). Disabled, never deleted: decisions name
    it."""

    __tablename__ = "designations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    listed_by: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateCounter(Base):
    """How often something happened for one key in one fixed time window: the memory of rate
    limits (sign-in attempts, public complaints). Rows of windows gone by are deleted as new
    windows start."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The window's number: seconds since the epoch divided by the window's length.
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # seconds since the epoch
