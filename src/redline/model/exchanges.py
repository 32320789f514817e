"""Exchanges: hash lists another organisation shares, fetched into one of redline's banks.

An Exchange is one subscription (which exchange module, its settings, where it got to); an
ExchangeEntry ties an entry as the exchange names it to the bank entry it became, so a later
relabelling or removal reaches the same entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redline.model.base import Base, BigId, utcnow
from redline.model.sealed import SealedJson


class Exchange(Base):
    """One bank's subscription to an exchange, with its checkpoint and how its fetches went."""

    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # the module in redline.exchanges.EXCHANGES
    # The module's own (a URL, a token, a public key); sealed with REDLINE_SECRET_KEY when set.
    settings: Mapped[dict[str, Any]] = mapped_column(SealedJson)
    enabled: Mapped[bool] = mapped_column(default=True)
    # An untrusted exchange's entries never open a case on their own: their matches are kept
    # and shown beside a case another signal opened (pipeline/protect.py).
    trusted: Mapped[bool] = mapped_column(default=True)
    # A PDQ distance its entries must be within, tighter than the bank's (None: the bank's).
    pdq_threshold: Mapped[int | None]
    checkpoint: Mapped[str | None] = mapped_column(Text)  # None: from the beginning
    fetched_at: Mapped[datetime | None]  # the last fetch that was applied
    tried_at: Mapped[datetime | None]  # the last attempt, applied or refused
    last_error: Mapped[str | None] = mapped_column(Text)  # None after a fetch that was applied
    added: Mapped[int] = mapped_column(default=0)
    relabelled: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeEntry(Base):
    """The bank entry an exchange's entry became."""

    __tablename__ = "exchange_entries"
    __table_args__ = (UniqueConstraint("exchange_id", "remote_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("bank_entries.id", ondelete="CASCADE"), index=True
    )
