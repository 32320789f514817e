"""SQLAlchemy ORM tables. Import from here; each table lives in exactly one module."""

from redline.model.actions import (
    Complaint,
    HostingService,
    Notice,
    Notification,
    Preservation,
    Referral,
    RemovalOrder,
    RemovalOrderUrl,
    UrlCheck,
)
from redline.model.audit import AuditChainHead, AuditEvent
from redline.model.banks import (
    Bank,
    BankChange,
    BankEntry,
    BankSignal,
    Counter,
    EntryFeedback,
    FalsePositiveReport,
)
from redline.model.base import Base, utcnow
from redline.model.content import Item, ItemMedia, Media, Quarantine, Signal, Source, TextBody
from redline.model.exchanges import Exchange, ExchangeEntry
from redline.model.matching import Case, Match, Score, TextScan
from redline.model.review import (
    ApiToken,
    Decision,
    Designation,
    OrganisationSettings,
    RateCounter,
    User,
    UserSession,
)
from redline.model.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Bank",
    "BankChange",
    "BankEntry",
    "BankSignal",
    "Base",
    "Case",
    "Complaint",
    "Counter",
    "Decision",
    "Designation",
    "EntryFeedback",
    "Exchange",
    "ExchangeEntry",
    "FalsePositiveReport",
    "HostingService",
    "Item",
    "ItemMedia",
    "Match",
    "Media",
    "Notice",
    "Notification",
    "OrganisationSettings",
    "Preservation",
    "Quarantine",
    "RateCounter",
    "Referral",
    "RemovalOrder",
    "RemovalOrderUrl",
    "Score",
    "Signal",
    "Source",
    "TextBody",
    "TextScan",
    "UrlCheck",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
