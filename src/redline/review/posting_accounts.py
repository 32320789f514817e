"""A posting account or channel: every item it posted in one source, as the items record it.

An account is the ``account`` handle an item carries within its ``Source`` (the same handle in
two sources may be two accounts: sources are separate exports, channels or platforms). What is
shown is only what the items themselves carry: the handle, the display names they gave, the
source and its format, their texts' outlinks and their posting times. redline never tries to
say who is behind an account (docs: scope), so nothing here joins anything else to it.

Bulk decisions over an account's undecided cases are ordinary first-review decisions, one per
case, through ``decisions.decide``: the four-eyes rule, blind review, the designation and the
audit trail hold for each as they would on the case page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import ColumnElement, Connection, and_, func, select

from redline.errors import Conflict, Forbidden, Invalid, NotFound
from redline.model import Case, Item, Signal, Source, TextBody
from redline.review import decisions
from redline.review.accounts import Reviewer
from redline.review.rules import OPEN_STATUSES, CaseStatus
from redline.review.taxonomy import NOT_VIOLATING, VIOLATING
from redline.signals import url as url_signal
from redline.store.audit import record_event

PAGE: Final = 50
MAX_HANDLE: Final = 1000
MAX_BULK: Final = 500  # cases one bulk decision covers, at most (as a cluster decision)
BULK_VERDICTS: Final = (VIOLATING, NOT_VIOLATING)
DOMAINS_SHOWN: Final = 30


@dataclass(frozen=True, slots=True)
class AccountItem:
    """One item of the account, with its case when it has one."""

    id: int
    external_id: str
    posted_at: datetime | None
    snippet: str | None
    case_id: int | None
    status: str | None


@dataclass(frozen=True, slots=True)
class PostingAccount:
    """One account or channel of one source, as its items show it."""

    source_id: int
    source: str
    platform: str | None  # the source's format (telegram, twitter_csv, ...): where it came from
    account: str
    names: list[str]  # the display names its items carry, most recent first
    items: int
    flagged: int  # items with a case (a signal found something)
    undecided: int
    violating: int
    not_violating: int
    first_posted: datetime | None
    last_posted: datetime | None
    domains: list[tuple[str, int]]  # outlink hosts, most linked first
    per_day: list[tuple[date, int]]  # items posted each day, oldest first (days with posts)
    page: list[AccountItem]
    offset: int
    open_cases: list[int]  # cases waiting for their first review: what a bulk decision covers

    @property
    def decided(self) -> int:
        """Cases with a final verdict."""
        return self.violating + self.not_violating


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """What a bulk decision did: the decisions recorded, and the cases left alone."""

    outcomes: list[decisions.Outcome]
    skipped: list[int]  # claimed by someone else, decided meanwhile, or not theirs to decide


def _source(connection: Connection, source: str) -> tuple[int, str, str | None]:
    if "\x00" in source:  # stored names never hold one (PostgreSQL cannot even compare it)
        raise Invalid("a source name has no NUL character")
    row = connection.execute(
        select(Source.id, Source.name, Source.format).where(Source.name == source)
    ).first()
    if row is None:
        raise NotFound(f"no source {source!r}")
    return int(row.id), str(row.name), row.format


def _checked_handle(account: str) -> str:
    if not account or len(account) > MAX_HANDLE:
        raise Invalid(f"an account handle has 1 to {MAX_HANDLE} characters")
    if "\x00" in account:  # no stored handle holds one: PostgreSQL text cannot
        raise Invalid("an account handle has no NUL character")
    return account


def _of_account(source_id: int, account: str) -> ColumnElement[bool]:
    return and_(Item.source_id == source_id, Item.account == account)


def posting_account(
    connection: Connection, reader: Reviewer, source: str, account: str, *, offset: int = 0
) -> PostingAccount:
    """The account ``account`` of source ``source``: its counts, outlink hosts, posts per day
    and one page of its items (newest first, from ``offset``); NotFound when no item of the
    source carries that handle."""
    reader.require("case.view")
    source_id, source_name, platform = _source(connection, source)
    mine = _of_account(source_id, _checked_handle(account))
    items = connection.scalar(select(func.count()).select_from(Item).where(mine)) or 0
    if not items:
        raise NotFound(f"no items of account {account!r} in source {source_name!r}")
    statuses = dict(
        connection.execute(
            select(Case.status, func.count())
            .join(Item, Item.id == Case.item_id)
            .where(mine)
            .group_by(Case.status)
        ).all()
    )
    names = [
        str(name)
        for (name, _latest) in connection.execute(
            select(Item.account_name, func.max(Item.id))
            .where(mine, Item.account_name.is_not(None))
            .group_by(Item.account_name)
            .order_by(func.max(Item.id).desc())
            .limit(10)
        )
    ]
    posted: list[datetime] = list(
        connection.scalars(select(Item.posted_at).where(mine, Item.posted_at.is_not(None)))
    )
    days = Counter(at.date() for at in posted)
    rows = connection.execute(
        select(
            Item.id,
            Item.external_id,
            Item.posted_at,
            func.substr(TextBody.body, 1, 160).label("snippet"),
            Case.id.label("case_id"),
            Case.status,
        )
        .outerjoin(TextBody, TextBody.sha256 == Item.text_sha256)
        .outerjoin(Case, Case.item_id == Item.id)
        .where(mine)
        .order_by(Item.posted_at.desc(), Item.id.desc())
        .offset(offset)
        .limit(PAGE)
    )
    open_cases = [
        int(case_id)
        for (case_id,) in connection.execute(
            select(Case.id)
            .join(Item, Item.id == Case.item_id)
            .where(mine, Case.status == CaseStatus.OPEN)
            .order_by(Case.id)
            .limit(MAX_BULK)
        )
    ]
    return PostingAccount(
        source_id=source_id,
        source=source_name,
        platform=platform,
        account=account,
        names=names,
        items=int(items),
        flagged=sum(int(n) for n in statuses.values()),
        undecided=sum(int(statuses.get(s, 0)) for s in OPEN_STATUSES),
        violating=int(statuses.get(CaseStatus.VIOLATING, 0)),
        not_violating=int(statuses.get(CaseStatus.NOT_VIOLATING, 0)),
        first_posted=min(posted) if posted else None,
        last_posted=max(posted) if posted else None,
        domains=_domains(connection, mine),
        per_day=sorted(days.items()),
        page=[AccountItem(**r._mapping) for r in rows],
        offset=offset,
        open_cases=open_cases,
    )


def view_posting_account(
    connection: Connection, reader: Reviewer, source: str, account: str, *, offset: int = 0
) -> PostingAccount:
    """``posting_account``, for a person reading the account's page: audited, as a case view
    is, since the page shows many items' texts at once."""
    found = posting_account(connection, reader, source, account, offset=offset)
    record_event(
        connection,
        reader.actor,
        "posting_account.view",
        "posting_account",
        f"{found.source_id}:{found.account}",
        detail={"source": found.source, "offset": offset},
    )
    return found


