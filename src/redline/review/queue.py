"""The review queue: what waits, in which order, and who is working on what.

Order is priority (a confirmed bank match first, then classifier scores, high to low), then age.
A claim gives one reviewer a case for ``CLAIM_TTL``; a claim left alone that long lapses, so a
reviewer who walks away does not hold cases hostage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, update

from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import (
    Bank,
    Case,
    Decision,
    Item,
    ItemMedia,
    Media,
    Signal,
    Source,
    TextBody,
    User,
)
from redline.review.accounts import Reviewer
from redline.review.protection import require_no_break
from redline.review.rules import FINAL_STATUSES, OPEN_STATUSES, STATUSES, CaseStatus, sla
from redline.signals.textnorm import NEAR_IDENTICAL
from redline.store.audit import record_event

CLAIM_TTL: Final = timedelta(minutes=30)
PAGE: Final = 50
SIGNALS: Final = ("bank", "classifier", "sample")
# Review order, the order of the ix_cases_queue index: priority high to low, then oldest.
QUEUE_ORDER: Final = (Case.priority.desc(), Case.opened_at, Case.id)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What a queue page shows; empty fields do not filter."""

    status: str = CaseStatus.OPEN
    source: str | None = None
    lang: str | None = None
    signal: str | None = None
    category: str | None = None
    assignee: str | None = None  # a username, or "me" / "none"

    @property
    def open(self) -> bool:
        """Whether the page lists cases that still need someone."""
        return self.status in OPEN_STATUSES

    def params(self) -> dict[str, str]:
        """The filter as the non-empty fields it was given: what a link or form carries so the
        next page (the next case, the page after a decision, the queue) keeps the same view."""
        return {
            name: str(value)
            for name in ("status", "source", "lang", "signal", "category", "assignee")
            if (value := getattr(self, name))
        }

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise Invalid(f"unknown status {self.status!r} (statuses: {', '.join(STATUSES)})")
        if self.signal is not None and self.signal not in SIGNALS:
            raise Invalid(f"unknown signal {self.signal!r} (signals: {', '.join(SIGNALS)})")
        for name in ("source", "lang", "category", "assignee"):
            value = getattr(self, name)
            if value is not None and len(value) > 200:
                raise Invalid(f"{name} filter too long")


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One case as the queue lists it."""

    id: int
    status: str
    priority: int
    reason: str
    signal: str | None
    category: str | None
    lang: str | None
    source: str
    account_name: str | None
    account: str | None
    snippet: str
    opened_at: datetime
    due_at: datetime
    assignee: str | None
    claimed_live: bool

    @property
    def open(self) -> bool:
        """Whether the case still needs someone (and so has an SLA to keep)."""
        return self.status in OPEN_STATUSES

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (times as ISO 8601), without the viewer's ``claimed_live``."""
        data = jsonable_dict(asdict(self))
        del data["claimed_live"]
        return data


def _query(reviewer: Reviewer, where: QueueFilter) -> Select[Any]:
    columns = (
        Case.id,
        Case.status,
        Case.priority,
        Case.reason,
        Case.signal,
        Case.category,
        Case.lang,
        Case.opened_at,
        Case.claimed_at,
        Source.name.label("source"),
        Item.account_name,
        Item.account,
        func.substr(TextBody.body, 1, 160).label("snippet"),
        User.username.label("assignee"),
    )
    query = (
        select(*columns)
        .join(Item, Item.id == Case.item_id)
        .join(Source, Source.id == Item.source_id)
        .outerjoin(TextBody, TextBody.sha256 == Item.text_sha256)
        .outerjoin(User, User.id == Case.assignee_id)
    )
    return query.where(*_conditions(reviewer, where))


def _conditions(reviewer: Reviewer, where: QueueFilter) -> list[ColumnElement[bool]]:
    """``where`` as SQL conditions on cases (with sources and users joined when it names a
    source or an assignee by name): the one definition of what a queue view holds."""
    found: list[ColumnElement[bool]] = [Case.status == where.status]
    if where.source:
        found.append(Source.name == where.source)
    for column, value in (
        (Case.lang, where.lang),
        (Case.signal, where.signal),
        (Case.category, where.category),
    ):
        if value:
            found.append(column == value)
    if where.assignee == "me":
        found.append(Case.assignee_id == reviewer.id)
    elif where.assignee == "none":
        found.append(Case.assignee_id.is_(None))
    elif where.assignee:
        found.append(User.username == where.assignee)
    return found


