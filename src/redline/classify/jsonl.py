"""``redline classify``: JSON Lines in, one JSON line out per line in, in the same order.

Each input line is ``{"id": ..., "text": ...}``. A line that cannot be scored (not UTF-8, not
JSON, no text) gets an output line with its ``line`` number and an ``error`` saying why, and the
rest goes on. Very long texts are scored on their first ``MAX_CHARS`` characters, and say so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from redline.classify.model import TextModel

MAX_CHARS = 20_000
BATCH = 512
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _read(number: int, raw: bytes) -> tuple[Any, str] | dict[str, Any]:
    """(id, text) of one line, or the error line to output instead."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return {
            "line": number,
            "id": None,
            "error": f"not UTF-8 (bad byte at offset {error.start})",
        }
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as error:
        return {
            "line": number,
            "id": None,
            "error": f"not valid JSON: {error.msg} at column {error.colno}",
        }
    if not isinstance(obj, dict):
        return {
            "line": number,
            "id": None,
            "error": f"expected a JSON object, got {type(obj).__name__}",
        }
    ident = obj.get("id")
    text = obj.get("text")
    if not isinstance(text, str):
        reason = (
            "no 'text'" if text is None else f"'text' must be a string, got {type(text).__name__}"
        )
        return {"line": number, "id": ident, "error": reason}
    cleaned = _CONTROL.sub(" ", text).strip()
    if not cleaned:
        return {"line": number, "id": ident, "error": "empty text"}
    return ident, cleaned


def classify_lines(
    lines: Iterable[bytes], model: TextModel, *, embeddings: bool | None = None
) -> Iterator[dict[str, Any]]:
    """One result per non-blank input line, in input order."""
    pending: list[tuple[int, Any, str, int]] = []  # (line, id, text scored, original length)
    ready: list[dict[str, Any] | None] = []

    def flush() -> Iterator[dict[str, Any]]:
        predictions = iter(
            model.predict([text for _, _, text, _ in pending], embeddings=embeddings)
        )
        slots = iter(pending)
        for slot in ready:
            if slot is not None:
                yield slot
                continue
            number, ident, _scored, length = next(slots)
            result = {"line": number, "id": ident, **next(predictions).as_dict()}
            if length > MAX_CHARS:
                result["note"] = f"scored the first {MAX_CHARS:,} of {length:,} characters"
            yield result
        pending.clear()
        ready.clear()

    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        read = _read(number, raw.rstrip(b"\r\n"))
        if isinstance(read, dict):
            ready.append(read)
        else:
            ident, text = read
            pending.append((number, ident, text[:MAX_CHARS], len(text)))
            ready.append(None)
        if len(ready) >= BATCH:
            yield from flush()
    yield from flush()
