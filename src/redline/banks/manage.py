"""Creating, changing and filling banks. Every change is audited and moves the bank's version
and the ``banks`` counter, which is how indexes and scans learn they are out of date.

Like review/ and actions/, every function works inside the caller's transaction (a
``Connection``) and takes the time as ``now``: a shell that adds several entries opens one
transaction, so they are all stored or none is. Hashing a file is done before, outside any
transaction (``hash_media``), and only storing happens inside (``add_media``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select, update

from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import Bank, BankEntry, BankSignal, FalsePositiveReport, Media
from redline.signals import BadSignal, Hash, signal_type
from redline.signals.pdq import QUALITY_THRESHOLD, PdqSignal
from redline.store import counters
from redline.store.audit import record_event
from redline.store.bank_changes import touch_bank, write_entry_enabled
from redline.store.content import insert_ignoring_duplicates
from redline.store.media import MediaStore

if TYPE_CHECKING:
    from redline.ingest.media import StoredMedia

MAX_REASON = 2000
BANK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


class UnknownBank(NotFound):
    """No bank has that name."""


class BankExists(Conflict):
    """A bank with that name already exists."""


class UnknownEntry(NotFound):
    """No bank entry has that id."""


@dataclass(frozen=True, slots=True)
class BankInfo:
    """A bank as listed."""

    id: int
    name: str
    description: str | None
    enabled: bool
    enabled_ratio: float
    pdq_threshold: int
    text_threshold: float
    containment_threshold: float
    dihedral: bool
    confirmed: bool
    version: int
    entries: int
    signals: dict[str, int]
    created_at: datetime
    updated_at: datetime
    negative: bool = False  # known benign content: its matches veto the others'
    flood_items: int = 0  # distinct media files or texts an entry may match (0: no limit) ...
    flood_minutes: int = 60  # ... within this many minutes before it is held

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and the API (times as ISO 8601)."""
        return jsonable_dict(asdict(self))


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """A bank entry with its signals."""

    id: int
    bank: str
    signals: dict[str, list[str]]
    category: str | None
    source_org: str | None
    note: str | None
    tags: str | None
    enabled: bool
    added_at: datetime
    added_by: str
    provenance: dict[str, Any] | None = None
    media_sha256: str | None = None
    qualities: dict[str, int | None] = field(default_factory=dict)


def check_name(name: str) -> str:
    """The bank name, or Invalid saying what a name may be."""
    if not BANK_NAME.fullmatch(name):
        raise Invalid(
            f"bad bank name {name[:120]!r}: up to 100 letters, digits, _ . -"
            " (not starting with . or -)"
        )
    return name


def _bank_id(connection: Connection, name: str) -> int:
    found = connection.scalar(select(Bank.id).where(Bank.name == name))
    if found is None:
        raise UnknownBank(f"no bank called {name!r}")
    return int(found)


def _info(connection: Connection, bank: Any) -> BankInfo:
    entries = connection.scalar(
        select(func.count()).select_from(BankEntry).where(BankEntry.bank_id == bank.id)
    )
    by_type = connection.execute(
        select(BankSignal.signal_type, func.count())
        .join(BankEntry, BankEntry.id == BankSignal.entry_id)
        .where(BankEntry.bank_id == bank.id)
        .group_by(BankSignal.signal_type)
    ).all()
    return BankInfo(
        id=bank.id,
        name=bank.name,
        description=bank.description,
        enabled=bank.enabled,
        enabled_ratio=bank.enabled_ratio,
        pdq_threshold=bank.pdq_threshold,
        text_threshold=bank.text_threshold,
        containment_threshold=bank.containment_threshold,
        dihedral=bank.dihedral,
        confirmed=bank.confirmed,
        negative=bank.negative,
        flood_items=bank.flood_items,
        flood_minutes=bank.flood_minutes,
        version=bank.version,
        entries=int(entries or 0),
        signals={kind: int(count) for kind, count in by_type},
        created_at=bank.created_at,
        updated_at=bank.updated_at,
    )


