"""One item as the platform that sent it needs to see it: what redline found and decided.

Its media, its signals (the item's, its media's and its text's), its bank matches, its
classifier scores, its Case and the decisions on it (with the designated organisation or
movement a verdict named); ``processed`` says which stages have left their mark, so a client
polling after ``POST /api/v1/items`` knows when to stop. A reviewer reading it is shown what
the case file would show them: no other person's decision before their own (blind review).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from redline.errors import NotFound
from redline.jsontext import jsonable_dict
from redline.model import (
    Bank,
    BankEntry,
    Case,
    Decision,
    Designation,
    Item,
    ItemMedia,
    Match,
    Media,
    Score,
    Signal,
    Source,
    TextBody,
    TextScan,
    User,
)
from redline.review.accounts import Reviewer
from redline.review.casefile import blind_to_earlier


def item_record(connection: Connection, item_id: int, reader: Reviewer) -> dict[str, Any]:
    """Everything redline holds about the item that ``reader`` may see, as plain data; NotFound
    when there is none."""
    row = connection.execute(
        select(
            Item.id,
            Source.name.label("source"),
            Item.external_id,
            Item.revision,
            Item.account,
            Item.account_name,
            Item.posted_at,
            Item.url,
            Item.text_sha256,
            TextBody.body.label("text"),
            Item.ingested_at,
        )
        .join(Source, Source.id == Item.source_id)
        .outerjoin(TextBody, TextBody.sha256 == Item.text_sha256)
        .where(Item.id == item_id)
    ).first()
    if row is None:
        raise NotFound(f"no item {item_id}")
    data = jsonable_dict({k: v for k, v in row._mapping.items() if k != "text_sha256"})
    media = connection.execute(
        select(Media.sha256, Media.kind, Media.mime, Media.size, Media.width, Media.height)
        .join(ItemMedia, ItemMedia.media_sha256 == Media.sha256)
        .where(ItemMedia.item_id == item_id)
        .order_by(ItemMedia.position)
    ).all()
    hashes = [m.sha256 for m in media]
    owners = [Signal.item_id == item_id, Signal.media_sha256.in_(hashes)]
    if row.text_sha256 is not None:
        owners.append(Signal.text_sha256 == row.text_sha256)
    signals = connection.execute(
        select(
            Signal.media_sha256,
            Signal.text_sha256,
            Signal.signal_type,
            Signal.value,
            Signal.quality,
        )
        .where(or_(*owners), Signal.value != "")
        .order_by(Signal.id)
    ).all()
    match_owners = [Match.media_sha256.in_(hashes)]
    if row.text_sha256 is not None:
        match_owners.append(Match.text_sha256 == row.text_sha256)
    matches = connection.execute(
        select(
            Match.id,
            Match.media_sha256,
            Match.signal_type,
            Match.distance,
            Bank.name.label("bank"),
            Match.bank_entry_id,
            BankEntry.category,
            Match.created_at,
        )
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(or_(*match_owners))
        .order_by(Match.id)
    ).all()
    scores = (
        connection.execute(
            select(Score.model, Score.score, Score.flagged, Score.category, Score.lang)
            .where(Score.text_sha256 == row.text_sha256)
            .order_by(Score.id)
        ).all()
        if row.text_sha256 is not None
        else []
    )
    case = connection.execute(
        select(
            Case.id,
            Case.status,
            Case.priority,
            Case.reason,
            Case.signal,
            Case.category,
            Case.opened_at,
            Case.updated_at,
        ).where(Case.item_id == item_id)
    ).first()
    decisions = (
        connection.execute(
            select(
                Decision.id,
                Decision.user_id,
                User.username.label("reviewer"),
                Decision.verdict,
                Decision.category,
                Decision.reason,
                Designation.name.label("designation"),
                Decision.status_before,
                Decision.status_after,
                Decision.created_at,
                Decision.undone_at,
            )
            .join(User, User.id == Decision.user_id)
            .outerjoin(Designation, Designation.id == Decision.designation_id)
            .where(Decision.case_id == case.id)
            .order_by(Decision.id)
        ).all()
        if case is not None
        else []
    )
    case_data = jsonable_dict(dict(case._mapping)) if case is not None else None
    standing = {int(d.user_id) for d in decisions if d.undone_at is None}
    if case is not None and blind_to_earlier(reader, case.status, standing):
        hidden = [d for d in decisions if d.user_id != reader.id]
        decisions = [d for d in decisions if d.user_id == reader.id]
        if case_data is not None and any(d.category for d in hidden):
            case_data["category"] = None
    texts_done = (
        {
            stage
            for (stage,) in connection.execute(
                select(TextScan.stage).where(TextScan.text_sha256 == row.text_sha256)
            )
        }
        if row.text_sha256 is not None
        else set()
    )
    data.update(
        media=[jsonable_dict(dict(m._mapping)) for m in media],
        signals=[jsonable_dict(dict(s._mapping)) for s in signals],
        matches=[jsonable_dict(dict(m._mapping)) for m in matches],
        scores=[jsonable_dict(dict(s._mapping)) for s in scores],
        case=case_data,
        decisions=[
            jsonable_dict({k: v for k, v in d._mapping.items() if k != "user_id"})
            for d in decisions
        ],
        processed={"text": sorted(texts_done)},
    )
    return data
