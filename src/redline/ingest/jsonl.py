"""JSON Lines: one JSON object per line. Schema (all optional, but one of text, media or url):

``id``        the record's id in its source (string or integer); without it the record is named
              by its content hash
``text``      the post's text
``time``      when it was posted: ISO 8601, or epoch seconds (also read from ``posted_at``,
              ``created_at``, ``date``); times without an offset are UTC
``account``   the account that posted it, as the source names it (also ``username``,
              ``screen_name``); ``account_name`` its display name (also ``name``)
``url``       where it was posted
``media``     list of media file paths, relative to the JSONL file's folder (and inside it); an
              entry may instead be an object of the hashes the platform computed itself,
              ``{"pdq": hex, "md5": hex, "sha256": hex, "vpdq": ...}`` (any of them; PDQ may
              come with ``"pdq_quality"``), for media it does not send
anything else is kept as the item's extra metadata. A record with an unreadable optional field
(time, account, url, media) is stored without it, with a warning in its metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redline import jsontext
from redline.ingest.records import MediaFile, Read, ReadContext, Record, Rejection
from redline.ingest.times import BadTime, parse_time
from redline.signals import MATCHED, SCANNED

_ALIASES = {
    "id": "id",
    "external_id": "id",
    "text": "text",
    "time": "time",
    "posted_at": "time",
    "created_at": "time",
    "date": "time",
    "account": "account",
    "username": "account",
    "screen_name": "account",
    "account_name": "account_name",
    "name": "account_name",
    "url": "url",
    "media": "media",
}


class BadRecord(ValueError):
    """A JSON object that does not fit the schema."""


def _string(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRecord(f"field {key!r} must be a string, got {type(value).__name__}")
    return str(value)


def record_from_object(obj: Any, *, base_dir: Path, file: str, location: str, raw: bytes) -> Record:
    """A Record from one JSON object of the documented schema; BadRecord says what is wrong."""
    if not isinstance(obj, dict):
        raise BadRecord(f"expected a JSON object, got {type(obj).__name__}")
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        canonical = _ALIASES.get(key)
        if canonical is None or canonical in fields:
            extra[key] = value
        else:
            fields[canonical] = value
    warnings: list[str] = []

    def optional(key: str, read: Callable[[Any], Any]) -> Any:
        try:
            return read(fields.get(key))
        except BadRecord as error:
            warnings.append(f"{error} (field dropped)")
            return None

    hashed: list[dict[str, str]] = []
    if isinstance(fields.get("media"), list):
        listed = fields["media"]
        hashed = [_hashes(number, m) for number, m in enumerate(listed, 1) if isinstance(m, dict)]
        fields["media"] = [m for m in listed if not isinstance(m, dict)] or None
    text = fields.get("text")
    if text is not None and not isinstance(text, str):
        raise BadRecord(f"field 'text' must be a string, got {type(text).__name__}")
    return Record(
        external_id=_string("id", fields.get("id")),
        file=file,
        location=location,
        raw=raw,
        text=text,
        account=optional("account", lambda v: _string("account", v)),
        account_name=optional("account_name", lambda v: _string("account_name", v)),
        posted_at=optional("time", _time),
        url=optional("url", lambda v: _string("url", v)),
        media=[MediaFile(base_dir, m) for m in optional("media", _media) or []],
        hashed_media=hashed,
        extra=extra or None,
        encoding="utf-8",
        warnings=warnings,
    )


# A media entry of hashes has a field per matched signal type, named as the type is.
HASH_FIELDS = tuple(cls.name for cls in MATCHED)
PDQ_QUALITY = "pdq_quality"


def _hashes(number: int, value: dict[str, Any]) -> dict[str, str]:
    """A media entry of hashes, as text; the values are checked when the record is validated.

    A record whose hashes cannot be read is refused whole: unlike a missing optional field,
    dropping them would store the record without the media it is about."""
    unknown = sorted(set(value) - {*HASH_FIELDS, PDQ_QUALITY})
    if unknown:
        raise BadRecord(
            f"media {number}: unknown hash {unknown[0]!r} (hashes: {', '.join(HASH_FIELDS)})"
        )
    if not set(value) & set(HASH_FIELDS):
        raise BadRecord(f"media {number}: no hash (give any of {', '.join(HASH_FIELDS)})")
    hashes: dict[str, str] = {}
    for key, hashed in value.items():
        if key == SCANNED["video"].name and isinstance(hashed, list):
            hashed = json.dumps(hashed)  # vPDQ's frames, sent as the array they are
        elif key == PDQ_QUALITY and isinstance(hashed, int) and not isinstance(hashed, bool):
            hashed = str(hashed)
        if not isinstance(hashed, str):
            raise BadRecord(f"media {number}: {key} must be a string, got {type(hashed).__name__}")
        hashes[key] = hashed
    return hashes


def _media(value: Any) -> list[str]:
    media = value or []
    if isinstance(media, str):
        media = [media]
    if not isinstance(media, list) or not all(isinstance(m, str) and m for m in media):
        raise BadRecord("field 'media' must be a list of file paths")
    return media


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord("field 'time' must be a string or a number")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise BadRecord(f"field 'time': {value} is not a valid epoch time") from error
    if not isinstance(value, str):
        raise BadRecord("field 'time' must be a string or a number")
    try:
        return parse_time(value)
    except BadTime as error:
        raise BadRecord(f"field 'time': {error}") from error


def json_error(error: json.JSONDecodeError) -> str:
    """A one-line description of where JSON parsing failed."""
    return f"not valid JSON: {error.msg.removesuffix(' at')} at column {error.colno}"


class Jsonl:
    """One JSON object per line (the schema is in this module's docstring)."""

    name = "jsonl"
    description = "JSON Lines, one object per line: id, text, time, account, url, media, ..."

    def sniff(self, path: Path) -> bool:
        if not path.is_file():
            return False
        if path.suffix.lower() in {".jsonl", ".ndjson"}:
            return True
        with path.open("rb") as stream:
            for line in stream:
                if line.strip():
                    return line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}")
        return False

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        display = str(path)
        with ctx.open(path) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                location = f"line {number}"
                if len(raw) > ctx.max_field_bytes * 2:
                    reason = f"line is {len(raw):,} bytes, over the limit (REDLINE_MAX_FIELD_BYTES)"
                    yield Rejection(display, location, reason, raw)
                    continue
                try:
                    line = raw.rstrip(b"\r\n").decode("utf-8")
                except UnicodeDecodeError as error:
                    reason = f"not UTF-8 (JSON must be): bad byte at offset {error.start}"
                    yield Rejection(display, location, reason, raw)
                    continue
                try:
                    obj = jsontext.loads(line)
                    yield record_from_object(
                        obj, base_dir=path.parent, file=display, location=location, raw=raw
                    )
                except json.JSONDecodeError as error:
                    yield Rejection(display, location, json_error(error), raw)
                except BadRecord as error:
                    yield Rejection(display, location, str(error), raw)
