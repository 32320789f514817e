"""Telegram Desktop "Export chat history" JSON (``result.json``), single chat or full export.

A message's ``text`` is a string or a list of plain strings and entity objects
(``{"type": "bold", "text": "..."}``, ``{"type": "text_link", "text": "...", "href": "..."}``).
The flat text is stored as the item's text and the entities, with their offsets into it, in the
item's extra metadata, so nothing of the formatting or the hidden link targets is lost. Photos and
files are paths relative to the export folder (and must lie inside it) and become Media.

Exports run to gigabytes, and some arrive cut short. The file is read as a stream: each message is
parsed on its own by the standard library's C decoder at an exact position in the text, so memory
holds one chunk and one message, every complete message before a cut is kept, and what cannot be
read is quarantined with the byte offset it starts at.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from redline import jsontext
from redline.ingest.confinement import storable_text
from redline.ingest.records import MediaFile, Read, ReadContext, Record, Rejection, Skipped
from redline.ingest.times import BadTime, parse_time

RESULT_FILE = "result.json"
# Telegram writes these instead of a path when the export left the file out.
_NOT_EXPORTED = ("(File not included", "(File exceeds maximum size")
_MEDIA_FIELDS = ("photo", "file")
_CHAT_FIELDS = ("name", "type", "id")
_CHUNK = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_DECODER = jsontext.DECODER
_EXTRA_FIELDS = (
    "forwarded_from",
    "reply_to_message_id",
    "edited",
    "via_bot",
    "media_type",
    "mime_type",
    "duration_seconds",
    "sticker_emoji",
    "author",
    "saved_from",
)


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


def _posted_at(message: dict[str, Any], warnings: list[str]) -> datetime | None:
    # date_unixtime is UTC; "date" is the exporting computer's local time, with no offset.
    unix = message.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            warnings.append(f"bad date_unixtime {unix!r} (field dropped)")
    date = message.get("date")
    if date is None:
        return None
    try:
        if not isinstance(date, str):
            raise BadTime("'date' must be a string")
        return parse_time(date)
    except BadTime as error:
        warnings.append(f"{error} (field dropped)")
        return None


def message_record(
    message: Any, chat: dict[str, Any], export_dir: Path, file: str, location: str, raw: bytes
) -> Record | Skipped:
    """One message as a Record (service messages are Skipped); BadMessage says what is wrong.

    The id and the text are the message; anything else that cannot be read is dropped from the
    record with a warning.
    """
    if not isinstance(message, dict):
        raise BadMessage(f"a message must be an object, got {type(message).__name__}")
    if message.get("type", "message") != "message":
        return Skipped(file, location, f"{message.get('type')} message")
    message_id = message.get("id")
    if isinstance(message_id, bool) or not isinstance(message_id, int | str):
        raise BadMessage("message has no 'id'")
    text, entities = flatten_text(message.get("text", ""))
    warnings: list[str] = []
    media: list[MediaFile] = []
    not_exported: list[str] = []
    for key in _MEDIA_FIELDS:
        value = message.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            warnings.append(f"'{key}' must be a path (field dropped)")
        elif value.startswith(_NOT_EXPORTED):
            not_exported.append(key)
        else:
            media.append(MediaFile(export_dir, value))
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
        posted_at=_posted_at(message, warnings),
        media=media,
        extra=extra or None,
        encoding="utf-8",
        warnings=warnings,
    )


class _Unreadable(ValueError):
    """The export cannot be read from ``offset`` (a character position, or ``byte_offset``) on."""

    def __init__(self, reason: str, offset: int, byte_offset: int | None = None) -> None:
        super().__init__(reason)
        self.offset = offset
        self.byte_offset = byte_offset


class _TooLong(_Unreadable):
    """A value longer than a message can be: it is passed over, not parsed."""


class _JsonStream:
    """A JSON text read a chunk at a time, walked value by value at exact positions.

    ``text`` holds what is read but not yet consumed; values are parsed with the C decoder's
    ``raw_decode``. Bytes that are not UTF-8 become lone surrogates (surrogateescape), so a bad
    byte spoils the one message it is in, and positions map back to byte offsets exactly.
    """

    def __init__(self, stream: IO[bytes], max_value_chars: int) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._max_value = max_value_chars
        self.text = ""
        self.pos = 0
        self._base = 0  # byte offset of text[0]
        self._eof = False
        self._fill(_CHUNK)
        if self.text.startswith("\ufeff"):
            self.pos = 1

    def _fill(self, size: int) -> bool:
        """Read at least ``size`` more bytes (unless the file ends); False at the end."""
        if self._eof:
            return False
        data = self._stream.read(max(size, _CHUNK))
        if not data:
            self._eof = True
            self.text += self._decoder.decode(b"", final=True)
            return False
        self.text += self._decoder.decode(data)
        return True

    @property
    def at_end(self) -> bool:
        """Whether the whole file has been read."""
        return self._eof

    def byte_offset(self, pos: int) -> int:
        """Where character ``pos`` of ``text`` starts in the file."""
        return self._base + len(self.text[:pos].encode("utf-8", "surrogateescape"))

    def raw(self, start: int, end: int) -> bytes:
        """The file's bytes behind ``text[start:end]``."""
        return self.text[start:end].encode("utf-8", "surrogateescape")

    def compact(self) -> None:
        """Forget the consumed text (between values, where nothing refers back into it)."""
        if self.pos > _CHUNK:
            self._base = self.byte_offset(self.pos)
            self.text = self.text[self.pos :]
            self.pos = 0

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end of the file)."""
        while True:
            match = _WHITESPACE.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._fill(_CHUNK):
                return ""

    def expect(self, char: str) -> None:
        """Consume ``char``, the next character that is not whitespace."""
        found = self.peek()
        if found != char:
            what = repr(found) if found else "the end of the file"
            raise _Unreadable(f"expected {char!r}, found {what}", self.pos)
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value, parsed whole (one message, one string, one chat's name)."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if self._eof or not self._incomplete(error):
                    raise _Unreadable(f"not valid JSON: {error.msg}", self.pos) from None
            except RecursionError:
                raise _Unreadable("nested too deeply", self.pos) from None
            else:
                # A value touching the end of what was read may go on (a number cut in two).
                if end < len(self.text) or self._eof:
                    self.pos = end
                    return value
            if len(self.text) - self.pos > self._max_value:
                raise _TooLong(f"over {self._max_value:,} characters", self.pos)
            # Reading as much again as is held keeps re-parsing a long value linear overall.
            self._fill(len(self.text) - self.pos)

    def _incomplete(self, error: json.JSONDecodeError) -> bool:
        return error.msg.startswith("Unterminated string") or error.pos >= len(self.text) - 6

    def members(self) -> Iterator[str]:
        """The keys of the object starting here; the caller consumes each key's value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            self.compact()
            key_at = self.pos
            key = self.value()
            if not isinstance(key, str):
                raise _Unreadable("expected a property name", key_at)
            self.expect(":")
            yield key
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return

    def elements(self) -> Iterator[int]:
        """The positions (in ``text``) of the values of the array starting here; the caller
        consumes each value."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.compact()
            self.peek()
            yield self.pos
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return

    def skip(self, depth: int = 0) -> None:
        """Pass over one value without keeping it (a whole contact list, say) in memory."""
        if depth > 64:
            raise _Unreadable("nested too deeply", self.pos)
        char = self.peek()
        if char == "{":
            for _key in self.members():
                self.skip(depth + 1)
        elif char == "[":
            for _at in self.elements():
                self.skip(depth + 1)
        elif char == '"':
            self._skip_string()
        else:
            self.value()

    def _skip_string(self) -> None:
        """Pass over a string of any length, a chunk at a time."""
        self.pos += 1
        while True:
            match = _STRING_BODY.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.text) and self.text[self.pos] == '"':
                self.pos += 1
                return
            # The end of what was read, or a backslash just before it: read on.
            self.compact()
            if not self._fill(_CHUNK):
                raise _Unreadable("not valid JSON: unterminated string", self.pos)


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
        reader = _ExportReader(result, ctx)
        with ctx.open(result) as stream:
            # A message holds at most a few fields of max_field_bytes; more is not an export.
            json_stream = _JsonStream(stream, 8 * ctx.max_field_bytes + (1 << 20))
            try:
                yield from reader.document(json_stream)
            except _Unreadable as error:
                yield reader.rest(json_stream, error)


class _ExportReader:
    """The walk over one result.json: a single chat, or a whole account's ``chats.list``."""

    def __init__(self, result: Path, ctx: ReadContext) -> None:
        self.result = result
        self.display = str(result)
        self.ctx = ctx
        self.messages = 0

    def document(self, stream: _JsonStream) -> Iterator[Read]:
        if stream.peek() != "{":
            raise _Unreadable("not a JSON object: not a Telegram export", stream.pos)
        found = False
        chat: dict[str, Any] = {}
        for key in stream.members():
            if key == "messages" and stream.peek() == "[":
                found = True
                yield from self.chat_messages(stream, chat, "")
            elif key == "chats" and stream.peek() == "{":
                for chats_key in stream.members():
                    if chats_key == "list" and stream.peek() == "[":
                        found = True
                        for number, _at in enumerate(stream.elements(), start=1):
                            yield from self.chat(stream, f"chat {number} ")
                    else:
                        stream.skip()
            elif key in _CHAT_FIELDS:
                chat[key] = stream.value()
            else:
                stream.skip()
        if not found:
            reason = "no 'messages' list and no 'chats' list: not a Telegram export"
            yield Rejection(self.display, "whole file", reason, self._head())

    def chat(self, stream: _JsonStream, prefix: str) -> Iterator[Read]:
        """One chat of a whole-account export (anything else in the list is passed over)."""
        if stream.peek() != "{":
            stream.skip()
            return
        chat: dict[str, Any] = {}
        for key in stream.members():
            if key == "messages" and stream.peek() == "[":
                yield from self.chat_messages(stream, chat, prefix)
            elif key in _CHAT_FIELDS:
                chat[key] = stream.value()
            else:
                stream.skip()

    def chat_messages(
        self, stream: _JsonStream, chat: dict[str, Any], prefix: str
    ) -> Iterator[Read]:
        # Telegram writes a chat's name, type and id before its messages, so ``chat`` is known.
        export_dir = self.result.parent
        for index, start in enumerate(stream.elements()):
            try:
                message = stream.value()
            except _TooLong as error:
                yield self.too_long(stream, error, f"{prefix}message {index + 1}")
                continue
            raw = stream.raw(start, stream.pos)
            self.messages += 1
            ident = message.get("id") if isinstance(message, dict) else None
            if isinstance(ident, bool) or not isinstance(ident, int | str):
                ident = None
            shown = f" (id {storable_text(str(ident))})" if ident else ""
            location = f"{prefix}message {index + 1}{shown}"
            try:
                yield message_record(message, chat, export_dir, self.display, location[:100], raw)
            except BadMessage as error:
                yield Rejection(self.display, location[:100], str(error), raw)

    def too_long(self, stream: _JsonStream, error: _TooLong, location: str) -> Rejection:
        """A message too long to be one (a crafted or corrupt file): passed over in bounded
        memory and quarantined, and the messages after it are read."""
        start = stream.byte_offset(error.offset)
        try:
            stream.skip()
        except _Unreadable as broken:  # and it never ends: the rest goes, from its start
            raise _Unreadable(str(broken), broken.offset, byte_offset=start) from None
        size = stream.byte_offset(stream.pos) - start
        reason = f"message {error} ({size:,} bytes), too long for a Telegram message"
        return Rejection(self.display, location, reason, self._read(start), size)

    def _read(self, offset: int) -> bytes:
        with self.result.open("rb") as raw_file:
            raw_file.seek(offset)
            return raw_file.read(self.ctx.max_raw_bytes)

    def rest(self, stream: _JsonStream, error: _Unreadable) -> Rejection:
        """The unreadable rest of the file, from where reading stopped, for the quarantine."""
        if error.byte_offset is not None:
            offset = error.byte_offset
        else:
            offset = stream.byte_offset(error.offset)
        size = self.result.stat().st_size
        raw = self._read(offset)
        hint = " (truncated export?)" if stream.at_end and offset > 0 else ""
        kept = f"; the {self.messages:,} messages before it were read" if self.messages else ""
        reason = f"unreadable from byte {offset:,} of {size:,}: {error}{hint}{kept}"
        return Rejection(self.display, f"from byte {offset}", reason, raw, size - offset)

    def _head(self) -> bytes:
        with self.result.open("rb") as stream:
            return stream.read(self.ctx.max_raw_bytes)