def _lean(column: Any, reviewer: Reviewer, where: QueueFilter) -> Select[Any]:
    """``column`` of the cases under ``where``, joining only what a filter needs: counting a
    tab walks the queue index instead of joining every case to its item, text and assignee."""
    query = select(column).select_from(Case)
    if where.source:
        query = query.join(Item, Item.id == Case.item_id).join(Source, Source.id == Item.source_id)
    if where.assignee and where.assignee not in ("me", "none"):
        query = query.join(User, User.id == Case.assignee_id)
    return query.where(*_conditions(reviewer, where))


def list_queue(
    connection: Connection,
    reviewer: Reviewer,
    where: QueueFilter,
    now: datetime,
    *,
    offset: int = 0,
    limit: int = PAGE,
) -> list[QueueRow]:
    """One page of the queue under ``where``, in review order."""
    reviewer.require("queue.view")
    if not (0 <= offset <= 10_000_000 and 1 <= limit <= 500):
        raise Invalid("offset or limit out of range")
    order = QUEUE_ORDER
    if where.status in FINAL_STATUSES:  # decided cases: the latest first
        order = (Case.decided_at.desc(), Case.id.desc())  # type: ignore[assignment]
    rows = connection.execute(_query(reviewer, where).order_by(*order).offset(offset).limit(limit))
    return [
        QueueRow(
            id=r.id,
            status=r.status,
            priority=r.priority,
            reason=r.reason,
            signal=r.signal,
            category=r.category,
            lang=r.lang,
            source=r.source,
            account_name=r.account_name,
            account=r.account,
            snippet=r.snippet or "",
            opened_at=r.opened_at,
            due_at=r.opened_at + sla(r.priority),
            assignee=r.assignee,
            claimed_live=not is_lapsed(r.claimed_at, now),
        )
        for r in rows
    ]


COUNT_CAP: Final = 1000


def count_open(connection: Connection) -> dict[str, int]:
    """Cases per open status for the queue's tabs, counted up to ``COUNT_CAP`` + 1 (shown as
    "1000+"): an exact count would read every open case on every queue page."""
    counts: dict[str, int] = {}
    for status in OPEN_STATUSES:
        capped = select(Case.id).where(Case.status == status).limit(COUNT_CAP + 1).subquery()
        counts[status] = connection.scalar(select(func.count()).select_from(capped)) or 0
    return counts


