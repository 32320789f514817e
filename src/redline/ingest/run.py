"""The ingest run: read a path in some format, validate, store in batches, report."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from redline.config import Settings
from redline.ingest import get_format
from redline.ingest.confinement import RefusedPath, input_bytes, storable_text, store_files
from redline.ingest.jsonl import PDQ_QUALITY
from redline.ingest.media import BadMedia, StoredMedia, store_media
from redline.ingest.records import (
    CsvColumns,
    MediaFile,
    ReadContext,
    Record,
    Rejection,
    Skipped,
    UsageProblem,
)
from redline.ingest.validate import Invalid, check_text, content_sha256
from redline.signals import MATCHED, SCANNED, BadSignal
from redline.signals.exact import Md5Signal, Sha256Signal
from redline.store import content
from redline.store.audit import record_event
from redline.store.content import HASHES_ONLY, SUPPLIED, NewItem, NewMedia, NewQuarantine, NewSignal
from redline.store.media import media_store

MAX_REPORTED = 200  # problems kept for the summary; the quarantine table has all of them
# A batch is also written once it holds this much text: with long records (up to
# REDLINE_MAX_FIELD_BYTES each) a batch of ingest_batch_size records could fill the memory.
BATCH_BYTES = 8 << 20
WARNINGS_KEY = "ingest_warnings"  # in an item's extra metadata: what was dropped from it, and why


class EmptyInput(ValueError):
    """The input file is empty (0 bytes): nothing to read, which is worth an error exit."""


@dataclass(slots=True)
class Problem:
    """One record that was not stored, for the report at the end."""

    file: str
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} {self.location}: {self.reason}"


@dataclass(slots=True)
class IngestSummary:
    """What an ingest run did."""

    source: str
    format: str
    path: str
    records: int = 0
    stored: int = 0
    revisions: int = 0
    duplicates: int = 0
    quarantined: int = 0
    already_quarantined: int = 0
    media_refused: int = 0  # media files quarantined from records stored without them
    skipped: int = 0
    warned: int = 0  # records stored with an unreadable optional field or media file dropped
    elapsed: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    duplicate_examples: list[Problem] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)  # the items stored (for processing)

    def failed(self, strict: bool = False) -> bool:
        """Whether the run should end in exit status 1.

        It failed when it refused something and accepted nothing (neither stored nor already
        stored); with ``strict``, when anything at all was quarantined or dropped.
        """
        refused = self.quarantined + self.already_quarantined
        if strict:
            return refused > 0 or self.warned > 0
        return refused > 0 and self.stored + self.duplicates == 0

    @property
    def rate(self) -> float:
        """Records read per second."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """The summary as plain data (``--json``)."""
        return {
            "source": self.source,
            "format": self.format,
            "path": self.path,
            "records": self.records,
            "stored": self.stored,
            "revisions": self.revisions,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "already_quarantined": self.already_quarantined,
            "media_refused": self.media_refused,
            "skipped": self.skipped,
            "warned": self.warned,
            "elapsed_s": round(self.elapsed, 3),
            "records_per_s": round(self.rate, 1),
            "problems": [str(p) for p in self.problems],
            "warnings": [str(p) for p in self.warnings],
        }


@dataclass(slots=True)
class _Batch:
    items: list[NewItem] = field(default_factory=list)
    rejected: list[NewQuarantine] = field(default_factory=list)
    # Indexes in ``rejected`` of media files refused from a record that was stored all the same:
    # quarantined, but not records of their own.
    media: set[int] = field(default_factory=set)
    size: int = 0  # characters of text and bytes of raw input held

    def __len__(self) -> int:
        return len(self.items) + len(self.rejected) - len(self.media)

    def full(self, max_records: int) -> bool:
        """Whether to write the batch now: by its records, or by what it holds in memory."""
        return len(self) >= max_records or self.size >= BATCH_BYTES


def input_size(path: Path) -> int:
    """Bytes under ``path``, for the progress bar's total."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def ingest(
    path: Path,
    source_name: str,
    *,
    engine: Engine,
    settings: Settings,
    actor: str,
    format_name: str = "auto",
    columns: CsvColumns | None = None,
    on_bytes: Callable[[int], None] = lambda _n: None,
    on_records: Callable[[int], None] = lambda _n: None,
) -> IngestSummary:
    """Ingest ``path`` into the source ``source_name``; UsageProblem for a path or format error,
    EmptyInput for a 0-byte file."""
    if not path.exists():
        raise UsageProblem(f"{path}: no such file or directory")
    empty = path.is_file() and path.stat().st_size == 0
    # An empty file has no format to guess, but a format name given is checked first (exit 2).
    fmt = get_format(format_name, path) if not (empty and format_name == "auto") else None
    if empty or fmt is None:
        raise EmptyInput(f"{path}: empty file (0 bytes), nothing to ingest")
    started = time.perf_counter()
    summary = IngestSummary(source=source_name, format=fmt.name, path=str(path))
    source = content.source_id(engine, source_name, fmt.name, actor)
    ctx = ReadContext(
        settings.max_field_bytes,
        columns or CsvColumns(),
        on_bytes,
        protected=store_files(settings.database_url),
        max_raw_bytes=settings.max_quarantine_bytes,
    )
    batch = _Batch()
    known = content.KnownContents(source_was_empty=content.source_is_empty(engine, source))

    def flush() -> None:
        written = content.write_batch(engine, source, batch.items, batch.rejected, known)
        summary.stored += written.stored
        summary.revisions += written.revisions
        summary.duplicates += len(written.duplicates)
        for n, new in enumerate(written.quarantined_new):
            if n in batch.media:
                summary.media_refused += 1
            elif new:
                summary.quarantined += 1
            else:
                summary.already_quarantined += 1
        summary.item_ids.extend(item_id for _, item_id in written.outcomes if item_id)
        for item, (file, location) in written.duplicates[
            : MAX_REPORTED - len(summary.duplicate_examples)
        ]:
            first = location if file == item.file else f"{file} {location}"
            reason = f"duplicate of {first} (id {item.external_id})"
            summary.duplicate_examples.append(Problem(item.file, item.location, reason))
        on_records(len(batch))
        batch.items.clear()
        batch.rejected.clear()
        batch.media.clear()
        batch.size = 0

    def keep(entry: NewQuarantine) -> None:
        batch.rejected.append(entry)
        batch.size += len(entry.raw)
        if len(summary.problems) < MAX_REPORTED:
            summary.problems.append(Problem(entry.file, entry.location, entry.reason))

    def accept(record: Record) -> None:
        admitted = _admit(record, ctx, settings, fmt.name)
        if isinstance(admitted, NewQuarantine):
            keep(admitted)
            return
        batch.items.append(admitted.item)
        batch.size += len(admitted.item.text or "")
        for entry in admitted.refused_media:
            batch.media.add(len(batch.rejected))
            keep(entry)
        if admitted.warnings:
            summary.warned += 1
            if len(summary.warnings) < MAX_REPORTED:
                reason = "; ".join(admitted.warnings)
                summary.warnings.append(Problem(record.file, record.location, reason))

    for read in fmt.read(path, ctx):
        if isinstance(read, Skipped):
            summary.skipped += 1
            continue
        summary.records += 1
        if isinstance(read, Rejection):
            keep(_rejected(fmt.name, settings, read))
        else:
            accept(read)
        if batch.full(settings.ingest_batch_size):
            flush()
    flush()
    summary.elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        detail = summary.as_dict()
        detail["problems"] = detail["problems"][:20]  # type: ignore[index]
        record_event(connection, actor, "ingest", "source", source_name, detail=detail)
    return summary


