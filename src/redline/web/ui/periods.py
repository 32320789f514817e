"""The period a page's ``from``/``to`` query asks for, as the dashboard and the health page
read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redline.errors import Invalid


def asked_period(
    start: str, end: str, default: timedelta, now: datetime
) -> tuple[datetime, datetime]:
    """[since, until) from ISO dates (UTC unless they say otherwise): ``to`` is ``now`` when
    left out and ``from`` is ``default`` before ``to``; Invalid naming the bad field, or when
    ``to`` is not after ``from``."""
    until = _day(end, "to") or now
    since = _day(start, "from") or until - default
    if until <= since:
        raise Invalid("'to' must be after 'from'")
    return since, until


def _day(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name}: an ISO date, e.g. 2026-11-01") from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)
