"""Importing hash lists into banks and exporting banks, in the formats of ``formats``.

Importing validates every row: a malformed hash (wrong length, not hex, unknown signal type)
goes to quarantine with the file, line and reason, and the rest of the file goes on. A hash the
bank already holds is counted as a duplicate and not added again, so importing the same list
twice changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from redline.banks.formats import CSV_COLUMNS, BadRow, HashRow, guess_format, read_rows, write_csv
from redline.banks.manage import (
    EntryInfo,
    HashedMedia,
    _bank_id,
    add_media,
    get_bank,
    hash_media,
)
from redline.errors import Invalid
from redline.model import BankEntry, BankSignal
from redline.signals import BadSignal, signal_type
from redline.store.audit import record_event
from redline.store.bank_changes import touch_bank
from redline.store.content import NewQuarantine, insert_ignoring_duplicates, quarantine_record
from redline.store.media import MediaStore

BATCH = 5000


@dataclass(slots=True)
class ImportSummary:
    """What an import did."""

    bank: str
    file: str
    format: str
    added: int = 0
    duplicates: int = 0
    quarantined: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "file": self.file,
            "format": self.format,
            "added": self.added,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "problems": self.problems[:50],
        }


def import_file(
    connection: Connection,
    bank: str,
    path: Path,
    *,
    actor: str,
    now: datetime,
    fmt: str | None = None,
    default_type: str = "pdq",
) -> ImportSummary:
    """Import a hash list file into ``bank``."""
    data = path.read_bytes()
    fmt = fmt or guess_format(data, path.name)
    if fmt not in {"csv", "json", "plain"}:
        raise Invalid(f"unknown hash list format {fmt!r} (csv, json, plain)")
    summary = ImportSummary(bank, str(path), fmt)
    bank_id = _bank_id(connection, bank)
    known = {
        (kind, value)
        for kind, value in connection.execute(
            select(BankSignal.signal_type, BankSignal.value)
            .join(BankEntry, BankEntry.id == BankSignal.entry_id)
            .where(BankEntry.bank_id == bank_id)
        )
    }
    pending: list[tuple[HashRow, dict[str, str]]] = []
    added: list[int] = []

    def quarantine(location: str, reason: str, raw: bytes) -> None:
        record = NewQuarantine(f"bank-{fmt}", str(path), location, reason, raw, len(raw))
        if quarantine_record(connection, record, now, bank_id=bank_id):
            summary.quarantined += 1
        summary.problems.append(f"{path} {location}: {reason}")

    def flush() -> None:
        if not pending:
            return
        entry_ids = (
            connection.execute(
                BankEntry.__table__.insert().returning(BankEntry.id, sort_by_parameter_order=True),
                [
                    {
                        "bank_id": bank_id,
                        "category": row.labels.get("category"),
                        "source_org": row.labels.get("source_org"),
                        "note": row.labels.get("note"),
                        "tags": row.labels.get("tags"),
                        "enabled": True,
                        "added_at": now,
                        "added_by": actor,
                        "provenance": {
                            "file": path.name,
                            "location": row.location,
                            **(
                                {"added_at": row.labels["added_at"]}
                                if "added_at" in row.labels
                                else {}
                            ),
                        },
                    }
                    for row, _ in pending
                ],
            )
            .scalars()
            .all()
        )
        insert_ignoring_duplicates(
            connection,
            BankSignal.__table__,
            [
                {
                    "entry_id": entry_id,
                    "signal_type": kind,
                    "value": value,
                    "quality": None,
                    "meta": None,
                }
                for entry_id, (_, signals) in zip(entry_ids, pending, strict=True)
                for kind, value in signals.items()
            ],
        )
        summary.added += len(pending)
        added.extend(int(entry_id) for entry_id in entry_ids)
        pending.clear()

    for row in read_rows(data, fmt, default_type):
        if isinstance(row, BadRow):
            quarantine(row.location, row.reason, row.raw)
            continue
        problem = label_problem(row.labels)
        if problem is not None:
            quarantine(row.location, problem, row.raw)
            continue
        try:
            if not row.signals:
                raise BadSignal("no signal in this entry")
            signals = {
                kind: signal_type(kind).validate(value) for kind, value in row.signals.items()
            }
        except BadSignal as error:
            quarantine(row.location, str(error), row.raw)
            continue
        fresh = {k: v for k, v in signals.items() if (k, v) not in known}
        if not fresh:
            summary.duplicates += 1
            continue
        known.update(fresh.items())
        pending.append((row, fresh))
        if len(pending) >= BATCH:
            flush()
    flush()
    if summary.added:
        touch_bank(connection, bank_id, now, "add", added)
    record_event(connection, actor, "bank.import", "bank", bank, detail=summary.as_dict())
    return summary


def label_problem(labels: dict[str, str]) -> str | None:
    """Why an entry's labels cannot be stored (None when they can): longer than their column,
    or holding what PostgreSQL refuses in text (NUL, an unpaired surrogate). Checked per entry,
    so one such entry is quarantined instead of failing the whole import."""
    columns = BankEntry.__table__.c
    for key, value in labels.items():
        limit = getattr(columns[key].type, "length", None) if key in columns else None
        if limit is not None and len(value) > limit:
            return f"{key} is {len(value):,} characters, over the limit of {limit:,}"
        if "\x00" in value:
            return f"{key} contains NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{key} is not valid Unicode (an unpaired surrogate)"
    return None


@dataclass(frozen=True, slots=True)
class RefusedMedia:
    """A media file that could not be stored or hashed, and why."""

    path: Path
    reason: str


def hash_media_files(
    media: MediaStore, paths: list[Path], *, max_bytes: int = 2_000_000_000
) -> list[HashedMedia | RefusedMedia]:
    """Store and hash several media files before the transaction that adds them; a file that
    cannot be hashed is kept as refused with the reason, so the others still go in."""
    results: list[HashedMedia | RefusedMedia] = []
    for path in paths:
        try:
            results.append(hash_media(media, path, max_bytes=max_bytes))
        except BadSignal as error:
            results.append(RefusedMedia(path, str(error).removeprefix(f"{path.name}: ")))
    return results


def add_media_files(
    connection: Connection,
    bank: str,
    files: list[HashedMedia | RefusedMedia],
    *,
    actor: str,
    now: datetime,
    **labels: Any,
) -> tuple[list[EntryInfo], list[str]]:
    """Add media files hashed by ``hash_media_files`` to a bank; a refused file is quarantined
    with the reason and the others are still added. Returns (entries added, problems)."""
    added: list[EntryInfo] = []
    problems: list[str] = []
    for file in files:
        if isinstance(file, HashedMedia):
            added.append(add_media(connection, bank, file, actor=actor, now=now, **labels))
            continue
        head = _head(file.path)
        record = NewQuarantine(
            "bank-media", str(file.path), "whole file", file.reason, head, len(head)
        )
        quarantine_record(connection, record, now, bank_id=_bank_id(connection, bank))
        problems.append(f"{file.path}: {file.reason}")
    return added, problems


def _head(path: Path, limit: int = 4_000_000) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(limit)
    except OSError:
        return b""


def export_bank(
    connection: Connection, bank: str, fmt: str = "csv", *, signal_types: set[str] | None = None
) -> bytes:
    """The bank's entries as a hash list (csv, json or plain)."""
    info = get_bank(connection, bank)
    rows = connection.execute(
        select(
            BankEntry.id,
            BankEntry.category,
            BankEntry.tags,
            BankEntry.source_org,
            BankEntry.added_at,
            BankEntry.note,
            BankEntry.enabled,
            BankSignal.signal_type,
            BankSignal.value,
        )
        .join(BankSignal, BankSignal.entry_id == BankEntry.id)
        .where(BankEntry.bank_id == info.id)
        .order_by(BankEntry.id, BankSignal.id)
    ).all()
    wanted = [r for r in rows if signal_types is None or r.signal_type in signal_types]
    if fmt == "csv":
        return write_csv(
            [
                {
                    "signal_type": r.signal_type,
                    "signal": r.value,
                    "category": r.category or "",
                    "tags": r.tags or "",
                    "source_org": r.source_org or "",
                    "added_at": r.added_at.isoformat(),
                    "note": r.note or "",
                }
                for r in wanted
            ]
        )
    if fmt == "plain":
        return "".join(f"{r.signal_type} {r.value}\n" for r in wanted).encode("utf-8")
    if fmt == "json":
        entries: dict[int, dict[str, Any]] = {}
        for r in wanted:
            entry = entries.setdefault(
                r.id,
                {
                    "id": r.id,
                    "signals": {},
                    "category": r.category,
                    "tags": r.tags,
                    "source_org": r.source_org,
                    "added_at": r.added_at.isoformat(),
                    "note": r.note,
                    "enabled": r.enabled,
                },
            )
            entry["signals"].setdefault(r.signal_type, r.value)  # one value per type, as HMA
        document = {
            "bank": info.as_dict(),
            "columns": list(CSV_COLUMNS),
            "entries": list(entries.values()),
        }
        return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
    raise Invalid(f"unknown export format {fmt!r} (csv, json, plain)")
