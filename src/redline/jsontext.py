"""JSON written by someone else: read without letting the parser's own limits escape; and the
one way redline's own records become JSON-able data (``jsonable``).

Python refuses to turn a number of more than ``sys.get_int_max_str_digits()`` digits into an int
(ValueError) and gives up on nesting deeper than its recursion limit (RecursionError); JSON allows
both. Neither is a hash, an id or a label anyone means, so such a number is kept as its text (the
field is then refused by whoever checks it) and too deep a nesting is a plain decoding error, which
every reader already turns into one quarantined record instead of a stopped run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def number(text: str) -> int | str:
    """A JSON integer as an int, or as its text when it has too many digits to convert."""
    return int(text) if len(text) <= sys.get_int_max_str_digits() else text


class Decoder(json.JSONDecoder):
    """A JSON decoder whose long numbers stay text and whose deep nesting is a decode error."""

    def __init__(self) -> None:
        super().__init__(parse_int=number)

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        try:
            return super().raw_decode(s, idx)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", s, idx) from None


DECODER = Decoder()


def loads(text: str) -> Any:
    """Parse ``text``; json.JSONDecodeError for anything that is not JSON we can hold."""
    return DECODER.decode(text)


def jsonable(value: Any) -> Any:
    """``value`` with every datetime inside it (in dicts and lists, however deep) as ISO 8601
    text: what every ``as_dict`` and API answer gives for a time."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def storable_text(text: str) -> str:
    """``text`` as any database can hold it: PostgreSQL's text and JSONB refuse NUL and unpaired
    surrogates, which hostile input can spell; they become visible escapes (``\\x00``)."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, text, numbers) with every text in it, keys too,
    made :func:`storable_text`."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def jsonable_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """A record's fields, in their order, with every datetime as ISO 8601 text (None stays
    None)."""
    return {key: jsonable(value) for key, value in data.items()}
