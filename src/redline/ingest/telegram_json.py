"""Telegram Desktop "Export chat history" JSON (``result.json``), single chat or full export.

A message's ``text`` is a string or a list of plain strings and entity objects
(``{"type": "bold", "text": "..."}``, ``{"type": "text_link", "text": "...", "href": "..."}``).
The flat text is stored as the item's text and the entities, with their offsets into it, in the
item's extra metadata, so nothing of the formatting or the hidden link targets is lost. Photos and
files are paths relative to the export folder and become Media.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redline.ingest.jsonl import json_error
from redline.ingest.records import MediaFile, Read, ReadContext, Record, Rejection, Skipped
from redline.ingest.times import BadTime, parse_time

RESULT_FILE = "result.json"
# Telegram writes these instead of a path when the export left the file out.
_NOT_EXPORTED = ("(File not included", "(File exceeds maximum size")
_MEDIA_FIELDS = ("photo", "file")
_EXTRA_FIELDS = ("forwarded_from", "reply_to_message_id", "edited", "via_bot", "media_type",
                 "mime_type", "duration_seconds", "sticker_emoji", "author",
                 "saved_from")  # fmt: skip


class BadMessage(ValueError):
    """A message object that does not look like Telegram's."""


def flatten_text(text: Any) -> tuple[str, list[dict[str, Any]]]:
    """Flat text and the entities in it (type, text, offset, plus href/user_id when given)."""
    if isinstance(text, str):
        return text, []
    if not isinstance(text, list):
        raise BadMessage(f"'text' must be a string or a list, got {type(text).__name__}")
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    offset = 0
    for part in text:
        if isinstance(part, str):
            piece = part
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            piece = part["text"]
            entity = {"type": str(part.get("type", "plain")), "text": piece, "offset": offset}
            for key in ("href", "user_id", "language", "document_id"):
                if key in part:
                    entity[key] = part[key]
            entities.append(entity)
        else:
            raise BadMessage("a 'text' entity has no text")
        parts.append(piece)
        offset += len(piece)
    return "".join(parts), entities


def _posted_at(message: dict[str, Any]) -> datetime | None:
    # date_unixtime is UTC; "date" is the exporting computer's local time, with no offset.
    unix = message.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (TypeError, ValueError, OverflowError) as error:
            raise BadMessage(f"bad date_unixtime {unix!r}") from error
    date = message.get("date")
    if date is None:
        return None
    if not isinstance(date, str):
        raise BadMessage("'date' must be a string")
    try:
        return parse_time(date)
    except BadTime as error:
        raise BadMessage(str(error)) from error


def _chats(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        return [document]
    chats = document.get("chats") if isinstance(document, dict) else None
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return [c for c in chats["list"] if isinstance(c, dict)]
    raise BadMessage("no 'messages' list and no 'chats' list: not a Telegram export")


def message_record(
    message: Any, chat: dict[str, Any], export_dir: Path, file: str, location: str
) -> Record | Skipped:
    """One message as a Record (service messages are Skipped); BadMessage says what is wrong."""
    raw = json.dumps(message).encode("ascii")  # \u-escapes keep even lone surrogates
    if not isinstance(message, dict):
        raise BadMessage(f"a message must be an object, got {type(message).__name__}")
    if message.get("type", "message") != "message":
        return Skipped(file, location, f"{message.get('type')} message")
    message_id = message.get("id")
    if isinstance(message_id, bool) or not isinstance(message_id, int | str):
        raise BadMessage("message has no 'id'")
    text, entities = flatten_text(message.get("text", ""))
    media: list[MediaFile] = []
    not_exported: list[str] = []
    for key in _MEDIA_FIELDS:
        value = message.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadMessage(f"'{key}' must be a path")
        if value.startswith(_NOT_EXPORTED):
            not_exported.append(key)
        else:
            media.append(MediaFile(export_dir / value, value))
    extra: dict[str, Any] = {k: message[k] for k in _EXTRA_FIELDS if k in message}
    if entities:
        extra["entities"] = entities
    if not_exported:
        extra["media_not_exported"] = not_exported
    chat_name = chat.get("name")
    if chat_name is not None:
        extra["chat"] = chat_name
    chat_id = chat.get("id")
    external_id = f"{chat_id}/{message_id}" if chat_id is not None else str(message_id)
    from_name = message.get("from")
    from_id = message.get("from_id")
    return Record(
        external_id=external_id,
        file=file,
        location=location,
        raw=raw,
        text=text,
        account=str(from_id) if from_id is not None else None,
        account_name=str(from_name) if from_name is not None else None,
        posted_at=_posted_at(message),
        media=media,
        extra=extra or None,
        encoding="utf-8",
    )


class TelegramJson:
    """A Telegram Desktop export: the folder holding result.json, or result.json itself."""

    name = "telegram-json"
    description = "Telegram Desktop 'Export chat history' JSON (result.json and its media folders)"

    def sniff(self, path: Path) -> bool:
        result = path / RESULT_FILE if path.is_dir() else path
        if not (result.is_file() and result.suffix.lower() == ".json"):
            return False
        with result.open("rb") as stream:
            head = stream.read(65536)
        return b'"messages"' in head or b'"chats"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        result = path / RESULT_FILE if path.is_dir() else path
        display = str(result)
        with ctx.open(result) as stream:
            data = stream.read()
        try:
            document = json.loads(data.decode("utf-8"))
            chats = _chats(document)
        except UnicodeDecodeError as error:
            reason = f"not UTF-8 (Telegram exports are): bad byte at offset {error.start}"
            yield Rejection(display, "whole file", reason, data)
            return
        except json.JSONDecodeError as error:
            reason = f"{json_error(error)}, line {error.lineno} (truncated export?)"
            yield Rejection(display, "whole file", reason, data)
            return
        except BadMessage as error:
            yield Rejection(display, "whole file", str(error), data)
            return
        for chat_index, chat in enumerate(chats):
            messages = chat.get("messages")
            if not isinstance(messages, list):
                continue
            prefix = f"chat {chat_index + 1} " if len(chats) > 1 else ""
            for index, message in enumerate(messages):
                ident = message.get("id") if isinstance(message, dict) else None
                location = f"{prefix}message {index + 1}" + (f" (id {ident})" if ident else "")
                try:
                    yield message_record(message, chat, result.parent, display, location)
                except BadMessage as error:
                    raw = json.dumps(message).encode("ascii")
                    yield Rejection(display, location, str(error), raw)
