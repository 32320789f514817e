"""What a reviewer sees on a case page: the item in context and every reason it is here.

One function, ``case_file``, reads it all in a handful of queries and returns plain data, which
the console renders and the API returns as JSON.

A second review is blind: until a reviewer has decided a case themselves, the case file shows
them none of the other decisions on it (verdict, category, note, designation), so the second
opinion is a second opinion and not a confirmation of the first. Their own decision lifts it.
Leads, admins and auditors (``case.history``), who settle disagreements and audit, see all;
so does everyone once the case is decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final, TypedDict

from sqlalchemy import Connection, Row, exists, func, or_, select

from redline.errors import NotFound
from redline.jsontext import jsonable
from redline.model import (
    Case,
    Decision,
    Item,
    ItemMedia,
    Media,
    Score,
    Signal,
    Source,
    TextBody,
    User,
)
from redline.review.accounts import Reviewer
from redline.review.decisions import CaseDecision, cluster, history, saw_earlier, undo_refusal
from redline.review.evidence import EntryEvidence, entry_evidence, matched_rows
from redline.review.queue import held_by_other, sent_to_second_review_by
from redline.review.rules import OPEN_STATUSES, CaseStatus, sla
from redline.review.taxonomy import CATEGORIES
from redline.signals import outlinks as host_classes
from redline.signals import url as url_signal
from redline.store.audit import record_event

SAME_ACCOUNT_SHOWN: Final = 10


@dataclass(frozen=True, slots=True)
class CaseItem:
    """The item a case is about, with its text and the language it was read in."""

    id: int
    source: str
    external_id: str
    revision: int
    account: str | None
    account_name: str | None
    posted_at: datetime | None
    url: str | None
    text: str | None
    text_sha256: str | None
    file: str | None
    ingested_at: datetime
    visibility: str
    lang: str | None


@dataclass(frozen=True, slots=True)
class CaseMedia:
    """One media file of the item, in the item's order."""

    sha256: str
    kind: str
    mime: str | None
    width: int | None
    height: int | None
    original_name: str | None


class CaseOutlink(TypedDict):
    """A link in the item's text, with the class of its host."""

    url: str
    host_class: str


class CaseMatch(TypedDict):
    """A bank entry the item's text or media matched, strongest evidence first."""

    signal_type: str
    distance: float
    media_sha256: str | None
    text_sha256: str | None
    detail: dict[str, Any] | None
    bank: str
    confirmed: bool
    entry_id: int
    entry_category: str | None
    entry_note: str | None
    source_org: str | None
    provenance: dict[str, Any] | None
    added_by: str


class CaseScore(TypedDict):
    """A classifier's score of the item's text, newest first."""

    model: str
    score: float
    flagged: bool
    category: str
    lang: str
    explanation: list[dict[str, Any]] | None
    created_at: datetime


class SameAccountItem(TypedDict):
    """Another item of the same account, with its case if it has one."""

    id: int
    posted_at: datetime | None
    snippet: str | None
    case_id: int | None
    status: str | None


class SameAccount(TypedDict):
    """How many other items the account posted in the source, and the latest of them."""

    count: int
    items: list[SameAccountItem]


