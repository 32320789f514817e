"""Ed25519 signatures of feed bodies: the publisher's key pair, signing the exact bytes it serves
and checking them on the subscriber's side.

The private key lives in the data directory (``exchange/feed-signing.key``, PKCS#8 PEM, mode
0600), made once by ``redline exchange key``; the public key is given to subscribers as
``ed25519:<base64 of its 32 bytes>``. The signature travels in the ``Redline-Signature`` header as
``ed25519:<base64 of its 64 bytes>``, over the body exactly as sent (no parsing before checking).
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redline.errors import Invalid
from redline.exchanges.base import ExchangeRefused

HEADER: Final = "Redline-Signature"
PREFIX: Final = "ed25519:"
KEY_FILE: Final = Path("exchange") / "feed-signing.key"


def key_path(data_dir: Path) -> Path:
    """Where this instance's feed signing key is kept."""
    return data_dir / KEY_FILE


def create_key(data_dir: Path) -> tuple[Ed25519PrivateKey, bool]:
    """This instance's signing key, made (readable by its owner only) when there is none yet;
    whether it was made now. An existing key is never replaced: subscribers hold its public
    half."""
    path = key_path(data_dir)
    if path.exists():
        return load_key(data_dir), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created with 0600 from the start (O_EXCL: two commands at once cannot both write one).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key, True


def load_key(data_dir: Path) -> Ed25519PrivateKey:
    """The signing key; FileNotFoundError when ``redline exchange key`` was never run."""
    key = serialization.load_pem_private_key(key_path(data_dir).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid(f"{key_path(data_dir)} is not an Ed25519 key")
    return key


def public_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A public key as subscribers are given it: ``ed25519:<base64>``."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public(text: str) -> Ed25519PublicKey:
    """A public key from its ``ed25519:<base64>`` form; Invalid when it is not one."""
    raw = _base64(text.strip(), 32)
    if raw is None:
        raise Invalid(f"not an Ed25519 public key: {text[:80]!r} (ed25519:<base64 of 32 bytes>)")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(key: Ed25519PrivateKey, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return PREFIX + base64.b64encode(key.sign(body)).decode("ascii")


def verify(public: Ed25519PublicKey, body: bytes, header: str | None) -> None:
    """Return when ``header`` is ``public``'s signature of exactly ``body``; ExchangeRefused
    saying which of unsigned, malformed or not matching it is otherwise."""
    if not header:
        raise ExchangeRefused(f"the feed is not signed (no {HEADER} header)")
    signature = _base64(header.strip(), 64)
    if signature is None:
        raise ExchangeRefused(f"the feed's {HEADER} header is not an Ed25519 signature")
    try:
        public.verify(signature, body)
    except InvalidSignature:
        raise ExchangeRefused(
            "the feed's signature does not match: altered on the way, or signed by another key"
            " than the publisher's"
        ) from None


def _base64(text: str, size: int) -> bytes | None:
    if not text.startswith(PREFIX):
        return None
    try:
        raw = base64.b64decode(text.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None
