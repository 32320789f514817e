"""Secrets redline has to use again, sealed at rest: webhook signing secrets and exchange settings
(API tokens, passwords).

A password or an API token is kept only as its hash, because redline only compares it. These it
must send or sign with, so they are kept whole; with ``REDLINE_SECRET_KEY`` set they are sealed
(Fernet: AES-128-CBC and HMAC-SHA256, from the ``cryptography`` package) before they reach the
database, so a copy of the database or of a backup gives no one the platform's webhook secrets
or the organisation's ThreatExchange token. The columns do it themselves (``SealedText``,
``SealedJson``): every read and write of them goes through the same two functions.

A value written before a key was set stays readable as it is, and ``redline db seal-secrets``
seals it. To replace the key, the old one goes in ``REDLINE_SECRET_KEY_PREVIOUS`` beside the new
one: values sealed with either open, and ``seal-secrets`` seals them again with the new one.
Every process that reads them (web, workers, the CLI) needs the same key: one without it, or
with another, is told which setting is missing instead of sending an unsigned request.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from redline.config import get_settings
from redline.model.base import JsonDoc

PREFIX: Final = "sealed:v1:"
# What the key is derived for: another use of the same setting would derive another key.
_PURPOSE: Final = b"redline: secrets sealed at rest, v1"


class SecretUnavailable(RuntimeError):
    """A sealed secret this process cannot open: it has no ``REDLINE_SECRET_KEY``, or another."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    # The setting is a passphrase of 32 characters or more, not a Fernet key: HKDF makes the
    # 32 bytes Fernet wants from it (its entropy is the passphrase's).
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _key() -> Fernet | None:
    secret = get_settings().secret_key
    return _fernet(secret.get_secret_value()) if secret is not None else None


def _previous_key() -> Fernet | None:
    secret = get_settings().secret_key_previous
    return _fernet(secret.get_secret_value()) if secret is not None else None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(text: str) -> str:
    """``text`` sealed with this process's key; as it is when no key is set."""
    key = _key()
    if key is None or is_sealed(text):
        return text
    return PREFIX + key.encrypt(text.encode("utf-8")).decode("ascii")


def sealed_with_current_key(stored: str) -> bool:
    """Whether ``stored`` is sealed with REDLINE_SECRET_KEY itself (not with the previous key
    of a rotation, nor stored as it is)."""
    key = _key()
    if key is None or not is_sealed(stored):
        return False
    try:
        key.decrypt(stored[len(PREFIX) :].encode("ascii"))
    except InvalidToken:
        return False
    return True


def unseal(stored: str, what: str) -> str:
    """The text ``stored`` holds (``what`` names it in an error); a value stored before a key
    was set is returned as it is. During a key rotation, a value sealed with
    REDLINE_SECRET_KEY_PREVIOUS opens too, until `redline db seal-secrets` seals it again."""
    if not is_sealed(stored):
        return stored
    keys = [key for key in (_key(), _previous_key()) if key is not None]
    if not keys:
        raise SecretUnavailable(
            f"{what} is sealed with REDLINE_SECRET_KEY, which this process does not have:"
            " set the same key on every web and worker process"
        )
    token = stored[len(PREFIX) :].encode("ascii")
    for key in keys:
        try:
            return key.decrypt(token).decode("utf-8")
        except InvalidToken:
            continue
    raise SecretUnavailable(
        f"{what} was sealed with another REDLINE_SECRET_KEY than this process's (a key"
        " being replaced goes in REDLINE_SECRET_KEY_PREVIOUS until `redline db seal-secrets`"
        " has run)"
    )


def open_secret(stored: str) -> str:
    """A webhook subscription's secret as the column stores it, opened."""
    return unseal(stored, "a webhook subscription's secret")


def open_settings(stored: Any) -> dict[str, Any]:
    """An exchange's settings as the column stores them (a document, or one sealed string),
    opened."""
    if is_sealed(stored):
        opened: dict[str, Any] = json.loads(unseal(stored, "an exchange's settings"))
        return opened
    return stored  # type: ignore[no-any-return]


class SealedText(TypeDecorator[str]):
    """A text column sealed at rest (a webhook's signing secret)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else open_secret(value)


class SealedJson(TypeDecorator[dict[str, Any]]):
    """A JSON document sealed at rest as a whole (an exchange's settings: its URL beside its
    token). Sealed, the column holds one JSON string; unsealed, the document itself."""

    impl = JsonDoc
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        if value is None or _key() is None:
            return value
        return seal(json.dumps(value, sort_keys=True))

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else open_settings(value)
