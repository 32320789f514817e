"""A signed hash list: any organisation's list of hashes and labels, published as one JSON file
beside a detached Ed25519 signature, fetched whole and read only when the signature is theirs.

For a publisher that runs no redline and no API: an NGO or a partner platform puts two files on
any web server (or hands them over on a disk), and a subscriber who has their public key reads
the list into a bank. The list::

    {"format": "redline-signed-list/1",
     "organisation": "Example NGO",
     "entries": [
       {"id": "e1", "signals": {"pdq": ["f8f8..."], "md5": ["..."]},
        "labels": ["glorification_of_terrorist_acts"]},
       {"id": "e2", "signals": {"pdq": ["..."]}, "deleted": true}]}

and its signature, in the file named like it with ``.sig`` added (``list.json.sig``), is
``ed25519:`` and the base64 of the Ed25519 signature of the list file's exact bytes, as
``redline exchange key``'s key signs a redline feed. An entry stays listed to be withdrawn
(``"deleted": true``, as ThreatExchange and TAT withdraw theirs): the list is read whole, and an
entry only missing from it might be a publisher's mistake. The checkpoint is the list's SHA-256,
so an unchanged list is not read again. Hashes of a type redline has no signal for (TMK, say)
are left out and counted, as every exchange does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, TypeGuard
from urllib.parse import urlsplit

from redline.errors import Invalid
from redline.exchanges import signing
from redline.exchanges.base import Batch, ExchangeRefused, SharedEntry
from redline.exchanges.fetching import request_bytes
from redline.exchanges.labels import travelled
from redline.signals import BANKABLE

FORMAT: Final = "redline-signed-list/1"
SIGNATURE_SUFFIX: Final = ".sig"
MAX_FILE: Final = 200_000_000
MAX_ID: Final = 200
_SETTINGS: Final = frozenset({"url", "path", "public_key", "allow_private"})


class SignedList:
    """A signed hash list. Settings: ``url`` (``allow_private`` for a private address) or
    ``path`` (a file on this machine), and the publisher's ``public_key``
    (``ed25519:<base64>``); the signature is read from the same place with ``.sig`` added."""

    name: ClassVar[str] = "signed-list"
    description: ClassVar[str] = "a hash list file signed with its publisher's Ed25519 key"
    secret_settings: ClassVar[frozenset[str]] = frozenset()

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings as stored; Invalid naming what is missing or wrong."""
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise Invalid(f"unknown settings for a signed list: {', '.join(sorted(unknown))}")
        url = str(settings.get("url") or "").strip()
        path = str(settings.get("path") or "").strip()
        if bool(url) == bool(path):
            raise Invalid("a signed list is read from a url or from a path (one of them)")
        key = str(settings.get("public_key") or "").strip()
        signing.parse_public(key)  # Invalid when it is not an Ed25519 public key
        if path:
            if not Path(path).is_absolute():
                raise Invalid(f"path must be absolute, not {path!r}")
            return {"path": path, "public_key": key}
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
            raise Invalid(f"url must be http(s)://host/..., not {url!r}")
        return {
            "url": url,
            "public_key": key,
            "allow_private": bool(settings.get("allow_private", False)),
        }

    def fetch(self, settings: Mapping[str, Any], checkpoint: str | None) -> Batch:
        """The whole list, when it changed since ``checkpoint`` and its signature is the
        publisher's; ExchangeRefused otherwise, before anything of it is read."""
        body, signature = _read(settings)
        if not signature.strip():
            raise ExchangeRefused(
                f"the signed list has no signature (its {SIGNATURE_SUFFIX} is empty)"
            )
        signing.verify(signing.parse_public(str(settings["public_key"])), body, signature)
        digest = hashlib.sha256(body).hexdigest()
        if digest == checkpoint:
            return Batch(checkpoint=digest)
        return _batch(body, digest)


def _read(settings: Mapping[str, Any]) -> tuple[bytes, str]:
    """The list's bytes and its signature's text, from the url or the path."""
    if settings.get("path"):
        path = Path(str(settings["path"]))
        beside = path.with_name(path.name + SIGNATURE_SUFFIX)
        try:
            if path.stat().st_size > MAX_FILE:
                raise ExchangeRefused(f"{path.name} is larger than {MAX_FILE:,} bytes")
            body = path.read_bytes()
        except OSError as error:
            raise ExchangeRefused(f"reading {path.name} failed: {error.strerror}") from None
        try:
            text = beside.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            raise ExchangeRefused(f"the signed list is not signed: no {beside.name}") from None
        except OSError as error:
            raise ExchangeRefused(f"reading {beside.name} failed: {error.strerror}") from None
        return body, text
    url = str(settings["url"])
    private = bool(settings.get("allow_private", False))
    body = request_bytes(url, what="the signed list", allow_private=private)
    signed = request_bytes(
        url + SIGNATURE_SUFFIX, what="the signed list's signature", allow_private=private
    )
    return body, signed.decode("ascii", errors="replace")


def problem(body: bytes) -> str | None:
    """Why subscribers would refuse the list ``body`` (None: they would read it), so that a
    publisher does not sign one."""
    try:
        _batch(body, "")
    except ExchangeRefused as error:
        return str(error)
    return None


def _batch(body: bytes, checkpoint: str) -> Batch:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ExchangeRefused("the signed list is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExchangeRefused(f"the signed list is not a {FORMAT} document")
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise ExchangeRefused("the signed list has no list of entries")
    organisation = document.get("organisation")
    source = organisation if isinstance(organisation, str) and organisation.strip() else None
    batch = Batch(checkpoint=checkpoint, organisation=source[:200] if source else None)
    seen: set[str] = set()
    for n, raw in enumerate(entries, start=1):
        where = f"the signed list's entry {n}"
        if not isinstance(raw, dict):
            raise ExchangeRefused(f"{where} is not an object")
        remote_id = raw.get("id")
        if not isinstance(remote_id, str) or not remote_id.strip() or len(remote_id) > MAX_ID:
            raise ExchangeRefused(f"{where} has no id (a string of at most {MAX_ID} characters)")
        if remote_id in seen:
            raise ExchangeRefused(f"{where} repeats the id {remote_id!r}")
        seen.add(remote_id)
        if raw.get("deleted", False) is True:
            batch.removed.append(remote_id)
            continue
        signals = raw.get("signals")
        if not _signals(signals):
            raise ExchangeRefused(f"{where} (id {remote_id!r}) has no signals: type -> [hashes]")
        labels = raw.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ExchangeRefused(f"{where} (id {remote_id!r}) has labels that are not strings")
        usable = {kind: values for kind, values in signals.items() if kind in BANKABLE}
        for kind in signals.keys() - usable.keys():
            reason = f"signal type {kind[:40]} (no redline signal)"
            batch.skipped[reason] = batch.skipped.get(reason, 0) + 1
        if not usable:
            continue
        category, tags = travelled(source or "list", labels)
        batch.added.append(SharedEntry(remote_id, usable, category, tags, source))
    return batch


def _signals(signals: object) -> TypeGuard[dict[str, list[str]]]:
    """Whether ``signals`` is a non-empty map of signal type to a non-empty list of hashes (each
    hash is checked by its signal type when the entry is stored)."""
    return (
        isinstance(signals, dict)
        and bool(signals)
        and all(
            isinstance(kind, str)
            and isinstance(values, list)
            and bool(values)
            and all(isinstance(value, str) for value in values)
            for kind, values in signals.items()
        )
    )
