"""Notices to the content provider (Regulation 2021/784, Article 11; DSA Article 17): what was
removed, why, and how to contest it, in the provider's language.

Every take-down queues one, in the take-down's own transaction, so none is forgotten. A
removal order the authority made confidential withholds it, with the authority's reason on
the record, until the confidentiality ends (six weeks from the order unless the authority
says otherwise); the scheduler then releases it. redline does not know how to reach the
provider (that is the platform's messaging): the platform collects pending notices from the
API and marks them sent, or redline POSTs them to a configured webhook. The text is rendered
from the notice's parts when read or sent; the audit record of the sending keeps it verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine, select, update

from redline.actions import notify
from redline.errors import Conflict, Invalid, NotFound
from redline.jsontext import jsonable_dict
from redline.model import Case, Decision, Item, Notice, RemovalOrder, Score
from redline.review import taxonomy
from redline.store.audit import record_event

ACTOR: Final = "scheduler"
CONFIDENTIAL_FOR: Final = timedelta(weeks=6)  # Article 11(3), from the authority's decision
STATUSES: Final = ("pending", "withheld", "sent")
MAX_ATTEMPTS: Final = notify.MAX_ATTEMPTS

TEMPLATES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "body": "Your content ({url}) was {action} on {date}.\nReason: {reason}\n"
        "Legal basis: {basis}\n",
        "complain": "You can complain about this decision at {complaint_url} (reference "
        "{decision}). A person, not a machine, will decide on your complaint.\n",
        "order": "This was done under removal order {reference} of {authority}. You can "
        "challenge the order: {redress}\n",
        "redress": "before the courts of the Member State whose authority issued it",
    },
    "fr": {
        "body": "Votre contenu ({url}) a été {action} le {date}.\nMotif : {reason}\n"
        "Base juridique : {basis}\n",
        "complain": "Vous pouvez contester cette décision sur {complaint_url} (référence "
        "{decision}). Une personne examinera votre réclamation.\n",
        "order": "Cette mesure exécute l'injonction de retrait {reference} de {authority}. "
        "Vous pouvez la contester : {redress}\n",
        "redress": "devant les juridictions de l'État membre de l'autorité qui l'a émise",
    },
    "ar": {
        "body": "تم {action} المحتوى الخاص بك ({url}) بتاريخ {date}.\nالسبب: {reason}\n"
        "الأساس القانوني: {basis}\n",
        "complain": "يمكنك تقديم شكوى على هذا القرار عبر {complaint_url} (المرجع {decision}). "
        "سيراجع شكواك شخص وليس آلة.\n",
        "order": "تم ذلك تنفيذاً لأمر الإزالة {reference} الصادر عن {authority}. "
        "يمكنك الطعن في الأمر: {redress}\n",
        "redress": "أمام محاكم الدولة العضو التي أصدرت سلطتها الأمر",
    },
}
ACTIONS: Final[dict[str, dict[str, str]]] = {
    "en": {"removed": "removed", "disabled": "made unavailable in your country"},
    "fr": {"removed": "supprimé", "disabled": "rendu inaccessible"},
    "ar": {"removed": "حذف", "disabled": "تعطيل الوصول إلى"},
}


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A notice with what it is about, as the API, console and CLI show it."""

    id: int
    item_id: int
    url: str | None
    account: str | None
    order_id: int | None
    order_reference: str | None
    authority: str | None
    redress: str | None
    decision_id: int | None
    action: str
    lang: str
    reason: str
    legal_basis: str
    status: str
    withheld_reason: str | None
    withheld_until: datetime | None
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None

    def text(self, public_url: str) -> str:
        """The notice as the provider reads it; ``public_url`` is where the complaint form
        is (the settings' ``public_url``)."""
        words = TEMPLATES[self.lang]
        lines = words["body"].format(
            url=self.url or f"item {self.item_id}",
            action=ACTIONS[self.lang].get(self.action, self.action),
            date=self.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            reason=self.reason,
            basis=self.legal_basis,
        )
        if self.order_id is not None:
            lines += words["order"].format(
                reference=self.order_reference,
                authority=self.authority,
                redress=self.redress or words["redress"],
            )
        if self.decision_id is not None:
            form = f"{public_url.rstrip('/')}/complaints/new?decision={self.decision_id}"
            lines += words["complain"].format(complaint_url=form, decision=self.decision_id)
        return lines

    def as_dict(self, public_url: str) -> dict[str, Any]:
        """Plain data for JSON, with the rendered text (none while withheld: the provider must
        not learn of it, and neither must anything that forwards this)."""
        return jsonable_dict(
            {
                "id": self.id,
                "item": self.item_id,
                "url": self.url,
                "account": self.account,
                "order": self.order_id,
                "decision": self.decision_id,
                "action": self.action,
                "lang": self.lang,
                "status": self.status,
                "withheld_reason": self.withheld_reason,
                "withheld_until": self.withheld_until,
                "created_at": self.created_at,
                "sent_at": self.sent_at,
                "attempts": self.attempts,
                "last_error": self.last_error,
                "text": None if self.status == "withheld" else self.text(public_url),
            }
        )


