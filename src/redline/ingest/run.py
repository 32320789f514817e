"""The ingest run: read a path in some format, validate, store in batches, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from redline.config import Settings
from redline.ingest import get_format
from redline.ingest.media import BadMedia, StoredMedia, store_media
from redline.ingest.records import CsvColumns, ReadContext, Record, Rejection, Skipped, UsageProblem
from redline.ingest.validate import Invalid, check_text, content_sha256
from redline.store import content
from redline.store.audit import record_event
from redline.store.content import NewItem, NewMedia, NewQuarantine, NewSignal

MAX_REPORTED = 200  # problems kept for the summary; the quarantine table has all of them


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
    skipped: int = 0
    elapsed: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    duplicate_examples: list[Problem] = field(default_factory=list)

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
            "skipped": self.skipped,
            "elapsed_s": round(self.elapsed, 3),
            "records_per_s": round(self.rate, 1),
            "problems": [str(p) for p in self.problems],
        }


@dataclass(slots=True)
class _Batch:
    items: list[NewItem] = field(default_factory=list)
    rejected: list[NewQuarantine] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items) + len(self.rejected)


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
    """Ingest ``path`` into the source ``source_name``; UsageProblem for a path or format error."""
    if not path.exists():
        raise UsageProblem(f"{path}: no such file or directory")
    fmt = get_format(format_name, path)
    started = time.perf_counter()
    summary = IngestSummary(source=source_name, format=fmt.name, path=str(path))
    source = content.source_id(engine, source_name, fmt.name, actor)
    ctx = ReadContext(settings.max_field_bytes, columns or CsvColumns(), on_bytes)
    batch = _Batch()
    known = content.KnownContents(source_was_empty=content.source_is_empty(engine, source))

    def flush() -> None:
        written = content.write_batch(engine, source, batch.items, batch.rejected, known)
        summary.stored += written.stored
        summary.revisions += written.revisions
        summary.duplicates += len(written.duplicates)
        summary.quarantined += written.quarantined
        summary.already_quarantined += len(batch.rejected) - written.quarantined
        for item, (file, location) in written.duplicates[
            : MAX_REPORTED - len(summary.duplicate_examples)
        ]:
            first = location if file == item.file else f"{file} {location}"
            reason = f"duplicate of {first} (id {item.external_id})"
            summary.duplicate_examples.append(Problem(item.file, item.location, reason))
        on_records(len(batch))
        batch.items.clear()
        batch.rejected.clear()

    def reject(file: str, location: str, reason: str, raw: bytes) -> None:
        kept = raw[: settings.max_quarantine_bytes]
        batch.rejected.append(NewQuarantine(fmt.name, file, location, reason, kept, len(raw)))
        if len(summary.problems) < MAX_REPORTED:
            summary.problems.append(Problem(file, location, reason))

    for read in fmt.read(path, ctx):
        if isinstance(read, Skipped):
            summary.skipped += 1
            continue
        summary.records += 1
        if isinstance(read, Rejection):
            reject(read.file, read.location, read.reason, read.raw)
        else:
            try:
                batch.items.append(_prepare(read, settings, on_bytes))
            except Invalid as error:
                reject(read.file, read.location, str(error), read.raw)
            except BadMedia as error:
                reject(
                    read.file, read.location, str(error), read.raw or _media_head(read, settings)
                )
        if len(batch) >= settings.ingest_batch_size:
            flush()
    flush()
    summary.elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        detail = summary.as_dict()
        detail["problems"] = detail["problems"][:20]  # type: ignore[index]
        record_event(connection, actor, "ingest", "source", source_name, detail=detail)
    return summary


def _prepare(record: Record, settings: Settings, on_bytes: Callable[[int], None]) -> NewItem:
    """Validate, hash and store the media of one record (Invalid/BadMedia when it cannot be)."""
    text = check_text(record, settings.max_field_bytes)
    media: list[NewMedia] = []
    for file in record.media:
        try:
            stored: StoredMedia = store_media(
                file.path, settings.data_dir, settings.max_media_bytes
            )
        except BadMedia as error:
            raise BadMedia(f"{file.original_name}: {error}") from None
        on_bytes(stored.size)
        media.append(NewMedia(**asdict(stored), original_name=file.original_name))
    digest = content_sha256(text.sha256, [m.sha256 for m in media], record.url)
    external_id = record.external_id.strip() if record.external_id else f"sha256:{digest}"
    return NewItem(
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
        extra=record.extra,
        media=media,
        signals=[NewSignal(s.signal_type, s.value, s.meta) for s in record.signals],
    )


def _media_head(record: Record, settings: Settings) -> bytes:
    """The first bytes of the record's media file, to quarantine when the record had no raw form."""
    for file in record.media:
        try:
            with file.path.open("rb") as stream:
                return stream.read(settings.max_quarantine_bytes)
        except OSError:
            continue
    return b""
