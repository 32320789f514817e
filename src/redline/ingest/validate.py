"""The checks every record passes before it is stored, whatever format it came from."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass

from redline.ingest.records import Record

# Indexed columns: 512 characters stay under PostgreSQL's btree entry limit in any script.
MAX_ID_CHARS = 512
MAX_ACCOUNT_CHARS = 512


class Invalid(ValueError):
    """Why a record cannot be stored."""


@dataclass(slots=True)
class CheckedText:
    """A record's text as it will be stored, and its SHA-256."""

    body: str | None
    sha256: str | None


def normalise_text(text: str | None) -> str | None:
    """Line endings unified, outer whitespace trimmed, Unicode NFC; empty becomes None.

    Re-posts differ in exactly these ways (a Windows client, a trailing space, a decomposed
    accent), and each must still be recognised as the same text.
    """
    if not text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text or None


def check_text(record: Record, max_bytes: int) -> CheckedText:
    """Validate the record's text and fields; Invalid names the first problem that refuses it.

    A bad optional field (account, display name, URL beside other content, metadata) is dropped
    from ``record`` with a warning in ``record.warnings`` instead.
    """
    body = normalise_text(record.text)
    digest = None
    if body is not None:
        if "\x00" in body:
            raise Invalid("text contains NUL characters (binary data in a text field?)")
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("text is not valid Unicode (an unpaired surrogate)") from None
        if len(data) > max_bytes:
            raise Invalid(
                f"text is {len(data):,} bytes, over the limit of {max_bytes:,} "
                "(REDLINE_MAX_FIELD_BYTES)"
            )
        digest = hashlib.sha256(data).hexdigest()
    if body is None and not record.media and not record.hashed_media and not record.url:
        raise Invalid("empty record: no text, media or URL")
    if record.external_id is not None:
        _check_field("id", record.external_id, MAX_ID_CHARS)
        if not record.external_id.strip():
            raise Invalid("empty id")
    # The fields below are optional: a bad one is dropped with a warning, the record kept.
    if record.account is not None and (
        problem := _field_problem("account", record.account, MAX_ACCOUNT_CHARS)
    ):
        record.account = None
        record.warnings.append(f"{problem} (field dropped)")
    if record.account_name is not None and (
        problem := _field_problem("account name", record.account_name, MAX_ACCOUNT_CHARS)
    ):
        record.account_name = None
        record.warnings.append(f"{problem} (field dropped)")
    if record.url is not None and (problem := _field_problem("url", record.url, max_bytes)):
        if body is None and not record.media and not record.hashed_media:
            raise Invalid(problem)  # the URL is all the record has
        record.url = None
        record.warnings.append(f"{problem} (field dropped)")
    if record.extra and (problem := _extra_problem(record.extra, max_bytes)):
        record.extra = None
        record.warnings.append(f"{problem} (field dropped)")
    return CheckedText(body, digest)


def _field_problem(name: str, value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"{name} is {len(value):,} characters, over the limit of {limit:,}"
    if "\x00" in value:
        return f"{name} contains NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{name} is not valid Unicode (an unpaired surrogate)"
    return None


def _check_field(name: str, value: str, limit: int) -> None:
    problem = _field_problem(name, value, limit)
    if problem is not None:
        raise Invalid(problem)


def _extra_problem(extra: dict[str, object], max_bytes: int) -> str | None:
    encoded = json.dumps(extra, ensure_ascii=False, default=str)
    if "\\u0000" in encoded:
        return "metadata contains NUL characters"
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:
        return "metadata is not valid Unicode (an unpaired surrogate)"
    if len(encoded) > max_bytes:
        return f"metadata is {len(encoded):,} characters, over the limit of {max_bytes:,}"
    return None


def content_sha256(text_sha256: str | None, media_sha256s: list[str], url: str | None) -> str:
    """What the record says, as one hash: its text, its media files and its URL.

    A text-only record's content hash is its text hash, so the common case hashes once.
    """
    if not media_sha256s and url is None and text_sha256 is not None:
        return text_sha256
    parts = ["text", text_sha256 or "", "media", *media_sha256s, "url", url or ""]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
