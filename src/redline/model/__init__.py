"""SQLAlchemy ORM tables. Import from here; each table lives in exactly one module."""

from redline.model.audit import AuditEvent
from redline.model.banks import Bank, BankEntry, BankSignal, Counter
from redline.model.base import Base, utcnow
from redline.model.content import Item, ItemMedia, Media, Quarantine, Signal, Source, TextBody
from redline.model.matching import Case, Match, Score, TextScan

__all__ = [
    "AuditEvent",
    "Bank",
    "BankEntry",
    "BankSignal",
    "Base",
    "Case",
    "Counter",
    "Item",
    "ItemMedia",
    "Match",
    "Media",
    "Quarantine",
    "Score",
    "Signal",
    "Source",
    "TextBody",
    "TextScan",
    "utcnow",
]
