"""Parsing the timestamps real exports carry. Times without an offset are taken as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

# Tried in order after ISO 8601. Month-first, as in the US-made exports redline reads most
# (Twitter/Kaggle sets); pass --time-format for day-first data.
_FORMATS = (
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%a %b %d %H:%M:%S %z %Y",  # Twitter API created_at
    "%d %B %Y",
    "%B %d, %Y",
)


class BadTime(ValueError):
    """A timestamp redline cannot read."""


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_us_minutes(text: str) -> datetime:
    """Fast path for ``M/D/YYYY H:MM``, the Twitter CSV exports' form (a tenth of strptime)."""
    try:
        day_part, time_part = text.split(" ")
        month, day, year = day_part.split("/")
        hour, minute = time_part.split(":")
        return datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=UTC)
    except ValueError:
        return parse_time(text)


def parse_time(text: str, fmt: str | None = None) -> datetime:
    """A UTC datetime from ISO 8601, epoch seconds, or a common export format (or ``fmt``)."""
    value = text.strip()
    if not value:
        raise BadTime("empty time")
    if fmt is not None:
        try:
            return _aware(datetime.strptime(value, fmt))
        except ValueError as error:
            raise BadTime(f"time {value!r} does not match --time-format {fmt!r}") from error
    if value.isdigit() and 9 <= len(value) <= 11:
        return datetime.fromtimestamp(int(value), UTC)
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        pass
    for candidate in _FORMATS:
        try:
            return _aware(datetime.strptime(value, candidate))
        except ValueError:
            continue
    raise BadTime(f"unreadable time {value!r} (use --time-format)")
