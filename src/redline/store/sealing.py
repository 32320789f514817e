"""Sealing the secrets stored before ``REDLINE_SECRET_KEY`` was set (``redline db
seal-secrets``); the columns seal every value written after it themselves (``model.sealed``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Text, select, type_coerce, update

from redline.model import Exchange, WebhookSubscription
from redline.model.base import JsonDoc
from redline.model.sealed import (
    PREFIX,
    is_sealed,
    open_secret,
    open_settings,
    sealed_with_current_key,
)


@dataclass(slots=True)
class SealedNow:
    """How many stored secrets a run sealed, and how many were sealed already."""

    webhook_secrets: int = 0
    exchange_settings: int = 0
    already_sealed: int = 0  # with REDLINE_SECRET_KEY itself

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def seal_stored(connection: Connection) -> SealedNow:
    """Seal every webhook secret and exchange's settings still stored as they are, or sealed
    with REDLINE_SECRET_KEY_PREVIOUS (a key rotation), with REDLINE_SECRET_KEY, in the
    caller's transaction. The caller has checked that a key is set: without one the columns
    would write the values back as they are."""
    done = SealedNow()
    # Read as stored (type_coerce skips the columns' own unsealing), written through them.
    secrets = connection.execute(
        select(WebhookSubscription.id, type_coerce(WebhookSubscription.secret, Text))
    ).all()
    for subscription_id, stored in secrets:
        if sealed_with_current_key(stored):
            done.already_sealed += 1
            continue
        connection.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id)
            .values(secret=open_secret(stored))
        )
        done.webhook_secrets += 1
    exchanges = connection.execute(
        select(Exchange.id, type_coerce(Exchange.settings, JsonDoc))
    ).all()
    for exchange_id, document in exchanges:
        if is_sealed(document) and sealed_with_current_key(str(document)):
            done.already_sealed += 1
            continue
        connection.execute(
            update(Exchange)
            .where(Exchange.id == exchange_id)
            .values(settings=open_settings(document))
        )
        done.exchange_settings += 1
    return done


def check_key(connection: Connection) -> None:
    """Raise ``SecretUnavailable`` when the database holds a secret sealed with a key this process
    does not have: a web or worker process started without REDLINE_SECRET_KEY, or with another,
    stops at start-up saying so, instead of failing at its first webhook or exchange fetch."""
    sealed = connection.scalar(
        select(type_coerce(WebhookSubscription.secret, Text))
        .where(type_coerce(WebhookSubscription.secret, Text).startswith(PREFIX))
        .limit(1)
    )
    if sealed is not None:
        open_secret(sealed)
    for (document,) in connection.execute(select(type_coerce(Exchange.settings, JsonDoc))):
        if is_sealed(document):
            open_settings(document)
            return
