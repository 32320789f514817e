"""Notices to the content provider (Regulation 2021/784, Article 11): what was removed, why,
and how to complain; in the provider's language; withheld when the issuing authority asks for
confidentiality, with that reason on the record instead."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from redline.model import Item, RemovalOrder
from redline.review.errors import NotFound
from redline.store.audit import record_event

TEMPLATES: Final[dict[str, str]] = {
    "en": (
        "Your content ({url}) was {action} on {date}.\n"
        "Reason: {reason}\nLegal basis: {basis}\n"
        "You can complain about this decision, within the time the law allows, at "
        "{complaint_url} (reference {decision}). A person will decide on your complaint.\n"
    ),
    "fr": (
        "Votre contenu ({url}) a été {action} le {date}.\n"
        "Motif : {reason}\nBase juridique : {basis}\n"
        "Vous pouvez contester cette décision sur {complaint_url} (référence {decision}). "
        "Une personne examinera votre réclamation.\n"
    ),
    "ar": (
        "تم {action} المحتوى الخاص بك ({url}) بتاريخ {date}.\n"
        "السبب: {reason}\nالأساس القانوني: {basis}\n"
        "يمكنك تقديم شكوى على هذا القرار عبر {complaint_url} (المرجع {decision}). "
        "سيراجع شكواك شخص وليس آلة.\n"
    ),
}
ACTIONS: Final[dict[str, dict[str, str]]] = {
    "en": {"removed": "removed", "disabled": "made unavailable in your country"},
    "fr": {"removed": "supprimé", "disabled": "rendu inaccessible"},
    "ar": {"removed": "حذف", "disabled": "تعطيل الوصول إلى"},
}


def provider_notice(
    connection: Connection, actor: str, item_id: int, *, action: str, reason: str,
    basis: str, decision: str, complaint_url: str, now: datetime, lang: str = "en",
    order_id: int | None = None,
) -> str | None:  # fmt: skip
    """The notice's text, or None when a confidential order withholds it; both audited."""
    found = connection.execute(select(Item.url).where(Item.id == item_id)).first()
    if found is None:
        raise NotFound(f"no item {item_id}")
    url = found.url
    if order_id is not None:
        order = connection.execute(
            select(RemovalOrder.confidential, RemovalOrder.confidential_reason)
            .where(RemovalOrder.id == order_id)
        ).first()  # fmt: skip
        if order is None:
            raise NotFound(f"no removal order {order_id}")
        if order.confidential:
            withheld = {"order": order_id, "reason": order.confidential_reason}
            record_event(connection, actor, "notice.withheld", "item", str(item_id),
                         detail=withheld)  # fmt: skip
            return None
    language = lang if lang in TEMPLATES else "en"
    text = TEMPLATES[language].format(
        url=url or f"item {item_id}", action=ACTIONS[language].get(action, action),
        date=now.strftime("%Y-%m-%d %H:%M UTC"), reason=reason, basis=basis,
        complaint_url=complaint_url, decision=decision,
    )  # fmt: skip
    record_event(connection, actor, "notice.sent", "item", str(item_id),
                 detail={"lang": language, "order": order_id, "text": text})  # fmt: skip
    return text