def _language(connection: Connection, item_id: int) -> str:
    """The provider's language as redline knows it: the case's, else the classifier's for
    the item's text; English when neither is one the notices are written in."""
    lang = connection.scalar(select(Case.lang).where(Case.item_id == item_id))
    if lang is None:
        lang = connection.scalar(
            select(Score.lang)
            .join(Item, Item.text_sha256 == Score.text_sha256)
            .where(Item.id == item_id)
            .order_by(Score.id.desc())
            .limit(1)
        )
    return lang if lang in TEMPLATES else "en"


def queue_notice(
    connection: Connection,
    actor: str,
    item_id: int,
    action: str,
    now: datetime,
    *,
    order_id: int | None = None,
    legal_basis: str,
) -> int:
    """Queue the notice for a take-down (called by ``take_down``, in its transaction); its id.

    Under a removal order the reason is the order's; otherwise the reviewers' category, and
    the notice names the decision so the provider can complain about it."""
    if action not in ACTIONS["en"]:
        raise Invalid(f"unknown take-down {action!r}")
    status, withheld_reason, withheld_until = "pending", None, None
    decision_id = None
    if order_id is not None:
        order = connection.execute(
            select(
                RemovalOrder.reasons,
                RemovalOrder.legal_basis,
                RemovalOrder.issued_at,
                RemovalOrder.confidential,
                RemovalOrder.confidential_reason,
                RemovalOrder.confidential_until,
            ).where(RemovalOrder.id == order_id)
        ).first()
        if order is None:
            raise NotFound(f"no removal order {order_id}")
        reason, legal_basis = order.reasons, order.legal_basis
        if order.confidential:
            status, withheld_reason = "withheld", order.confidential_reason
            withheld_until = order.confidential_until or order.issued_at + CONFIDENTIAL_FOR
    else:
        decided = connection.execute(
            select(Decision.id, Decision.category)
            .join(Case, Case.id == Decision.case_id)
            .where(
                Case.item_id == item_id,
                Decision.status_after == taxonomy.VIOLATING,
                Decision.undone_at.is_(None),
            )
            .order_by(Decision.id.desc())
            .limit(1)
        ).first()
        decision_id = decided.id if decided is not None else None
        category = decided.category if decided is not None else None
        reason = "terrorist content" + (
            f": {taxonomy.CATEGORIES[category]}" if category in taxonomy.CATEGORIES else ""
        )
    notice_id = connection.execute(
        Notice.__table__.insert().returning(Notice.id),
        {
            "item_id": item_id,
            "order_id": order_id,
            "decision_id": decision_id,
            "action": action,
            "lang": _language(connection, item_id),
            "reason": reason,
            "legal_basis": legal_basis,
            "status": status,
            "withheld_reason": withheld_reason,
            "withheld_until": withheld_until,
            "created_at": now,
            "attempts": 0,
        },
    ).scalar_one()
    detail: dict[str, Any] = {"item": item_id, "order": order_id, "legal_basis": legal_basis}
    if withheld_until is not None:
        detail |= {"reason": withheld_reason, "until": withheld_until.isoformat()}
    action_name = "notice.withheld" if status == "withheld" else "notice.queue"
    record_event(
        connection,
        actor,
        action_name,
        "notice",
        str(notice_id),
        after={"status": status},
        detail=detail,
    )
    return int(notice_id)


def _query() -> Any:
    return (
        select(
            Notice.__table__,
            Item.url,
            Item.account,
            RemovalOrder.reference,
            RemovalOrder.authority,
            RemovalOrder.redress,
        )
        .join(Item, Item.id == Notice.item_id)
        .outerjoin(RemovalOrder, RemovalOrder.id == Notice.order_id)
    )