class Duplicates(TypedDict):
    """The item's near-duplicate cluster."""

    same_text: int  # other items with the same text
    same_media: int  # other items sharing a media file
    open_cases: list[int]  # undecided cases of those items


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the reviewer reading the case file may do with it, by the review rules (so the
    page shows the forms the server would accept and computes no rule itself)."""

    mine: bool  # they hold the case (a lapsed claim of theirs included)
    taken: bool  # another reviewer's live claim keeps them off it
    can_claim: bool
    can_decide: bool  # open, not taken, and within their role (escalated cases: leads)
    awaiting_other: bool  # four-eyes: they sent it to second review, someone else decides
    undoable: frozenset[int]  # their decisions on it still inside the undo window
    blind: bool  # other people's decisions are withheld until they decide (``withheld``)
    saw_earlier: bool  # they took back a decision that showed them others': someone else decides


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A case with its item, signals, scores and neighbourhood, as plain data, and what the
    reviewer who asked for it may do (``viewer``, not part of the JSON)."""

    id: int
    status: str
    priority: int
    reason: str
    category: str | None
    suggested_category: str | None  # the signals' category, offered but never pre-selected
    opened_at: datetime
    due_at: datetime
    assignee: str | None
    claimed_at: datetime | None
    item: CaseItem
    viewer: Viewer
    media: list[CaseMedia]
    outlinks: list[CaseOutlink]
    matches: list[CaseMatch]
    evidence: list[EntryEvidence]  # the matches, one block per bank entry, beside the post
    scores: list[CaseScore]
    same_account: SameAccount
    duplicates: Duplicates
    decisions: list[CaseDecision]
    withheld: int  # other people's decisions not shown: the reader's second review is blind

    @property
    def open(self) -> bool:
        """Whether the case still needs someone."""
        return self.status in OPEN_STATUSES

    @property
    def designation(self) -> str | None:
        """The designated organisation or movement the final violating verdict named."""
        if self.status != CaseStatus.VIOLATING:
            return None
        standing = [d for d in self.decisions if d.undone_at is None and d.verdict == "violating"]
        return standing[-1].designation if standing else None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (timestamps as ISO 8601), without the viewer's flags."""
        data: dict[str, Any] = jsonable(asdict(self))
        del data["viewer"]
        data["designation"] = self.designation
        return data


def blind_to_earlier(reviewer: Reviewer, status: str, standing: set[int]) -> bool:
    """Whether other people's decisions on a case are withheld from ``reviewer``: the case is
    undecided, they may not read its history before deciding (``case.history``: leads, admins,
    auditors may), and no decision of theirs on it stands (``standing``: who has one)."""
    return (
        status in OPEN_STATUSES and not reviewer.can("case.history") and reviewer.id not in standing
    )


def suggested_category(matches: list[CaseMatch], scores: list[CaseScore]) -> str | None:
    """The category the signals point to: a confirmed bank entry's, else the flagging model's."""
    for match in matches:
        if match["entry_category"] in CATEGORIES:
            return match["entry_category"]
    for score in scores:
        if score["flagged"] and score["category"] in CATEGORIES:
            return score["category"]
    return None


def view_case(
    connection: Connection, reviewer: Reviewer, case_id: int, now: datetime, *, via: str = ""
) -> CaseFile:
    """``case_file``, for a reviewer reading the case: the view is audited (``via`` "api" for
    the JSON API)."""
    found = case_file(connection, reviewer, case_id, now)
    detail = {"via": via} if via else None
    record_event(connection, reviewer.actor, "case.view", "case", str(case_id), detail=detail)
    return found