_BANK_COLUMNS = [c for c in Bank.__table__.columns]


def create_bank(
    connection: Connection,
    name: str,
    *,
    actor: str,
    now: datetime,
    description: str | None = None,
    enabled: bool = True,
    enabled_ratio: float = 1.0,
    pdq_threshold: int = 31,
    dihedral: bool = False,
    confirmed: bool = True,
    text_threshold: float = 0.8,
    negative: bool = False,
    flood_items: int = 0,
    flood_minutes: int = 60,
    containment_threshold: float = 0.8,
) -> BankInfo:
    """Create an empty bank. A negative bank (known benign content) is never one of confirmed
    content: its matches open no case, they veto the same content's other matches."""
    check_name(name)
    _check_text(description=description)
    if not 0 <= pdq_threshold <= 63:
        raise Invalid(f"PDQ threshold {pdq_threshold} is outside 0..63")
    if not 0.0 <= enabled_ratio <= 1.0:
        raise Invalid(f"enabled ratio {enabled_ratio} is outside 0..1")
    if not 0.3 <= text_threshold <= 1.0:
        raise Invalid(f"text threshold {text_threshold} is outside 0.3..1.0")
    _check_flood(flood_items, flood_minutes)
    _check_containment(containment_threshold)
    values = {
        "name": name,
        "description": description,
        "enabled": enabled,
        "enabled_ratio": enabled_ratio,
        "pdq_threshold": pdq_threshold,
        "text_threshold": text_threshold,
        "containment_threshold": containment_threshold,
        "dihedral": dihedral,
        "confirmed": confirmed and not negative,
        "negative": negative,
        "flood_items": flood_items,
        "flood_minutes": flood_minutes,
        "version": 0,
        "created_at": now,
        "updated_at": now,
    }
    if connection.scalar(select(Bank.id).where(Bank.name == name)) is not None:
        raise BankExists(f"a bank called {name!r} already exists")
    connection.execute(Bank.__table__.insert(), values)
    counters.bump(connection, counters.BANKS)
    after = {k: v for k, v in values.items() if k not in {"created_at", "updated_at"}}
    record_event(connection, actor, "bank.create", "bank", name, after=after)
    return _info(
        connection, connection.execute(select(*_BANK_COLUMNS).where(Bank.name == name)).one()
    )


def _check_containment(threshold: float) -> None:
    # Below half, a post that is mostly its own words would match a statement it quotes a
    # sentence of: containment is then no longer "this post is (or holds) the known text".
    if not 0.5 <= threshold <= 1.0:
        raise Invalid(f"containment threshold {threshold} is outside 0.5..1.0")


def list_banks(connection: Connection) -> list[BankInfo]:
    """Every bank, by name."""
    rows = connection.execute(select(*_BANK_COLUMNS).order_by(Bank.name)).all()
    return [_info(connection, row) for row in rows]


def get_bank(connection: Connection, name: str) -> BankInfo:
    """One bank; UnknownBank when there is none of that name."""
    row = connection.execute(select(*_BANK_COLUMNS).where(Bank.name == name)).first()
    if row is None:
        raise UnknownBank(f"no bank called {name!r}")
    return _info(connection, row)


_UPDATABLE = {
    "name",
    "description",
    "enabled",
    "text_threshold",
    "containment_threshold",
    "enabled_ratio",
    "pdq_threshold",
    "dihedral",
    "confirmed",
    "negative",
    "flood_items",
    "flood_minutes",
}


def _check_flood(items: int, minutes: int) -> None:
    """Invalid unless the flood limit is a count (0: never hold) over a positive window."""
    if not 0 <= int(items) <= 1_000_000:
        raise Invalid(f"flood limit {items} is outside 0..1000000 (0: never hold)")
    if not 1 <= int(minutes) <= 10_080:
        raise Invalid(f"flood window {minutes} minutes is outside 1..10080 (a week)")


