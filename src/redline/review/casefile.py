"""What a reviewer sees on a case page: the item in context and every reason it is here.

One function, ``case_file``, reads it all in a handful of queries and returns plain data, which
the console renders and the API returns as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, func, or_, select

from redline.jsontext import jsonable
from redline.model import (
    Bank,
    BankEntry,
    Case,
    Item,
    ItemMedia,
    Match,
    Media,
    Score,
    Signal,
    Source,
    TextBody,
    User,
)
from redline.review.accounts import Reviewer
from redline.review.decisions import cluster, history
from redline.review.errors import NotFound
from redline.review.queue import sla
from redline.signals import outlinks as host_classes
from redline.signals import url as url_signal

SAME_ACCOUNT_SHOWN: Final = 10


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A case with its item, signals, scores and neighbourhood, as plain data."""

    id: int
    status: str
    priority: int
    reason: str
    category: str | None
    opened_at: datetime
    due_at: datetime
    assignee: str | None
    claimed_at: datetime | None
    item: dict[str, Any]
    media: list[dict[str, Any]] = field(default_factory=list)
    outlinks: list[dict[str, Any]] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    same_account: dict[str, Any] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (timestamps as ISO 8601)."""
        data: dict[str, Any] = jsonable(asdict(self))
        return data


def case_file(connection: Connection, reviewer: Reviewer, case_id: int) -> CaseFile:
    """Everything about one case; NotFound when there is no such case."""
    reviewer.require("case.view")
    row = connection.execute(
        select(Case.__table__, User.username.label("assignee"))
        .outerjoin(User, User.id == Case.assignee_id)
        .where(Case.id == case_id)
    ).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    case = row._mapping
    item_row = connection.execute(
        select(Item.__table__, Source.name.label("source"), TextBody.body.label("text"))
        .join(Source, Source.id == Item.source_id)
        .outerjoin(TextBody, TextBody.sha256 == Item.text_sha256)
        .where(Item.id == case["item_id"])
    ).one()
    item = {
        key: item_row._mapping[key]
        for key in (
            "id",
            "source",
            "external_id",
            "revision",
            "account",
            "account_name",
            "posted_at",
            "url",
            "text",
            "text_sha256",
            "file",
            "ingested_at",
            "visibility",
        )
    }
    media = [
        dict(r._mapping)
        for r in connection.execute(
            select(
                Media.sha256,
                Media.kind,
                Media.mime,
                Media.width,
                Media.height,
                ItemMedia.original_name,
            )
            .join(ItemMedia, ItemMedia.media_sha256 == Media.sha256)
            .where(ItemMedia.item_id == item["id"])
            .order_by(ItemMedia.position)
        )
    ]
    scores = (
        [
            dict(r._mapping)
            for r in connection.execute(
                select(
                    Score.model,
                    Score.score,
                    Score.flagged,
                    Score.category,
                    Score.lang,
                    Score.explanation,
                    Score.created_at,
                )
                .where(Score.text_sha256 == item["text_sha256"])
                .order_by(Score.created_at.desc())
            )
        ]
        if item["text_sha256"]
        else []
    )
    item["lang"] = scores[0]["lang"] if scores else case["lang"]
    return CaseFile(
        id=case["id"],
        status=case["status"],
        priority=case["priority"],
        reason=case["reason"],
        category=case["category"],
        opened_at=case["opened_at"],
        due_at=case["opened_at"] + sla(case["priority"]),
        assignee=case["assignee"],
        claimed_at=case["claimed_at"],
        item=item,
        media=media,
        outlinks=_outlinks(connection, item),
        matches=_matches(connection, item, media),
        scores=scores,
        same_account=_same_account(connection, item),
        duplicates=_duplicates(connection, case_id, item, media),
        decisions=history(connection, case_id),
    )


def _outlinks(connection: Connection, item: dict[str, Any]) -> list[dict[str, Any]]:
    owners = [Signal.item_id == item["id"]]
    if item["text_sha256"]:
        owners.append(Signal.text_sha256 == item["text_sha256"])
    rows = connection.execute(
        select(Signal.value)
        .where(Signal.signal_type == url_signal.SIGNAL_TYPE, or_(*owners))
        .order_by(Signal.id)
    )
    return [{"url": value, "host_class": host_classes.classify(value)} for (value,) in rows]


def _matches(
    connection: Connection, item: dict[str, Any], media: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    owners = []
    if media:
        owners.append(Match.media_sha256.in_([m["sha256"] for m in media]))
    if item["text_sha256"]:
        owners.append(Match.text_sha256 == item["text_sha256"])
    if not owners:
        return []
    rows = connection.execute(
        select(
            Match.signal_type,
            Match.distance,
            Match.media_sha256,
            Match.text_sha256,
            Match.detail,
            Bank.name.label("bank"),
            Bank.confirmed,
            BankEntry.id.label("entry_id"),
            BankEntry.category.label("entry_category"),
            BankEntry.note.label("entry_note"),
            BankEntry.source_org,
            BankEntry.provenance,
            BankEntry.added_by,
        )
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(or_(*owners))
        .order_by(Bank.confirmed.desc(), Match.distance)
    )
    return [dict(r._mapping) for r in rows]


def _same_account(connection: Connection, item: dict[str, Any]) -> dict[str, Any]:
    if not item["account"]:
        return {"count": 0, "items": []}
    same = (
        Item.account == item["account"],
        Item.id != item["id"],
        Item.source_id == select(Item.source_id).where(Item.id == item["id"]).scalar_subquery(),
    )
    count = connection.scalar(select(func.count()).select_from(Item).where(*same)) or 0
    rows = connection.execute(
        select(
            Item.id,
            Item.posted_at,
            func.substr(TextBody.body, 1, 160).label("snippet"),
            Case.id.label("case_id"),
            Case.status,
        )
        .outerjoin(TextBody, TextBody.sha256 == Item.text_sha256)
        .outerjoin(Case, Case.item_id == Item.id)
        .where(*same)
        .order_by(Item.posted_at.desc(), Item.id.desc())
        .limit(SAME_ACCOUNT_SHOWN)
    )
    return {"count": count, "items": [dict(r._mapping) for r in rows]}


def _duplicates(
    connection: Connection, case_id: int, item: dict[str, Any], media: list[dict[str, Any]]
) -> dict[str, Any]:
    same_text = 0
    if item["text_sha256"]:
        same_text = (
            connection.scalar(
                select(func.count())
                .select_from(Item)
                .where(Item.text_sha256 == item["text_sha256"], Item.id != item["id"])
            )
            or 0
        )
    same_media = 0
    if media:
        same_media = (
            connection.scalar(
                select(func.count(func.distinct(ItemMedia.item_id))).where(
                    ItemMedia.media_sha256.in_([m["sha256"] for m in media]),
                    ItemMedia.item_id != item["id"],
                )
            )
            or 0
        )
    open_cases = cluster(connection, case_id)
    return {"same_text": same_text, "same_media": same_media, "open_cases": open_cases}