STORED, REVISION, DUPLICATE, QUARANTINED = "stored", "revision", "duplicate", "quarantined"


@dataclass(slots=True)
class RecordOutcome:
    """What became of one record of a batch (the items API answers one per record)."""

    location: str
    status: str  # stored | revision | duplicate | quarantined
    item_id: int | None = None  # for a duplicate, the item it repeats
    external_id: str | None = None
    revision: int | None = None
    reason: str | None = None  # why quarantined
    warnings: list[str] = field(default_factory=list)  # optional fields or media dropped
    # What the stored item carries, so the stages it needs are known without a look-up.
    text: bool = False
    media: bool = False

    def as_dict(self) -> dict[str, object]:
        """Plain data, without the empty fields."""
        data: dict[str, object] = {"location": self.location, "status": self.status}
        for name in ("item_id", "external_id", "revision", "reason"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.warnings:
            data["warnings"] = self.warnings
        return data


def ingest_records(
    reads: Sequence[Record | Rejection],
    source_name: str,
    *,
    engine: Engine,
    settings: Settings,
    actor: str,
    format_name: str,
) -> list[RecordOutcome]:
    """Validate and store one batch of records read elsewhere (the items API), with the ingest
    run's rules: the same validation, media storage, deduplication, revisions and quarantine,
    in one transaction; one outcome per read, in order. A bad record never fails the batch."""
    ctx = ReadContext(
        settings.max_field_bytes,
        protected=store_files(settings.database_url),
        max_raw_bytes=settings.max_quarantine_bytes,
    )
    outcomes: list[RecordOutcome] = []
    items: list[NewItem] = []
    placed: list[RecordOutcome] = []  # the outcome of each item, in ``items`` order
    rejected: list[NewQuarantine] = []

    for read in reads:
        outcome = RecordOutcome(read.location, QUARANTINED)
        outcomes.append(outcome)
        admitted = (
            _rejected(format_name, settings, read)
            if isinstance(read, Rejection)
            else _admit(read, ctx, settings, format_name)
        )
        if isinstance(admitted, NewQuarantine):
            rejected.append(admitted)
            outcome.reason = admitted.reason
            continue
        rejected.extend(admitted.refused_media)
        outcome.external_id, outcome.warnings = admitted.item.external_id, admitted.warnings
        outcome.text = admitted.item.text_sha256 is not None
        outcome.media = bool(admitted.item.media)
        items.append(admitted.item)
        placed.append(outcome)

    def event(written: content.BatchResult) -> dict[str, Any]:
        counts = {status: 0 for status in (STORED, REVISION, DUPLICATE, QUARANTINED)}
        for revision, _ in written.outcomes:
            counts[DUPLICATE if revision == 0 else STORED if revision == 1 else REVISION] += 1
        counts[QUARANTINED] = len(reads) - len(items)
        return {
            "actor": actor,
            "action": "ingest",
            "subject_type": "source",
            "subject_id": source_name,
            "detail": {"records": len(reads), **counts},
        }

    # One transaction: the source (created on its first batch), the items, the quarantined
    # records and the audit event.
    written = content.write_batch(
        engine,
        content.NamedSource(source_name, format_name, actor),
        items,
        rejected,
        content.KnownContents(source_was_empty=False),
        event=event,
    )
    duplicates: list[tuple[RecordOutcome, NewItem]] = []
    for item, outcome, (revision, item_id) in zip(items, placed, written.outcomes, strict=True):
        if revision == 0:
            outcome.status = DUPLICATE
            duplicates.append((outcome, item))
        else:
            outcome.status = STORED if revision == 1 else REVISION
            outcome.item_id, outcome.revision = item_id, revision
    content.name_duplicates(engine, written.source_id, duplicates)
    return outcomes


@dataclass(slots=True)
class _Admission:
    """A record that can be stored: its item, the quarantine entries of the media files refused
    from it, and the warnings it is stored with."""

    item: NewItem
    refused_media: list[NewQuarantine]
    warnings: list[str]


def _admit(
    record: Record, ctx: ReadContext, settings: Settings, format_name: str
) -> _Admission | NewQuarantine:
    """The record as an item to store, or, when it cannot be stored, its quarantine entry: one
    rule for files and for the items API."""
    try:
        item, refused = _prepare(record, ctx, settings)
    except Invalid as error:
        return _quarantined(
            format_name, settings, record.file, record.location, str(error), record.raw
        )
    except _NoMediaLeft as error:
        raw = record.raw or error.head
        return _quarantined(format_name, settings, record.file, record.location, str(error), raw)
    media = [
        # The reference, never the file it names: that may be anyone's secret.
        _quarantined(format_name, settings, record.file, where, reason, input_bytes(file.reference))
        for file, where, reason in refused
    ]
    dropped = [f"{reason} (media file dropped)" for _, _, reason in refused]
    return _Admission(item, media, [*record.warnings, *dropped])


def _quarantined(
    format_name: str,
    settings: Settings,
    file: str,
    location: str,
    reason: str,
    raw: bytes,
    size: int | None = None,
) -> NewQuarantine:
    """A quarantine entry: the bytes cut to what the quarantine keeps, their whole size kept
    (``size``, when ``raw`` is already only the beginning of the input)."""
    whole = len(raw) if size is None else size
    return NewQuarantine(
        format_name, file, location, reason, raw[: settings.max_quarantine_bytes], whole
    )


def _rejected(format_name: str, settings: Settings, read: Rejection) -> NewQuarantine:
    """The quarantine entry of a record its format could not read."""
    return _quarantined(
        format_name, settings, read.file, read.location, read.reason, read.raw, read.raw_size
    )


class _NoMediaLeft(ValueError):
    """A record whose only content was media that could not be stored: it is quarantined whole."""

    def __init__(self, reason: str, head: bytes) -> None:
        super().__init__(reason)
        self.head = head


def _prepare(
    record: Record, ctx: ReadContext, settings: Settings
) -> tuple[NewItem, list[tuple[MediaFile, str, str]]]:
    """Validate and hash a record and store its media (Invalid/_NoMediaLeft when it cannot be).

    A media file that cannot be stored (outside the export, missing, unreadable) is dropped from
    the record with a warning and comes back as (file, location, reason) for the quarantine.
    """
    text = check_text(record, settings.max_field_bytes)
    media_files = media_store(settings)
    media: list[NewMedia] = []
    refused: list[tuple[MediaFile, str, str]] = []
    head = b""
    for number, file in enumerate(record.media, start=1):
        try:
            path = ctx.locate(file.root, file.reference)
            stored: StoredMedia = store_media(path, media_files, settings.max_media_bytes)
        except (RefusedPath, BadMedia) as error:
            reason = f"{storable_text(file.reference)}: {error}"
            where = (
                record.location if len(record.media) == 1 else f"{record.location} media {number}"
            )
            refused.append((file, where[:100], reason))
            record.warnings.append(f"media not stored: {reason}")
            if isinstance(error, BadMedia) and not head:
                head = _head(path, settings.max_quarantine_bytes)
            continue
        ctx.on_bytes(stored.size)
        media.append(NewMedia(**asdict(stored), original_name=storable_text(file.reference)))
    for number, hashes in enumerate(record.hashed_media, start=len(record.media) + 1):
        media.append(_hashed_media(number, hashes))
    if refused and not media and text.body is None and record.url is None:
        raise _NoMediaLeft("; ".join(reason for _, _, reason in refused), head)
    digest = content_sha256(text.sha256, [m.sha256 for m in media], record.url)
    external_id = record.external_id.strip() if record.external_id else f"sha256:{digest}"
    extra = record.extra
    if record.warnings:
        extra = {**(extra or {}), WARNINGS_KEY: record.warnings}
    item = NewItem(
        external_id=external_id,
        content_sha256=digest,
        text=text.body,
        text_sha256=text.sha256,
        account=record.account,
        account_name=record.account_name,
        posted_at=record.posted_at,
        url=record.url,
        encoding=record.encoding,
        file=record.file,
        location=record.location,
        extra=extra,
        media=media,
        signals=[NewSignal(s.signal_type, s.value, s.meta) for s in record.signals],
    )
    return item, refused


# The signal types a platform may send for media it hashed itself, by their names (the record's
# field names): the matched ones, perceptual and exact.
_PLATFORM_HASHES = {cls.name: cls for cls in MATCHED}
_IMAGE, _VIDEO = SCANNED["image"], SCANNED["video"]


def _hashed_media(number: int, hashes: dict[str, str]) -> NewMedia:
    """A media row for a file known by the hashes the platform sent; Invalid for a bad hash.

    Keyed by the SHA-256 it sent, so the same file sent later as bytes is the same media; or,
    without one, by a hash of its hashes (the same hashes sent twice are the same media).
    """
    signals: list[NewSignal] = []
    checked: dict[str, str] = {}
    for field_name, cls in _PLATFORM_HASHES.items():
        value = hashes.get(field_name)
        if value is None:
            continue
        try:
            checked[field_name] = cls.validate(value)
        except BadSignal as error:
            raise Invalid(f"media {number}: bad {field_name} hash: {error}") from None
    quality: int | None = None
    if PDQ_QUALITY in hashes:
        if _IMAGE.name not in checked:
            raise Invalid(f"media {number}: {PDQ_QUALITY} without a {_IMAGE.name} hash")
        try:
            quality = int(hashes[PDQ_QUALITY])
        except ValueError:
            quality = -1
        if not 0 <= quality <= 100:
            raise Invalid(f"media {number}: {PDQ_QUALITY} must be a whole number from 0 to 100")
    for field_name, value in checked.items():
        signal_quality = quality if field_name == _IMAGE.name else None
        signals.append(NewSignal(field_name, value, {SUPPLIED: True}, signal_quality))
    key = (
        checked.get(Sha256Signal.name)
        or hashlib.sha256(
            "\x00".join(f"{k}={v}" for k, v in sorted(checked.items())).encode()
        ).hexdigest()
    )
    kind = "video" if _VIDEO.name in checked else "image" if _IMAGE.name in checked else "file"
    return NewMedia(
        sha256=key,
        md5=checked.get(Md5Signal.name, ""),
        size=0,
        kind=HASHES_ONLY,
        mime=None,
        width=None,
        height=None,
        path="",
        original_name=f"hashes sent for a {kind}",
        signals=signals,
    )


def _head(path: Path, limit: int) -> bytes:
    """The first bytes of a media file inside the export, kept when its record is quarantined."""
    try:
        with path.open("rb") as stream:
            return stream.read(limit)
    except OSError:
        return b""
