"""Appending to the audit trail. Events are only ever inserted, never updated or deleted."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from redline.model import AuditEvent
from redline.model.base import utcnow


def cli_actor() -> str:
    """Who is acting when redline runs from a shell: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def record_event(
    connection: Connection,
    actor: str,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event to the audit trail, inside the caller's transaction."""
    connection.execute(
        AuditEvent.__table__.insert(),
        {
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "before": before,
            "after": after,
            "detail": detail,
        },
    )


def count_recent(
    connection: Connection, actor: str, actions: Sequence[str], since: datetime
) -> int:
    """How many events ``actor`` has of ``actions`` since ``since``: the audit trail doubles as
    the memory of rate limits (failed logins, public complaints), so nothing else need keep it."""
    found = connection.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor == actor, AuditEvent.action.in_(actions), AuditEvent.at >= since)
    )
    return int(found or 0)
