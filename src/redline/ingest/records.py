"""What every input format produces: Records to store and Rejections to quarantine."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from redline.errors import Invalid
from redline.ingest.confinement import confine


class UsageProblem(Invalid):
    """The input cannot be read as asked (no such file, a missing column): exit code 2."""


@dataclass(slots=True)
class MediaFile:
    """A media file a record carries: ``reference`` as the input names it, relative to ``root``.

    ``root`` is the export's folder; the file is only read if it lies inside it (see
    ``confinement``), so a format never opens a path an export names itself.
    """

    root: Path
    reference: str


@dataclass(slots=True)
class SignalValue:
    """A signal an input format already knows about a record (a canonical URL, say)."""

    signal_type: str
    value: str
    meta: dict[str, Any] | None = None


@dataclass(slots=True)
class Record:
    """One post, message, file or URL read from an input, before validation.

    ``external_id`` is the record's id in its source; None means the input has no ids and the
    record is named by its content hash. ``raw`` is the record as read, kept for the quarantine
    should validation reject it.
    """

    external_id: str | None
    file: str
    location: str
    raw: bytes
    text: str | None = None
    account: str | None = None
    account_name: str | None = None
    posted_at: datetime | None = None
    url: str | None = None
    media: list[MediaFile] = field(default_factory=list)
    # Media the platform hashed itself and did not send: {"pdq": hex, "md5": hex, ...} each.
    hashed_media: list[dict[str, str]] = field(default_factory=list)
    signals: list[SignalValue] = field(default_factory=list)
    extra: dict[str, Any] | None = None
    encoding: str | None = None
    # Optional fields dropped because they could not be read: the record is stored without them.
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Rejection:
    """A record an input format could not read, with why; it goes to quarantine."""

    file: str
    location: str
    reason: str
    raw: bytes
    raw_size: int | None = None  # of the whole input when ``raw`` is only its beginning


@dataclass(slots=True)
class Skipped:
    """Something in the input that is not content (a Telegram service message, a blank line)."""

    file: str
    location: str
    reason: str


Read = Record | Rejection | Skipped


@dataclass(slots=True)
class CsvColumns:
    """Which CSV columns hold what; None lets the format pick by well-known column names."""

    text: str | None = None
    id: str | None = None
    time: str | None = None
    time_format: str | None = None
    account: str | None = None


@dataclass(slots=True)
class ReadContext:
    """What a format needs from the run: limits, options, and a progress-reporting ``open``."""

    max_field_bytes: int
    columns: CsvColumns = field(default_factory=CsvColumns)
    on_bytes: Callable[[int], None] = lambda _n: None
    protected: frozenset[Path] = frozenset()  # the store's own files, never read as input
    max_raw_bytes: int = 4_000_000  # raw bytes a Rejection needs to carry at most

    def locate(self, root: Path, reference: str) -> Path:
        """The file ``reference`` names inside the export folder ``root``; RefusedPath if not."""
        return confine(root, reference, self.protected)

    def open(self, path: Path) -> IO[bytes]:
        """Open ``path`` for reading; bytes read are reported to the progress display."""
        return io.BufferedReader(_CountingFile(path, self.on_bytes), buffer_size=1 << 20)


class _CountingFile(io.RawIOBase):
    """A raw binary file that reports how many bytes it has read (for progress bars)."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None]) -> None:
        super().__init__()
        self._file = io.FileIO(path, "rb")
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        n = self._file.readinto(buffer)
        if n:
            self._on_bytes(n)
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


class Format(Protocol):
    """An input format: one module in ``redline.ingest``, registered in ``FORMATS``."""

    name: str
    description: str

    def sniff(self, path: Path) -> bool:
        """True when ``path`` is confidently in this format (used by ``--format auto``)."""
        ...

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        """Yield every record in ``path`` in input order; never raise for one bad record."""
        ...
