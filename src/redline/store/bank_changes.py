"""Changes to banks as every layer that makes one records them: the bank's version and the
``banks`` counter move on, and each changed entry's change goes in the bank's change log (what
its feed to other instances is read from). ``banks.manage`` makes most changes; a review
decision that deconfirms an exchange's entry (``review/feedback.py``) makes one too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy import case as when

from redline.model import Bank, BankChange, BankEntry
from redline.store import counters


def touch_bank(
    connection: Connection,
    bank_id: int,
    now: datetime,
    change: str | None = None,
    entry_ids: Sequence[int] = (),
) -> int:
    """Record a change to a bank: its version and the global counter move on, and the change
    of each of ``entry_ids`` goes in the bank's change log; the new counter value.

    The log is written after the counter's row is updated, which holds that row until the
    commit: every change to any bank waits for the one before it to commit, so the log's ids
    are given out in commit order and a reader that has seen id N will never later find a
    smaller id appear (a feed's checkpoint never skips a change)."""
    connection.execute(
        update(Bank).where(Bank.id == bank_id).values(version=Bank.version + 1, updated_at=now)
    )
    version = counters.bump(connection, counters.BANKS)
    if change is not None and entry_ids:
        connection.execute(
            BankChange.__table__.insert(),
            [
                {"bank_id": bank_id, "entry_id": entry_id, "change": change, "at": now}
                for entry_id in entry_ids
            ],
        )
    return version


def write_entry_enabled(
    connection: Connection,
    entry_id: int,
    bank_id: int,
    enabled: bool,
    reason: str | None,
    now: datetime,
) -> None:
    """Enable or disable one entry (a disabled one never matches), keeping the reason for
    disabling it until it is enabled again; the caller audits it. Disabling settles a flood
    hold: enabled again, the entry's flood count starts from then."""
    values: dict[str, Any] = {"enabled": enabled, "disabled_reason": None if enabled else reason}
    if not enabled:
        held = BankEntry.held_at.is_not(None)
        values["released_at"] = when((held, now), else_=BankEntry.released_at)
        values["held_at"] = None
    connection.execute(update(BankEntry).where(BankEntry.id == entry_id).values(**values))
    touch_bank(connection, bank_id, now, "enable" if enabled else "disable", [entry_id])
