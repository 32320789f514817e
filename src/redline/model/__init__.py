"""SQLAlchemy ORM tables. Import from here; each table lives in exactly one module."""

from redline.model.audit import AuditEvent
from redline.model.base import Base, utcnow
from redline.model.content import Item, ItemMedia, Media, Quarantine, Signal, Source, TextBody

__all__ = [
    "AuditEvent",
    "Base",
    "Item",
    "ItemMedia",
    "Media",
    "Quarantine",
    "Signal",
    "Source",
    "TextBody",
    "utcnow",
]