def case_file(connection: Connection, reviewer: Reviewer, case_id: int, now: datetime) -> CaseFile:
    """Everything about one case, and what ``reviewer`` may do with it at ``now``; NotFound
    when there is no such case."""
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
    item_data = {
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
        CaseMedia(**r._mapping)
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
            .where(ItemMedia.item_id == item_data["id"])
            .order_by(ItemMedia.position)
        )
    ]
    scores = (
        [
            CaseScore(
                model=r.model,
                score=r.score,
                flagged=r.flagged,
                category=r.category,
                lang=r.lang,
                explanation=r.explanation,
                created_at=r.created_at,
            )
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
                .where(Score.text_sha256 == item_data["text_sha256"])
                .order_by(Score.created_at.desc())
            )
        ]
        if item_data["text_sha256"]
        else []
    )
    item = CaseItem(**item_data, lang=scores[0]["lang"] if scores else case["lang"])
    decided = history(connection, case_id)
    status = case["status"]
    seen = saw_earlier(reviewer, decided)
    blind = not seen and blind_to_earlier(
        reviewer, status, {d.user_id for d in decided if d.undone_at is None}
    )
    shown = [d for d in decided if d.user_id == reviewer.id] if blind else decided
    category = case["category"]
    if blind and any(d.category for d in decided if d.user_id != reviewer.id):
        # Written by a decision before verdicts named the case's category only when final.
        category = None
    taken = held_by_other(case["assignee_id"], case["claimed_at"], reviewer, now)
    is_open = status in OPEN_STATUSES
    viewer = Viewer(
        mine=case["assignee_id"] == reviewer.id,
        taken=taken,
        can_claim=is_open
        and case["assignee_id"] != reviewer.id
        and not taken
        and reviewer.can("case.claim"),
        can_decide=is_open
        and not taken
        and not seen
        and reviewer.can("case.decide")
        and (status != CaseStatus.ESCALATED or reviewer.can("case.escalated")),
        awaiting_other=status == CaseStatus.SECOND_REVIEW
        and connection.scalar(
            select(exists(sent_to_second_review_by(reviewer).where(Decision.case_id == case_id)))
        )
        is True,
        undoable=frozenset(d.id for d in decided if undo_refusal(d, reviewer, now) is None),
        blind=blind,
        saw_earlier=seen,
    )
    matched = matched_rows(connection, item.text_sha256, [m.sha256 for m in media])
    matches = _matches(matched)
    return CaseFile(
        id=case["id"],
        status=case["status"],
        priority=case["priority"],
        reason=case["reason"],
        category=category,
        # The signals' category; else the one routing gave the case (an undecided case's is
        # never a reviewer's: verdicts name it only when final).
        suggested_category=suggested_category(matches, scores) or (category if is_open else None),
        opened_at=case["opened_at"],
        due_at=case["opened_at"] + sla(case["priority"]),
        assignee=case["assignee"],
        claimed_at=case["claimed_at"],
        item=item,
        viewer=viewer,
        media=media,
        outlinks=_outlinks(connection, item),
        matches=matches,
        evidence=entry_evidence(connection, reviewer, case_id, item.text, matched, blind=blind),
        scores=scores,
        same_account=_same_account(connection, item),
        duplicates=_duplicates(connection, case_id, item, media),
        decisions=shown,
        withheld=len(decided) - len(shown),
    )


def _outlinks(connection: Connection, item: CaseItem) -> list[CaseOutlink]:
    owners = [Signal.item_id == item.id]
    if item.text_sha256:
        owners.append(Signal.text_sha256 == item.text_sha256)
    rows = connection.execute(
        select(Signal.value)
        .where(Signal.signal_type == url_signal.SIGNAL_TYPE, or_(*owners))
        .order_by(Signal.id)
    )
    return [CaseOutlink(url=value, host_class=host_classes.classify(value)) for (value,) in rows]


def _matches(rows: Sequence[Row[Any]]) -> list[CaseMatch]:
    return [
        CaseMatch(
            signal_type=r.signal_type,
            distance=r.distance,
            media_sha256=r.media_sha256,
            text_sha256=r.text_sha256,
            detail=r.detail,
            bank=r.bank,
            confirmed=r.confirmed,
            entry_id=r.entry_id,
            entry_category=r.category,
            entry_note=r.note,
            source_org=r.source_org,
            provenance=r.provenance,
            added_by=r.added_by,
        )
        for r in rows
    ]


def _same_account(connection: Connection, item: CaseItem) -> SameAccount:
    if not item.account:
        return SameAccount(count=0, items=[])
    same = (
        Item.account == item.account,
        Item.id != item.id,
        Item.source_id == select(Item.source_id).where(Item.id == item.id).scalar_subquery(),
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
    items = [
        SameAccountItem(
            id=r.id, posted_at=r.posted_at, snippet=r.snippet, case_id=r.case_id, status=r.status
        )
        for r in rows
    ]
    return SameAccount(count=count, items=items)


def _duplicates(
    connection: Connection, case_id: int, item: CaseItem, media: list[CaseMedia]
) -> Duplicates:
    same_text = 0
    if item.text_sha256:
        same_text = (
            connection.scalar(
                select(func.count())
                .select_from(Item)
                .where(Item.text_sha256 == item.text_sha256, Item.id != item.id)
            )
            or 0
        )
    same_media = 0
    if media:
        same_media = (
            connection.scalar(
                select(func.count(func.distinct(ItemMedia.item_id))).where(
                    ItemMedia.media_sha256.in_([m.sha256 for m in media]),
                    ItemMedia.item_id != item.id,
                )
            )
            or 0
        )
    open_cases = cluster(connection, case_id)
    return Duplicates(same_text=same_text, same_media=same_media, open_cases=open_cases)
