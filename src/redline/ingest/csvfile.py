"""Reading CSV records with their raw bytes, per-record encodings and recovery from broken quoting.

Python's csv module decides where records end; this module keeps the lines each record came from
(for the quarantine), decodes every record on its own (see ``encoding``), and recovers when a stray
quote would otherwise swallow the rest of the file: the first line of the broken span goes to
quarantine and parsing starts again on the next line.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from redline.ingest.encoding import UTF8, decode_fields

_DELIMITERS = (",", "\t", ";", "|")
_BOM = "\xef\xbb\xbf"  # the UTF-8 byte order mark, as read through latin-1


@dataclass(slots=True)
class CsvRow:
    """One CSV record: decoded fields, the encoding they were read with, and where it came from."""

    fields: list[str]
    encoding: str
    line: int  # 1-based number of the record's first physical line
    raw: bytes


@dataclass(slots=True)
class CsvError:
    """A span of the file the CSV parser could not read as a record."""

    line: int
    reason: str
    raw: bytes


class _Lines:
    """Physical lines for csv.reader, remembering which ones the current record consumed.

    ``feed`` is a generator, not an iterator class: csv.reader pulls every line through it, and a
    generator frame resumes several times faster than a Python ``__next__`` method.
    """

    def __init__(self, text: IO[str], first: str) -> None:
        self.taken: list[str] = []
        self.first_number = 1  # 1-based number of taken[0]
        self._next_number = 1
        self._pending: deque[str] = deque([first])
        self._source = text

    def feed(self) -> Iterator[str]:
        taken, pending = self.taken, self._pending
        while True:
            while pending:
                line = pending.popleft()
                taken.append(line)
                yield line
            block = self._source.readlines(1 << 20)
            if not block:
                return
            pending.extend(block)

    def take(self) -> tuple[int, list[str]]:
        """(number of the first line, the lines) consumed since the last call."""
        taken = self.taken[:]
        number = self.first_number
        self.first_number += len(taken)
        self.taken.clear()
        return number, taken

    def push_back(self, lines: list[str]) -> None:
        """Make ``lines`` the next ones read, in order (their numbers are kept)."""
        self.first_number -= len(lines)
        self._pending.extendleft(reversed(lines))


def sniff_delimiter(header_line: str) -> str:
    """The delimiter a header line uses most (comma when it has none of them)."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(stream: IO[bytes], max_field_bytes: int) -> Iterator[CsvRow | CsvError]:
    """Every record of a CSV file in order, header first; blank lines are skipped."""
    text = io.TextIOWrapper(stream, encoding="latin-1", newline="")
    first = text.readline()
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    delimiter = sniff_delimiter(first)
    lines = _Lines(text, first)
    feed = lines.feed()
    # The limit is global to the csv module; latin-1 makes it a byte count.
    csv.field_size_limit(max(max_field_bytes, 1024))
    taken = lines.taken
    while True:
        reader = csv.reader(feed, delimiter=delimiter, strict=True)
        try:
            for fields in reader:
                if len(taken) == 1:  # the common case, kept cheap
                    raw = taken[0]
                    number = lines.first_number
                    lines.first_number += 1
                    taken.clear()
                else:
                    number, many = lines.take()
                    raw = "".join(many)
                if not fields:
                    continue
                if raw.isascii():
                    yield CsvRow(fields, UTF8, number, raw.encode("ascii"))
                else:
                    decoded, encoding = decode_fields(fields)
                    yield CsvRow(decoded, encoding, number, raw.encode("latin-1"))
            return
        except csv.Error as error:
            number, spanned = lines.take()
            if not spanned:  # pragma: no cover - csv raises only after reading a line
                return
            reason = f"unreadable CSV: {error}"
            if len(spanned) > 1:
                spans = f"the record ran over {len(spanned)} lines"
                reason += f" ({spans}; re-reading from line {number + 1})"
            yield CsvError(number, reason, spanned[0].encode("latin-1"))
            lines.push_back(spanned[1:])