def case_status(connection: Connection, case_id: int) -> Any:
    """The case's status, assignee and claim time; NotFound when there is no such case."""
    row = connection.execute(
        select(Case.id, Case.status, Case.assignee_id, Case.claimed_at, Case.priority).where(
            Case.id == case_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def claim_lapsed(now: datetime) -> ColumnElement[bool]:
    """SQL: the case's claim holds nobody off any more (never timed, or older than ``CLAIM_TTL``).

    The one definition of a lapsed claim: ``is_lapsed`` is the same rule for a row in hand.
    """
    return or_(Case.claimed_at.is_(None), Case.claimed_at <= now - CLAIM_TTL)


def is_lapsed(claimed_at: datetime | None, now: datetime) -> bool:
    """``claim_lapsed`` for a claim time already read."""
    return claimed_at is None or claimed_at <= now - CLAIM_TTL


def free_for(reviewer: Reviewer, now: datetime) -> ColumnElement[bool]:
    """SQL: ``reviewer`` may take the case: nobody holds it, they do, or the claim lapsed."""
    return or_(Case.assignee_id.is_(None), Case.assignee_id == reviewer.id, claim_lapsed(now))


def held_by_other(
    assignee_id: int | None, claimed_at: datetime | None, reviewer: Reviewer, now: datetime
) -> bool:
    """``free_for``, negated, for a row in hand: another reviewer's live claim keeps
    ``reviewer`` off this case."""
    return assignee_id not in (None, reviewer.id) and not is_lapsed(claimed_at, now)


def _take(connection: Connection, reviewer: Reviewer, case_id: int, now: datetime) -> None:
    claimable = and_(Case.id == case_id, Case.status.in_(OPEN_STATUSES), free_for(reviewer, now))
    # One conditional UPDATE: two reviewers claiming at once cannot both win.
    taken = connection.execute(
        update(Case).where(claimable).values(assignee_id=reviewer.id, claimed_at=now)
    ).rowcount
    if taken:
        return
    row = case_status(connection, case_id)
    if row.status in FINAL_STATUSES:
        raise Conflict(f"case {case_id} is decided already ({row.status})")
    raise Conflict(f"case {case_id} is claimed by another reviewer")


def claim(connection: Connection, reviewer: Reviewer, case_id: int, now: datetime) -> None:
    """Take a case; audited. Conflict if another reviewer holds a live claim or it is decided."""
    reviewer.require("case.claim")
    require_no_break(connection, reviewer, now)
    _take(connection, reviewer, case_id, now)
    record_event(connection, reviewer.actor, "case.claim", "case", str(case_id))


def release(connection: Connection, reviewer: Reviewer, case_id: int) -> None:
    """Give a claimed case back to the queue (one's own, or any for a lead); audited."""
    reviewer.require("case.claim")
    row = case_status(connection, case_id)
    if row.assignee_id not in (None, reviewer.id) and not reviewer.can("case.assign"):
        raise Conflict(f"case {case_id} is claimed by another reviewer")
    connection.execute(
        update(Case).where(Case.id == case_id).values(assignee_id=None, claimed_at=None)
    )
    record_event(connection, reviewer.actor, "case.release", "case", str(case_id))


def assign(
    connection: Connection, lead: Reviewer, case_id: int, username: str, now: datetime
) -> None:
    """A lead hands a case to a reviewer, whoever holds it now; audited."""
    lead.require("case.assign")
    row = case_status(connection, case_id)
    if row.status in FINAL_STATUSES:
        raise Conflict(f"case {case_id} is decided already ({row.status})")
    user = connection.execute(
        select(User.id, User.role, User.disabled).where(User.username == username)
    ).first()
    if user is None or user.disabled or user.role == "auditor":
        raise Invalid(f"{username!r} is not an active user who can review")
    # A lead cannot hand work to someone the cap has sent on a break: lifting it is the way.
    require_no_break(connection, Reviewer(user.id, username, user.role), now)
    connection.execute(
        update(Case).where(Case.id == case_id).values(assignee_id=user.id, claimed_at=now)
    )
    record_event(
        connection,
        lead.actor,
        "case.assign",
        "case",
        str(case_id),
        before={"assignee_id": row.assignee_id},
        after={"assignee": username},
    )


def sent_to_second_review_by(reviewer: Reviewer) -> Select[Any]:
    """SQL: the cases ``reviewer`` sent to second review (decision in force). The four-eyes rule
    keeps them from being that case's second reviewer: the queue does not hand them these
    cases and the case page shows them it waits for someone else."""
    return select(Decision.case_id).where(
        Decision.user_id == reviewer.id,
        Decision.status_after == CaseStatus.SECOND_REVIEW,
        Decision.undone_at.is_(None),
    )


def next_case(
    connection: Connection, reviewer: Reviewer, where: QueueFilter, now: datetime
) -> int | None:
    """Claim and return the first case in ``where`` that nobody else holds; None when empty."""
    reviewer.require("case.claim")
    require_no_break(connection, reviewer, now)
    query = _query(reviewer, where).where(free_for(reviewer, now))
    if where.status == CaseStatus.SECOND_REVIEW:
        # A case waiting for a second reviewer is never handed back to the first one.
        query = query.where(Case.id.not_in(sent_to_second_review_by(reviewer)))
    query = query.order_by(*QUEUE_ORDER)
    for row in connection.execute(query.limit(20)):
        try:
            # Not audited as a claim, as before: the page it opens records the view.
            _take(connection, reviewer, row.id, now)
        except Conflict:  # taken between the read and the claim: try the next one
            continue
        return int(row.id)
    return None


# --- The queue page: tabs, languages, plain reasons, thumbnails, near-identical rows ---------

BULK_MAX: Final = 200
LANGUAGE_SCAN: Final = 2_000


def count_tabs(connection: Connection, reviewer: Reviewer, where: QueueFilter) -> dict[str, int]:
    """Cases on each status tab under ``where``'s other filters, each counted up to
    ``COUNT_CAP`` + 1 (shown as "1000+"), as ``count_open`` does."""
    reviewer.require("queue.view")
    counts: dict[str, int] = {}
    for status in STATUSES:
        tab = _lean(Case.id, reviewer, replace(where, status=status))
        capped = tab.limit(COUNT_CAP + 1).subquery()
        counts[status] = connection.scalar(select(func.count()).select_from(capped)) or 0
    return counts


def languages(
    connection: Connection, reviewer: Reviewer, where: QueueFilter
) -> list[tuple[str, int]]:
    """The languages of the cases on ``where``'s tab under its other filters, with how many
    cases each, most first; read from the first ``LANGUAGE_SCAN`` cases in review order, so a
    queue page never walks a tab of a hundred thousand decided cases."""
    reviewer.require("queue.view")
    tab = (
        _lean(Case.lang, reviewer, replace(where, lang=None))
        .where(Case.lang.is_not(None))
        .order_by(*QUEUE_ORDER)
        .limit(LANGUAGE_SCAN)
        .subquery()
    )
    rows = connection.execute(
        select(tab.c.lang, func.count())
        .group_by(tab.c.lang)
        .order_by(func.count().desc(), tab.c.lang)
    )
    return [(str(lang), int(n)) for lang, n in rows]


_MEDIA_MATCH = re.compile(
    r"^matches bank (?P<bank>.+?) entry \d+ \((?P<kind>\S+) distance (?P<d>[\d.e+-]+)\)$"
)
_TEXT_MATCH = re.compile(r"^text matches bank (?P<bank>.+?) entry \d+ \(Jaccard (?P<j>[\d.]+)\)$")
_EXCERPT_MATCH = re.compile(
    r"^text quotes bank (?P<bank>.+?) entry \d+ \(containment (?P<c>[\d.]+)\)$"
)
_CLASSIFIER = re.compile(r"^classifier \S+: (?P<category>\S+) \(score (?P<score>[\d.]+)\)$")
_SAMPLE = re.compile(r"^labelling sample: classifier \S+ score (?P<score>[\d.]+), (?P<why>.+)$")
_EXACT = ("md5", "video_md5", "sha256")


@dataclass(frozen=True, slots=True)
class BankThresholds:
    """A bank's match thresholds, to say how close a match came to the line."""

    pdq: int
    text: float


def plain_reason(reason: str, banks: Mapping[str, BankThresholds]) -> str:
    """Why a case is in the queue, in a reviewer's words, from the reason routing wrote
    (``pipeline/route.py``): "matched bank X at distance 12 of 31", "text scored 0.93 by the
    classifier"; a reason of another shape is shown as written."""
    if found := _MEDIA_MATCH.match(reason):
        bank, kind, distance = found["bank"], found["kind"], found["d"]
        if kind in _EXACT:
            return f"matched bank {bank}: the very same file"
        if kind.startswith("pdq") and bank in banks:
            return f"matched bank {bank} at distance {distance} of {banks[bank].pdq}"
        return f"matched bank {bank} at distance {distance} ({kind.replace('_', ' ')})"
    if found := _TEXT_MATCH.match(reason):
        bank, similarity = found["bank"], found["j"]
        line = f" (the bank asks for {banks[bank].text:.2f})" if bank in banks else ""
        return f"text matched bank {bank} with similarity {similarity}{line}"
    if found := _EXCERPT_MATCH.match(reason):
        share = float(found["c"])
        return f"text quotes a text of bank {found['bank']} ({share:.0%} of one is in the other)"
    if found := _CLASSIFIER.match(reason):
        category = found["category"].replace("_", " ")
        return f"text scored {found['score']} by the classifier ({category})"
    if found := _SAMPLE.match(reason):
        return f"labelling sample: text scored {found['score']} by the classifier, {found['why']}"
    return reason


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One row of the queue page: a case with its near-identical cases folded in."""

    row: QueueRow
    why: str  # plain_reason
    age: timedelta
    # The first image or video of the item: shown only through the blurred preview route.
    thumbnail: str | None
    thumbnail_kind: str | None
    near_identical: tuple[int, ...]  # the other cases on this page with the same text


@dataclass(frozen=True, slots=True)
class QueueBoard:
    """What the queue page shows: its entries, the tabs' counts and the languages present."""

    entries: list[QueueEntry]
    read: int  # rows read for the page (a full page means there is a next one)
    counts: dict[str, int]
    languages: list[tuple[str, int]]


def board(
    connection: Connection,
    reviewer: Reviewer,
    where: QueueFilter,
    now: datetime,
    *,
    offset: int = 0,
) -> QueueBoard:
    """The queue page under ``where``: a page of ``list_queue`` with the cases whose texts are
    identical or near-identical (``textnorm.near_identical_key``) folded into the first of them,
    each with a plain reason, its age and its first picture (blurred by the page)."""
    rows = list_queue(connection, reviewer, where, now, offset=offset)
    ids = [r.id for r in rows]
    keys = _text_keys(connection, ids)
    thumbs = _thumbnails(connection, ids)
    banks = {
        name: BankThresholds(pdq, text)
        for name, pdq, text in connection.execute(
            select(Bank.name, Bank.pdq_threshold, Bank.text_threshold)
        )
    }
    firsts: dict[str, QueueRow] = {}
    folded: dict[int, list[int]] = {}
    for row in rows:
        key = keys.get(row.id)
        if key is not None and key in firsts:
            folded[firsts[key].id].append(row.id)
            continue
        if key is not None:
            firsts[key] = row
        folded[row.id] = []
    entries = [
        QueueEntry(
            row=row,
            why=plain_reason(row.reason, banks),
            age=now - row.opened_at,
            thumbnail=thumbs.get(row.id, (None, None))[0],
            thumbnail_kind=thumbs.get(row.id, (None, None))[1],
            near_identical=tuple(folded[row.id]),
        )
        for row in rows
        if row.id in folded
    ]
    return QueueBoard(
        entries,
        len(rows),
        count_tabs(connection, reviewer, where),
        languages(connection, reviewer, where),
    )


def _text_keys(connection: Connection, case_ids: Sequence[int]) -> dict[int, str]:
    """Each case's near-identical key: its text's ``text_key`` signal, or the text's own hash
    for a text not keyed yet (identical texts still fold); cases without text have none."""
    if not case_ids:
        return {}
    rows = connection.execute(
        select(Case.id, Item.text_sha256, Signal.value)
        .join(Item, Item.id == Case.item_id)
        .outerjoin(
            Signal,
            and_(Signal.text_sha256 == Item.text_sha256, Signal.signal_type == NEAR_IDENTICAL),
        )
        .where(Case.id.in_(case_ids), Item.text_sha256.is_not(None))
    )
    return {int(r.id): str(r.value or r.text_sha256) for r in rows}


def _thumbnails(connection: Connection, case_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """The first image or video (sha256, kind) of each case's item, by position."""
    if not case_ids:
        return {}
    rows = connection.execute(
        select(Case.id, Media.sha256, Media.kind)
        .join(ItemMedia, ItemMedia.item_id == Case.item_id)
        .join(Media, Media.sha256 == ItemMedia.media_sha256)
        .where(Case.id.in_(case_ids), Media.kind.in_(("image", "video")))
        .order_by(Case.id, ItemMedia.position)
    )
    found: dict[int, tuple[str, str]] = {}
    for row in rows:
        found.setdefault(int(row.id), (str(row.sha256), str(row.kind)))
    return found


# --- Bulk changes by a lead ---------------------------------------------------------------------


def _bulk_ids(case_ids: Sequence[int]) -> list[int]:
    if not case_ids:
        raise Invalid("select at least one case")
    if len(case_ids) > BULK_MAX:
        raise Invalid(f"at most {BULK_MAX} cases at once")
    return sorted(set(case_ids))


def assign_many(
    connection: Connection, lead: Reviewer, case_ids: Sequence[int], username: str, now: datetime
) -> list[int]:
    """A lead hands several cases to one reviewer: each is ``assign``ed (and audited) as one
    case would be; all or none (a decided or missing case refuses the lot)."""
    lead.require("case.assign")
    ids = _bulk_ids(case_ids)
    for case_id in ids:
        assign(connection, lead, case_id, username, now)
    return ids


def release_many(connection: Connection, lead: Reviewer, case_ids: Sequence[int]) -> list[int]:
    """A lead gives several cases back to the queue: each is ``release``d (and audited) as one
    case would be; a missing case refuses the lot."""
    lead.require("case.assign")
    ids = _bulk_ids(case_ids)
    for case_id in ids:
        release(connection, lead, case_id)
    return ids
