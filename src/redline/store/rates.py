"""Rate limits' counters: how often a key was seen in the current fixed time window.

``hit`` counts and reads in one statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on
SQLite and PostgreSQL alike), so parallel requests each get their own number and exactly the
limit's worth of them are let through: counting first and recording afterwards let 15-19 of 40
parallel sign-ins through a limit of 5. Call it in a transaction of its own, committed before
the work it guards, so that a refused (rolled back) request still counts.

Windows are fixed (a burst across a window's edge can reach twice the limit); that is the price
of one row per key and no history.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete

from redline.model import RateCounter
from redline.store.engine import dialect_insert


def network_of(address: str, *, ipv6_prefix: int) -> str:
    """The network ``address`` is in, IPv4 /24 and IPv6 /``ipv6_prefix``, as a key counts a
    client's network rather than the one address it can change; "unknown" for what is not an
    address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else ipv6_prefix}", strict=False))


def _window(window: timedelta, now: datetime) -> tuple[int, int]:
    """(the window's number, when it ends in seconds since the epoch)."""
    length = max(1, int(window.total_seconds()))
    number = int(now.timestamp()) // length
    return number, (number + 1) * length


def hit(connection: Connection, key: str, window: timedelta, now: datetime) -> int:
    """Count one more for ``key`` in the window of ``now``; the count, this one included."""
    number, ends = _window(window, now)
    statement = (
        dialect_insert(connection, RateCounter.__table__)
        .values(key=key[:200], window=number, count=1, expires_at=ends)
        .on_conflict_do_update(
            index_elements=["key", "window"], set_={"count": RateCounter.__table__.c.count + 1}
        )
        .returning(RateCounter.__table__.c.count)
    )
    count = int(connection.execute(statement).scalar_one())
    if count == 1:  # a new window started for this key: clear away windows gone by
        connection.execute(
            delete(RateCounter).where(RateCounter.expires_at <= int(now.timestamp()))
        )
    return count


def forget(connection: Connection, key: str) -> None:
    """Start ``key`` from nothing (a right password clears its user's failures)."""
    connection.execute(delete(RateCounter).where(RateCounter.key == key[:200]))