def _view(row: Any) -> NoticeView:
    return NoticeView(
        id=row.id,
        item_id=row.item_id,
        url=row.url,
        account=row.account,
        order_id=row.order_id,
        order_reference=row.reference,
        authority=row.authority,
        redress=row.redress,
        decision_id=row.decision_id,
        action=row.action,
        lang=row.lang,
        reason=row.reason,
        legal_basis=row.legal_basis,
        status=row.status,
        withheld_reason=row.withheld_reason,
        withheld_until=row.withheld_until,
        created_at=row.created_at,
        sent_at=row.sent_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def get_notice(connection: Connection, notice_id: int) -> NoticeView:
    """One notice; NotFound when there is none."""
    row = connection.execute(_query().where(Notice.id == notice_id)).first()
    if row is None:
        raise NotFound(f"no notice {notice_id}")
    return _view(row)


def list_notices(
    connection: Connection,
    status: str | None = None,
    item_id: int | None = None,
    limit: int = 200,
) -> list[NoticeView]:
    """Notices, oldest first (the order a platform should deliver them in)."""
    query = _query().order_by(Notice.id).limit(limit)
    if status is not None:
        if status not in STATUSES:
            raise Invalid(f"unknown notice status {status!r} ({', '.join(STATUSES)})")
        query = query.where(Notice.status == status)
    if item_id is not None:
        query = query.where(Notice.item_id == item_id)
    return [_view(r) for r in connection.execute(query)]


def mark_sent(
    connection: Connection, actor: str, notice_id: int, now: datetime, public_url: str
) -> NoticeView:
    """Record that the notice reached the provider; the audit keeps the text they got.
    Conflict for a withheld notice (it must not go out yet) or one sent already."""
    notice = get_notice(connection, notice_id)
    if notice.status != "pending":
        why = (
            "is withheld: its order is confidential"
            if notice.status == "withheld"
            else ("was sent already")
        )
        raise Conflict(f"notice {notice_id} {why}")
    changed = connection.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == "pending")
        .values(status="sent", sent_at=now, last_error=None)
    ).rowcount
    if changed != 1:  # someone else marked it between our read and write
        raise Conflict(f"notice {notice_id} was sent already")
    record_event(
        connection,
        actor,
        "notice.sent",
        "notice",
        str(notice_id),
        before={"status": "pending"},
        after={"status": "sent"},
        detail={
            "item": notice.item_id,
            "lang": notice.lang,
            "legal_basis": notice.legal_basis,
            "text": notice.text(public_url),
        },
    )
    return get_notice(connection, notice_id)


def release_due(connection: Connection, now: datetime) -> list[int]:
    """Withheld notices whose confidentiality has ended become pending; their ids."""
    due = [
        int(i)
        for i in connection.scalars(
            select(Notice.id)
            .where(Notice.status == "withheld", Notice.withheld_until <= now)
            .order_by(Notice.id)
        )
    ]
    for notice_id in due:
        connection.execute(update(Notice).where(Notice.id == notice_id).values(status="pending"))
        record_event(
            connection,
            ACTOR,
            "notice.release",
            "notice",
            str(notice_id),
            before={"status": "withheld"},
            after={"status": "pending"},
            detail={"at": now.isoformat()},
        )
    return due


def deliver(engine: Engine, url: str, now: datetime, public_url: str) -> dict[str, int]:
    """POST each pending notice that is due to the platform's webhook and mark it sent; a
    failure is retried with the alerts' back-off and, after MAX_ATTEMPTS, left pending for
    a person to see (with the last error) rather than dropped."""
    with engine.connect() as connection:
        due = [
            _view(r)
            for r in connection.execute(
                _query()
                .where(Notice.status == "pending", Notice.attempts < MAX_ATTEMPTS)
                .where((Notice.next_attempt_at.is_(None)) | (Notice.next_attempt_at <= now))
                .order_by(Notice.id)
            )
        ]
    counts = {"sent": 0, "retrying": 0}
    for notice in due:
        try:
            notify.post(url, notice.as_dict(public_url))
        except notify.DeliveryFailed as error:
            with engine.begin() as connection:
                connection.execute(
                    update(Notice)
                    .where(Notice.id == notice.id)
                    .values(**notify.failed_attempt(notice.attempts + 1, error, now))
                )
            counts["retrying"] += 1
            continue
        with engine.begin() as connection:
            mark_sent(connection, ACTOR, notice.id, now, public_url)
        counts["sent"] += 1
    return counts