def update_bank(
    connection: Connection, name: str, changes: Mapping[str, Any], *, actor: str, now: datetime
) -> BankInfo:
    """Change a bank's settings (name, enabled, ratio, thresholds...), audited with before/after."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}")
    if "name" in changes:
        check_name(str(changes["name"]))
    if "pdq_threshold" in changes and not 0 <= int(changes["pdq_threshold"]) <= 63:
        raise Invalid(f"PDQ threshold {changes['pdq_threshold']} is outside 0..63")
    if "text_threshold" in changes and not 0.3 <= float(changes["text_threshold"]) <= 1.0:
        raise Invalid(f"text threshold {changes['text_threshold']} is outside 0.3..1.0")
    if "enabled_ratio" in changes and not 0.0 <= float(changes["enabled_ratio"]) <= 1.0:
        raise Invalid(f"enabled ratio {changes['enabled_ratio']} is outside 0..1")
    if "containment_threshold" in changes:
        _check_containment(float(changes["containment_threshold"]))
    row = connection.execute(select(*_BANK_COLUMNS).where(Bank.name == name)).first()
    if row is None:
        raise UnknownBank(f"no bank called {name!r}")
    _check_flood(
        changes.get("flood_items", row.flood_items), changes.get("flood_minutes", row.flood_minutes)
    )
    if changes.get("negative", row.negative) and changes.get("confirmed", row.confirmed):
        raise Invalid("a negative bank holds benign content: it cannot be of confirmed content")
    new_name = changes.get("name", name)
    if new_name != name and connection.scalar(select(Bank.id).where(Bank.name == new_name)):
        raise BankExists(f"a bank called {new_name!r} already exists")
    before = {k: getattr(row, k) for k in changes}
    connection.execute(update(Bank).where(Bank.id == row.id).values(**changes))
    touch_bank(connection, row.id, now)
    record_event(
        connection, actor, "bank.update", "bank", new_name, before=before, after=dict(changes)
    )
    return _info(
        connection, connection.execute(select(*_BANK_COLUMNS).where(Bank.id == row.id)).one()
    )


def delete_bank(connection: Connection, name: str, *, actor: str) -> bool:
    """Delete a bank with its entries (and their matches); False when there was no such bank."""
    bank_id = connection.scalar(select(Bank.id).where(Bank.name == name))
    if bank_id is None:
        return False
    entries = connection.scalar(
        select(func.count()).select_from(BankEntry).where(BankEntry.bank_id == bank_id)
    )
    connection.execute(delete(Bank).where(Bank.id == bank_id))
    counters.bump(connection, counters.BANKS)
    record_event(
        connection,
        actor,
        "bank.delete",
        "bank",
        name,
        before={"name": name, "entries": entries},
    )
    return True


def _check_text(**fields: Any) -> None:
    """Refuse label text that no database can store faithfully (PostgreSQL rejects NUL)."""
    for name, value in fields.items():
        if isinstance(value, str) and "\x00" in value:
            raise Invalid(f"{name} contains a NUL character")


def _validated(signals: Mapping[str, str]) -> dict[str, str]:
    if not signals:
        raise BadSignal("no signals given")
    return {kind: signal_type(kind).validate(value) for kind, value in signals.items()}


def add_entry(
    connection: Connection,
    bank: str,
    signals: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
    category: str | None = None,
    source_org: str | None = None,
    note: str | None = None,
    tags: str | None = None,
    provenance: dict[str, Any] | None = None,
    media_sha256: str | None = None,
    hashes: Mapping[str, list[Hash]] | None = None,
) -> EntryInfo:
    """Add one piece of known content by its hashes (``{"pdq": "..."}``), audited.

    ``hashes`` carries computed hashes with qualities and extra values (a file's crop hashes)
    when the entry was made from a file; ``signals`` is then their first value per type.
    """
    clean = _validated(signals)
    _check_text(category=category, source_org=source_org, note=note, tags=tags)
    computed = dict(hashes or {kind: [Hash(value)] for kind, value in clean.items()})
    bank_id = _bank_id(connection, bank)
    entry_id = connection.execute(
        BankEntry.__table__.insert().returning(BankEntry.id),
        {
            "bank_id": bank_id,
            "category": category,
            "source_org": source_org,
            "note": note,
            "tags": tags,
            "provenance": provenance,
            "media_sha256": media_sha256,
            "enabled": True,
            "added_at": now,
            "added_by": actor,
        },
    ).scalar_one()
    rows = [
        {
            "entry_id": entry_id,
            "signal_type": kind,
            "value": h.value,
            "quality": h.quality,
            "meta": h.meta,
        }
        for kind, values in computed.items()
        for h in values
    ]
    insert_ignoring_duplicates(connection, BankSignal.__table__, rows)
    touch_bank(connection, bank_id, now, "add", [int(entry_id)])
    after = {"signals": clean, "category": category, "source_org": source_org, "note": note}
    record_event(
        connection,
        actor,
        "bank.entry.add",
        "bank_entry",
        str(entry_id),
        after=after,
        detail={"bank": bank},
    )
    return get_entry(connection, int(entry_id))


def add_text(
    connection: Connection, bank: str, text: str, *, actor: str, now: datetime, **labels: Any
) -> EntryInfo:
    """Add a known text (a statement, lyrics, a magazine paragraph) to a bank by its MinHash
    signature; the text itself is not stored, so signatures can be shared like hashes. The
    signature's meta keeps the text's word-shingle hashes and word offsets too (never shared),
    for containment matching of posts that quote part of it (``redline.signals.excerpt``)."""
    from redline.signals import excerpt
    from redline.signals.minhash import TextMinHashSignal

    (signed,) = TextMinHashSignal.compute_text(text)
    computed = Hash(
        signed.value, signed.quality, {**(signed.meta or {}), "excerpt": excerpt.banked_meta(text)}
    )
    return add_entry(
        connection,
        bank,
        {TextMinHashSignal.name: computed.value},
        actor=actor,
        now=now,
        hashes={TextMinHashSignal.name: [computed]},
        **labels,
    )


def hash_file(path: Path, kind: str) -> dict[str, list[Hash]]:
    """Every signal redline banks for a media file of ``kind`` (image or video)."""
    from redline.signals import MEDIA_SIGNALS

    hashes: dict[str, list[Hash]] = {}
    same: dict[str, str] = {}
    for name, cls in MEDIA_SIGNALS.items():
        if kind not in cls.media_kinds:
            continue
        if cls.same_value_as is not None:
            same[name] = cls.same_value_as
        else:
            hashes[name] = cls.compute(path)
    for name, other in same.items():
        hashes[name] = hashes[other]
    return hashes


@dataclass(frozen=True, slots=True)
class HashedMedia:
    """A media file put in the media store and hashed, ready for ``add_media``."""

    name: str
    stored: StoredMedia
    hashes: dict[str, list[Hash]]


def hash_media(media: MediaStore, path: Path, *, max_bytes: int = 2_000_000_000) -> HashedMedia:
    """Store a media file like ingested media and hash it; no database work, so it is done
    before the transaction that adds it. BadSignal when it is not a usable image or video."""
    from redline.ingest.media import BadMedia, store_media

    try:
        stored = store_media(path, media, max_bytes)
    except BadMedia as error:
        raise BadSignal(f"{path.name}: {error}") from None
    if stored.kind not in {"image", "video"}:
        raise BadSignal(f"{path.name}: not an image or video")
    hashes = hash_file(path, stored.kind)  # the stored copy's bytes, read where they are
    if stored.kind == "image":
        quality = hashes[PdqSignal.name][0].quality or 0
        if quality < QUALITY_THRESHOLD:
            raise BadSignal(
                f"{path.name}: image quality {quality} is below {QUALITY_THRESHOLD}:"
                " PDQ would never match it"
            )
    return HashedMedia(path.name, stored, hashes)


def add_media(
    connection: Connection,
    bank: str,
    media: HashedMedia,
    *,
    actor: str,
    now: datetime,
    **labels: Any,
) -> EntryInfo:
    """Add known content from a media file hashed by ``hash_media``: its media row and entry."""
    stored = media.stored
    insert_ignoring_duplicates(
        connection,
        Media.__table__,
        [
            {
                "sha256": stored.sha256,
                "md5": stored.md5,
                "size": stored.size,
                "kind": stored.kind,
                "mime": stored.mime,
                "width": stored.width,
                "height": stored.height,
                "path": stored.path,
                "created_at": now,
            }
        ],
    )
    first = {kind: values[0].value for kind, values in media.hashes.items() if values}
    provenance = {"file": media.name, **(labels.pop("provenance", None) or {})}
    return add_entry(
        connection,
        bank,
        first,
        actor=actor,
        now=now,
        hashes=media.hashes,
        media_sha256=stored.sha256,
        provenance=provenance,
        **labels,
    )


def get_entry(connection: Connection, entry_id: int) -> EntryInfo:
    """One bank entry with its signals; UnknownEntry when there is none."""
    row = connection.execute(
        select(*BankEntry.__table__.columns, Bank.name.label("bank_name"))
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.id == entry_id)
    ).first()
    if row is None:
        raise UnknownEntry(f"no bank entry {entry_id}")
    signals: dict[str, list[str]] = {}
    qualities: dict[str, int | None] = {}
    for kind, value, quality in connection.execute(
        select(BankSignal.signal_type, BankSignal.value, BankSignal.quality)
        .where(BankSignal.entry_id == entry_id)
        .order_by(BankSignal.id)
    ):
        signals.setdefault(kind, []).append(value)
        qualities.setdefault(kind, quality)
    return EntryInfo(
        row.id,
        row.bank_name,
        signals,
        row.category,
        row.source_org,
        row.note,
        row.tags,
        row.enabled,
        row.added_at,
        row.added_by,
        row.provenance,
        row.media_sha256,
        qualities,
    )


def get_bank_entry(connection: Connection, bank: str, entry_id: int) -> EntryInfo:
    """Entry ``entry_id`` of ``bank``; UnknownEntry when there is none or it is another bank's
    (an address that names a bank reaches only that bank's entries)."""
    entry = get_entry(connection, entry_id)
    if entry.bank != bank:
        raise UnknownEntry(f"bank {bank!r} has no entry {entry_id}")
    return entry


def set_entry_enabled(
    connection: Connection,
    entry_id: int,
    enabled: bool,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> EntryInfo:
    """Enable or disable one entry (a disabled entry never matches), audited with the reason
    for disabling it, kept on the entry until it is enabled again."""
    _check_text(reason=reason)
    row = connection.execute(
        select(BankEntry.bank_id, BankEntry.enabled, BankEntry.disabled_reason).where(
            BankEntry.id == entry_id
        )
    ).first()
    if row is None:
        raise UnknownEntry(f"no bank entry {entry_id}")
    kept = None if enabled else reason
    write_entry_enabled(connection, entry_id, row.bank_id, enabled, kept, now)
    record_event(
        connection,
        actor,
        "bank.entry.enable" if enabled else "bank.entry.disable",
        "bank_entry",
        str(entry_id),
        before={"enabled": row.enabled, "reason": row.disabled_reason},
        after={"enabled": enabled, "reason": kept},
    )
    return get_entry(connection, entry_id)


def disable_entry(
    connection: Connection, entry_id: int, reason: str, *, actor: str, now: datetime
) -> EntryInfo:
    """Disable one entry for a stated reason (reviewers' false-positive reports, say), audited;
    Invalid without a reason."""
    said = reason.strip()
    if not said:
        raise Invalid("say why the entry is disabled")
    if len(said) > MAX_REASON:
        raise Invalid(f"the reason must be at most {MAX_REASON} characters")
    return set_entry_enabled(connection, entry_id, False, actor=actor, now=now, reason=said)


def false_positive_counts(connection: Connection, entry_ids: list[int]) -> dict[int, int]:
    """How many false-positive reports reviewers made on each entry."""
    if not entry_ids:
        return {}
    rows = connection.execute(
        select(FalsePositiveReport.entry_id, func.count())
        .where(FalsePositiveReport.entry_id.in_(entry_ids))
        .group_by(FalsePositiveReport.entry_id)
    )
    return {int(entry): int(count) for entry, count in rows}


def update_entry(
    connection: Connection,
    entry_id: int,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> EntryInfo:
    """Change an entry's labels (category, source_org, note, tags), audited."""
    allowed = {"category", "source_org", "note", "tags"}
    if set(changes) - allowed:
        raise Invalid(f"cannot change {', '.join(sorted(set(changes) - allowed))}")
    _check_text(**changes)
    row = connection.execute(
        select(*BankEntry.__table__.columns).where(BankEntry.id == entry_id)
    ).first()
    if row is None:
        raise UnknownEntry(f"no bank entry {entry_id}")
    before = {k: getattr(row, k) for k in changes}
    connection.execute(update(BankEntry).where(BankEntry.id == entry_id).values(**changes))
    touch_bank(connection, row.bank_id, now, "update", [entry_id])
    record_event(
        connection,
        actor,
        "bank.entry.update",
        "bank_entry",
        str(entry_id),
        before=before,
        after=dict(changes),
    )
    return get_entry(connection, entry_id)


def delete_entry(connection: Connection, entry_id: int, *, actor: str, now: datetime) -> bool:
    """Delete one entry (and its matches); False when there was none."""
    row = connection.execute(select(BankEntry.bank_id).where(BankEntry.id == entry_id)).first()
    if row is None:
        return False
    connection.execute(delete(BankEntry).where(BankEntry.id == entry_id))
    touch_bank(connection, row.bank_id, now, "delete", [entry_id])
    record_event(connection, actor, "bank.entry.delete", "bank_entry", str(entry_id))
    return True


def search_entries(
    connection: Connection, bank: str, text: str = "", *, offset: int = 0, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """A bank's entries whose category, note, tags, source or hash contain ``text``, newest
    first: (how many match, one page of them)."""
    bank_id = _bank_id(connection, bank)
    query = select(BankEntry.id).where(BankEntry.bank_id == bank_id)
    if text:
        like = f"%{text.lower()}%"
        hashes = select(BankSignal.entry_id).where(func.lower(BankSignal.value).like(like))
        query = query.where(
            func.lower(BankEntry.category).like(like)
            | func.lower(BankEntry.note).like(like)
            | func.lower(BankEntry.tags).like(like)
            | func.lower(BankEntry.source_org).like(like)
            | BankEntry.id.in_(hashes)
        )
    total = connection.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = [
        row.id
        for row in connection.execute(
            query.order_by(BankEntry.id.desc()).offset(offset).limit(limit)
        )
    ]
    if not ids:
        return total, []
    rows = connection.execute(
        select(BankEntry.__table__).where(BankEntry.id.in_(ids)).order_by(BankEntry.id.desc())
    ).all()
    reports = false_positive_counts(connection, ids)
    kinds: dict[int, set[str]] = {}
    for entry_id, kind in connection.execute(
        select(BankSignal.entry_id, BankSignal.signal_type).where(BankSignal.entry_id.in_(ids))
    ):
        kinds.setdefault(entry_id, set()).add(kind)
    return total, [
        {
            **row._mapping,
            "signal_types": sorted(kinds.get(row.id, set())),
            "false_positives": reports.get(row.id, 0),
        }
        for row in rows
    ]
