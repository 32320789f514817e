"""Feed signatures: the publisher's key made once and owner-only, and a subscriber that refuses
a page unsigned, signed by another key, altered, or replayed from an older checkpoint."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redline.errors import Invalid
from redline.exchanges import federation, signing
from redline.exchanges.base import ExchangeRefused


def page(after: int = 0, checkpoint: int = 3, bank: str = "shared") -> bytes:
    return json.dumps(
        {
            "format": federation.FORMAT,
            "organisation": "Example Trust & Safety",
            "bank": bank,
            "after": after,
            "checkpoint": checkpoint,
            "more": False,
            "added": [{"id": 1, "signals": {"md5": ["0" * 32]}, "category": "x", "tags": None}],
            "relabelled": [],
            "removed": [2],
        }
    ).encode()


def test_the_key_is_made_once_owner_only_and_its_public_half_reads_back(tmp_path: Path) -> None:
    key, made = signing.create_key(tmp_path)
    assert made
    path = signing.key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, made_again = signing.create_key(tmp_path)
    assert not made_again  # never replaced: subscribers hold its public half
    public = signing.public_text(key)
    assert signing.public_text(again) == public and public.startswith("ed25519:")
    body = page()
    signing.verify(signing.parse_public(public), body, signing.sign(again, body))


def test_a_signed_page_is_read() -> None:
    key = Ed25519PrivateKey.generate()
    body = page()
    read = federation.read_page(
        body, signing.sign(key, body), key.public_key(), bank="shared", after=0
    )
    assert read["checkpoint"] == 3 and read["removed"] == [2]


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("unsigned", "not signed"),
        ("garbled signature", "not an Ed25519 signature"),
        ("other key", "does not match"),
        ("one byte altered", "does not match"),
        ("replayed older page", "older page replayed"),
        ("another bank's page", "not the one subscribed to"),
    ],
)
def test_a_page_that_is_not_the_publishers_answer_is_refused(how: str, reason: str) -> None:
    key = Ed25519PrivateKey.generate()
    body, after = page(), 0
    signature: str | None = signing.sign(key, body)
    if how == "unsigned":
        signature = None
    elif how == "garbled signature":
        signature = "ed25519:bm90IGEgc2lnbmF0dXJl"
    elif how == "other key":
        signature = signing.sign(Ed25519PrivateKey.generate(), body)
    elif how == "one byte altered":
        at = body.index(b'"category": "x"') + len(b'"category": "')
        body = body[:at] + b"y" + body[at + 1 :]
    elif how == "replayed older page":
        after = 3  # the subscriber is past it: a correctly signed page from before
    elif how == "another bank's page":
        body = page(bank="other")
        signature = signing.sign(key, body)
    with pytest.raises(ExchangeRefused, match=reason):
        federation.read_page(body, signature, key.public_key(), bank="shared", after=after)


def test_a_public_key_must_be_one() -> None:
    for bad in ("", "ed25519:", "ed25519:AAAA", "rsa:" + "A" * 44, "ed25519:" + "!" * 44):
        with pytest.raises(Invalid, match="not an Ed25519 public key"):
            signing.parse_public(bad)