def _domains(connection: Connection, mine: ColumnElement[bool]) -> list[tuple[str, int]]:
    """Outlink hosts over the account's items, counted once per item that links there."""
    by_item = select(Item.id.label("item_id"), Signal.value).join(Item, Item.id == Signal.item_id)
    by_text = select(Item.id.label("item_id"), Signal.value).join(
        Item, Item.text_sha256 == Signal.text_sha256
    )
    links: set[tuple[int, str]] = set()
    for query in (by_item, by_text):
        for item_id, value in connection.execute(
            query.where(mine, Signal.signal_type == url_signal.SIGNAL_TYPE)
        ):
            try:
                links.add((int(item_id), url_signal.canonicalise(value).host))
            except url_signal.BadUrl:
                continue  # stored before a stricter canonicalisation: not a host to count
    hosts = Counter(host for _item, host in links)
    return sorted(hosts.items(), key=lambda pair: (-pair[1], pair[0]))[:DOMAINS_SHOWN]


def decide_account(
    connection: Connection,
    reviewer: Reviewer,
    source: str,
    account: str,
    case_ids: list[int],
    verdict: decisions.Verdict,
    now: datetime,
    *,
    four_eyes: bool = True,
) -> BulkOutcome:
    """One verdict on each of ``case_ids``, cases of this account waiting for their first
    review, each recorded by ``decisions.decide`` (audited, four-eyes, blind review). Invalid
    for a verdict other than violating or not violating, no case, too many, or a case of
    another account; cases someone else holds or that are no longer open are left alone."""
    reviewer.require("case.decide")
    if verdict.verdict not in BULK_VERDICTS:
        raise Invalid("a bulk decision is violating or not violating (the rest: case by case)")
    if not case_ids:
        raise Invalid("choose at least one case")
    if len(case_ids) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK} cases in one bulk decision")
    source_id, _name, _platform = _source(connection, source)
    mine = _of_account(source_id, _checked_handle(account))
    wanted = sorted(set(case_ids))
    found = dict(
        connection.execute(
            select(Case.id, Case.status)
            .join(Item, Item.id == Case.item_id)
            .where(mine, Case.id.in_(wanted))
        ).all()
    )
    strangers = [c for c in wanted if c not in found]
    if strangers:
        raise Invalid(f"not cases of account {account!r}: {', '.join(map(str, strangers[:10]))}")
    outcomes: list[decisions.Outcome] = []
    skipped: list[int] = []
    for case_id in wanted:
        if found[case_id] != CaseStatus.OPEN:
            skipped.append(case_id)  # past its first review: decided case by case
            continue
        try:
            with connection.begin_nested():
                outcomes.append(
                    decisions.decide(
                        connection, reviewer, case_id, verdict, now, four_eyes=four_eyes
                    )
                )
        except (Conflict, Forbidden):
            skipped.append(case_id)
    return BulkOutcome(outcomes, skipped)
