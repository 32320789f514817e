"""Hash-list files: reading and writing banks as CSV, JSON and plain lists.

- CSV with a header, as python-threatexchange's ``dataset --csv`` writes it
  (``signal_type,signal_str,collab,category,tags``) or redline's own export
  (``signal_type,signal,category,tags,source_org,added_at,note``); ``signal`` and ``signal_str``
  are both read.
- JSON: a list of ``{"signal_type": ..., "signal": ...}`` objects; a list of HMA-style objects
  keyed by signal type (``{"pdq": "...", "note": "..."}``); or redline's export document.
- Plain text: one hash per line, or ``<signal_type> <hash>`` per line (python-threatexchange's
  local-file format). ``#`` starts a comment.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from redline import jsontext
from redline.ingest.encoding import decode_bytes
from redline.signals import MEDIA_SIGNALS
from redline.spreadsheet import SpreadsheetSafeWriter, unquote_cell

CSV_COLUMNS = ("signal_type", "signal", "category", "tags", "source_org", "added_at", "note")
_LABELS = ("category", "tags", "source_org", "note", "added_at")


@dataclass(slots=True)
class HashRow:
    """One entry read from a hash list: its signals and labels, before validation."""

    location: str
    raw: bytes
    signals: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class BadRow:
    """A line of a hash list that cannot be read at all."""

    location: str
    reason: str
    raw: bytes


def guess_format(data: bytes, name: str) -> str:
    """csv, json or plain, from the file name and its first bytes."""
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    head = data.lstrip()[:1]
    if head in (b"[", b"{"):
        return "json"
    first = data.split(b"\n", 1)[0].lower()
    return "csv" if b"signal_type" in first and b"," in first else "plain"


def read_rows(data: bytes, fmt: str, default_type: str = "pdq") -> Iterator[HashRow | BadRow]:
    """Every entry of a hash list, in order."""
    if fmt == "json":
        yield from _read_json(data)
    elif fmt == "csv":
        yield from _read_csv(data)
    else:
        yield from _read_plain(data, default_type)


def _read_plain(data: bytes, default_type: str) -> Iterator[HashRow | BadRow]:
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        text, _ = decode_bytes(raw)
        line = text.split("#", 1)[0].strip()
        if not line:
            continue
        first, _, rest = line.partition(" ")
        if rest and first in MEDIA_SIGNALS:
            yield HashRow(f"line {number}", raw, {first: rest.strip()})
        elif rest:
            yield BadRow(f"line {number}", f"unknown signal type {first!r}", raw)
        else:
            yield HashRow(f"line {number}", raw, {default_type: line})


def _read_csv(data: bytes) -> Iterator[HashRow | BadRow]:
    text, _ = decode_bytes(data.removeprefix(b"\xef\xbb\xbf"))
    lines = text.splitlines(keepends=True)
    reader = csv.DictReader(lines)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    if "signal_type" not in fields or not ({"signal", "signal_str"} & set(fields)):
        raw = lines[0].encode() if lines else b""
        yield BadRow("line 1", "CSV header needs signal_type and signal (or signal_str)", raw)
        return
    for row in reader:
        number = reader.line_num
        raw = lines[number - 1].encode("utf-8") if number - 1 < len(lines) else b""
        if None in row or any(value is None for value in row.values()):
            yield BadRow(
                f"line {number}", "row has a different number of fields than the header", raw
            )
            continue
        signal = (row.get("signal") or row.get("signal_str") or "").strip()
        # Labels come back from redline's own export quoted against spreadsheet formulas.
        labels = {k: unquote_cell(row[k].strip()) for k in _LABELS if row.get(k, "").strip()}
        if row.get("collab", "").strip() and "source_org" not in labels:
            labels["source_org"] = row["collab"].strip()
        yield HashRow(f"line {number}", raw, {row["signal_type"].strip(): signal}, labels)


def _read_json(data: bytes) -> Iterator[HashRow | BadRow]:
    try:
        document: Any = jsontext.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        yield BadRow(
            "whole file", f"not UTF-8 (JSON must be): bad byte at offset {error.start}", data
        )
        return
    except json.JSONDecodeError as error:
        yield BadRow("whole file", f"not valid JSON: {error.msg} at line {error.lineno}", data)
        return
    entries = document.get("entries") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        yield BadRow("whole file", "expected a list of entries (or an object with 'entries')", data)
        return
    for position, entry in enumerate(entries, start=1):
        location = f"entry {position}"
        raw = json.dumps(entry).encode("ascii")
        if not isinstance(entry, dict):
            yield BadRow(location, f"an entry must be an object, got {type(entry).__name__}", raw)
            continue
        labels = {k: str(entry[k]) for k in _LABELS if entry.get(k) not in (None, "")}
        if "signal_type" in entry:
            yield HashRow(
                location, raw, {str(entry["signal_type"]): str(entry.get("signal", ""))}, labels
            )
            continue
        nested: dict[str, Any] = (
            entry["signals"] if isinstance(entry.get("signals"), dict) else entry
        )
        signals = {
            k: str(v) for k, v in nested.items() if k not in _LABELS and k not in {"id", "signals"}
        }
        yield HashRow(location, raw, signals, labels)


def write_csv(rows: list[dict[str, Any]]) -> bytes:
    """Rows (``CSV_COLUMNS`` keys) as CSV bytes, labels safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([row.get(column) for column in CSV_COLUMNS] for row in rows)
    return out.getvalue().encode("utf-8")
