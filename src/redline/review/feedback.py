"""Confirm and deconfirm: what reviewers' final decisions tell the exchanges whose entries
matched the content they decided on.

When a case becomes final, each entry an exchange shared that matched the case's item (its text
or a media file; a match a negative bank vetoed does not count) gets one row per exchange and
per reviewer who stands by the final verdict: ``confirm`` for violating, ``deconfirm`` for not
violating. The rows wait in ``entry_feedback`` (an outbox) until the undo window is over; then
``exchanges.run.send_feedback`` gives them to the exchange's ``report_feedback``, or keeps them
as a record when the exchange takes no feedback (redline-to-redline federation). Undoing the
final decision withdraws its rows.

The local rule: an entry stops matching here (it is disabled, its reason starting with
``deconfirmed``) once ``DECONFIRMERS`` different people's standing final "not violating"
decisions name it. Under four-eyes that is one case of a confirmed bank (two people must agree
to overturn it) or two cases of other banks; a lead can enable it again. Undoing a decision that
took the entry below the rule enables it again, unless someone else disabled it meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, distinct, func, or_, select, update

from redline.model import BankEntry, Case, EntryFeedback, ExchangeEntry, Item, ItemMedia, Match
from redline.review.taxonomy import VIOLATING
from redline.store.audit import record_event
from redline.store.bank_changes import write_entry_enabled

CONFIRM: Final = "confirm"
DECONFIRM: Final = "deconfirm"
DECONFIRMERS: Final = 2  # different people whose final "not violating" stops an entry here
DECONFIRMED: Final = "deconfirmed"  # how the reason of an entry disabled by the rule starts
QUEUED: Final = "queued"
SENT: Final = "sent"
KEPT: Final = "kept"  # the exchange takes no feedback: recorded here only
WITHDRAWN: Final = "withdrawn"


def shared_entries(connection: Connection, case_id: int) -> list[tuple[int, int]]:
    """The (entry, exchange) pairs whose entry matched the case's item's content, unvetoed."""
    item = select(Case.item_id).where(Case.id == case_id).scalar_subquery()
    media = select(ItemMedia.media_sha256).where(ItemMedia.item_id == item)
    text = select(Item.text_sha256).where(Item.id == item).scalar_subquery()
    rows = connection.execute(
        select(ExchangeEntry.entry_id, ExchangeEntry.exchange_id)
        .join(Match, Match.bank_entry_id == ExchangeEntry.entry_id)
        .where(Match.vetoed_by.is_(None))
        .where(or_(Match.media_sha256.in_(media), Match.text_sha256 == text))
        .distinct()
        .order_by(ExchangeEntry.entry_id, ExchangeEntry.exchange_id)
    )
    return [(int(entry), int(exchange)) for entry, exchange in rows]


def record_feedback(
    connection: Connection,
    case_id: int,
    decision_id: int,
    verdict: str,
    people: Sequence[int],
    actor: str,
    now: datetime,
) -> int:
    """Queue the feedback of a final ``verdict`` on a case from each of ``people`` (who stand
    by it) for every exchange entry its item matched, and stop the entries deconfirmed by
    enough people; the number of rows queued."""
    shared = shared_entries(connection, case_id)
    if not shared or not people:
        return 0
    kind = CONFIRM if verdict == VIOLATING else DECONFIRM
    connection.execute(
        EntryFeedback.__table__.insert(),
        [
            {
                "entry_id": entry_id,
                "exchange_id": exchange_id,
                "case_id": case_id,
                "decision_id": decision_id,
                "user_id": user_id,
                "kind": kind,
                "state": QUEUED,
                "attempts": 0,
                "created_at": now,
            }
            for entry_id, exchange_id in shared
            for user_id in sorted(set(people))
        ],
    )
    if kind == DECONFIRM:
        for entry_id in sorted({entry for entry, _ in shared}):
            _apply_rule(connection, entry_id, case_id, actor, now)
    return len(shared) * len(set(people))


def withdraw_feedback(connection: Connection, decision_id: int, actor: str, now: datetime) -> None:
    """Withdraw the feedback an undone final decision queued, and enable again an entry the
    rule had stopped that no longer meets it."""
    entry_ids = sorted(
        {
            int(e)
            for e in connection.scalars(
                select(EntryFeedback.entry_id).where(
                    EntryFeedback.decision_id == decision_id, EntryFeedback.kind == DECONFIRM
                )
            )
        }
    )
    connection.execute(
        update(EntryFeedback)
        .where(EntryFeedback.decision_id == decision_id, EntryFeedback.state.in_((QUEUED, KEPT)))
        .values(state=WITHDRAWN)
    )
    for entry_id in entry_ids:
        row = connection.execute(
            select(BankEntry.bank_id, BankEntry.enabled, BankEntry.disabled_reason).where(
                BankEntry.id == entry_id
            )
        ).first()
        if row is None or row.enabled or not (row.disabled_reason or "").startswith(DECONFIRMED):
            continue  # not stopped by the rule (a lead's or an exchange's reason stands)
        if deconfirmers(connection, entry_id) >= DECONFIRMERS:
            continue
        write_entry_enabled(connection, entry_id, int(row.bank_id), True, None, now)
        record_event(
            connection,
            actor,
            "bank.entry.enable",
            "bank_entry",
            str(entry_id),
            before={"enabled": False, "reason": row.disabled_reason},
            after={"enabled": True, "reason": None},
            detail={"undone_decision": decision_id},
        )


def deconfirmers(connection: Connection, entry_id: int) -> int:
    """How many different people's standing final "not violating" decisions name the entry."""
    return int(
        connection.scalar(
            select(func.count(distinct(EntryFeedback.user_id))).where(
                EntryFeedback.entry_id == entry_id,
                EntryFeedback.kind == DECONFIRM,
                EntryFeedback.state != WITHDRAWN,
            )
        )
        or 0
    )


def _apply_rule(
    connection: Connection, entry_id: int, case_id: int, actor: str, now: datetime
) -> None:
    """Disable the entry once enough people deconfirmed it (the rule in the module's doc)."""
    row = connection.execute(
        select(BankEntry.bank_id, BankEntry.enabled).where(BankEntry.id == entry_id)
    ).first()
    if row is None or not row.enabled:
        return
    people = deconfirmers(connection, entry_id)
    if people < DECONFIRMERS:
        return
    reason = f"{DECONFIRMED}: found not violating by {people} reviewers (last on case {case_id})"
    write_entry_enabled(connection, entry_id, int(row.bank_id), False, reason, now)
    record_event(
        connection,
        actor,
        "bank.entry.disable",
        "bank_entry",
        str(entry_id),
        before={"enabled": True},
        after={"enabled": False, "reason": reason},
        detail={"case": case_id, "deconfirmed_by": people},
    )
