"""What bank entries matched: for each entry, how many matches it made and the cases they
opened, so a lead can judge an entry by its results; and the media file of an entry added from
a file or a case, for its blurred thumbnail."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Connection, select

from redline.errors import NotFound
from redline.model import Bank, BankEntry, Case, Item, ItemMedia, Match, Media

# The cases listed per entry; the count covers them all.
CASES_SHOWN: Final = 5


@dataclass(frozen=True, slots=True)
class EntryMatches:
    """How many matches an entry made, and the first cases they opened (by case id)."""

    matches: int = 0
    cases: list[int] = field(default_factory=list)
    more_cases: int = 0


def entry_matches(connection: Connection, entry_ids: Iterable[int]) -> dict[int, EntryMatches]:
    """Matches and cases of each of ``entry_ids`` (entries without a match are left out)."""
    ids = list(entry_ids)
    if not ids:
        return {}
    counts: dict[int, int] = {}
    for entry_id in connection.scalars(
        select(Match.bank_entry_id).where(Match.bank_entry_id.in_(ids))
    ):
        counts[entry_id] = counts.get(entry_id, 0) + 1
    by_media = (
        select(Match.bank_entry_id, Case.id)
        .join(ItemMedia, ItemMedia.media_sha256 == Match.media_sha256)
        .join(Case, Case.item_id == ItemMedia.item_id)
        .where(Match.bank_entry_id.in_(ids))
    )
    by_text = (
        select(Match.bank_entry_id, Case.id)
        .join(Item, Item.text_sha256 == Match.text_sha256)
        .join(Case, Case.item_id == Item.id)
        .where(Match.bank_entry_id.in_(ids))
    )
    cases: dict[int, set[int]] = {}
    for query in (by_media, by_text):
        for entry_id, case_id in connection.execute(query):
            cases.setdefault(entry_id, set()).add(int(case_id))
    found = {}
    for entry_id, count in counts.items():
        opened = sorted(cases.get(entry_id, set()))
        found[entry_id] = EntryMatches(
            count, opened[:CASES_SHOWN], max(0, len(opened) - CASES_SHOWN)
        )
    return found


def entry_media(connection: Connection, bank: str, entry_id: int) -> tuple[str, str]:
    """(path, kind) of the media file a bank entry was added from; NotFound for an entry of
    another bank, or one added from hashes alone."""
    row = connection.execute(
        select(Media.path, Media.kind)
        .join(BankEntry, BankEntry.media_sha256 == Media.sha256)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(BankEntry.id == entry_id, Bank.name == bank)
    ).first()
    if row is None:
        raise NotFound(f"bank {bank!r} has no entry {entry_id} with a media file")
    return row.path, row.kind


def entries_with_media(connection: Connection, entry_ids: Iterable[int]) -> set[int]:
    """Which of ``entry_ids`` were added from an image or a video redline keeps."""
    ids = list(entry_ids)
    if not ids:
        return set()
    return set(
        connection.scalars(
            select(BankEntry.id)
            .join(Media, Media.sha256 == BankEntry.media_sha256)
            .where(BankEntry.id.in_(ids), Media.kind.in_(("image", "video")))
        )
    )
