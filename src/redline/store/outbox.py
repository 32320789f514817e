"""The webhook outbox: an event written as one delivery row per subscription that wants it, in
the transaction of the change it tells of. So an event exists exactly when its change committed
(a rolled-back decision sends nothing; a committed one is never lost to a crash), and the
delivery (``redline.actions.webhooks``) runs later, outside any transaction of the change.

It lives this low because the changes happen at every layer: the pipeline finds matches and
opens cases, review records decisions, actions take content down. Writing a row is all that
happens here; signing, sending and retrying are the actions layer's.

Per item, deliveries go out in the order their rows' ids give. On PostgreSQL, two transactions
could take ids in one order and commit in the other; so an emit first locks the rows of the
items it tells of (``FOR NO KEY UPDATE``, which does not block inserts referring to them), and a
second transaction emitting for the same item waits for the first to commit before it takes
its ids. SQLite has one writer at a time, so its ids follow commit order already.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from redline.jsontext import jsonable
from redline.model import Item, ItemMedia, Source, WebhookDelivery, WebhookSubscription

# The events a subscription can ask for, with what each tells.
EVENTS: Final[dict[str, str]] = {
    "match.found": "an item's media or text matched a bank entry",
    "case.opened": "an item got a case for review",
    "decision.made": "a reviewer decided on an item's case",
    "item.taken_down": "an item was removed or access to it disabled",
    "removal_order.received": "a removal order naming the item was registered",
    "complaint.decided": "a complaint against a decision on the item was upheld or rejected",
}
CHUNK: Final = 500


def listening(connection: Connection, event: str) -> list[int]:
    """The active subscriptions that asked for ``event``."""
    rows = connection.execute(
        select(WebhookSubscription.id, WebhookSubscription.events).where(
            WebhookSubscription.active.is_(True)
        )
    )
    return [int(r.id) for r in rows if event in (r.events or [])]


def emit(
    connection: Connection, event: str, item_id: int, payload: Mapping[str, Any], now: datetime
) -> list[str]:
    """Put ``event`` about ``item_id`` in the outbox of every subscription that wants it, in the
    caller's transaction; its event id (none when nobody listens)."""
    return emit_many(connection, event, [(item_id, payload)], now)


def emit_many(
    connection: Connection,
    event: str,
    about: Sequence[tuple[int, Mapping[str, Any]]],
    now: datetime,
) -> list[str]:
    """``emit`` for several items at once (a scan's batch): one look-up of the subscriptions and
    the items; the event ids, in order (empty when nobody listens)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not about:
        return []
    subscriptions = listening(connection, event)
    if not subscriptions:
        return []
    items = _items(connection, sorted({item_id for item_id, _ in about}))
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for item_id, payload in about:
        event_id = f"evt_{uuid.uuid4().hex}"
        ids.append(event_id)
        body = json.dumps(
            {
                "id": event_id,
                "type": event,
                "created_at": now.isoformat(),
                "item": items[item_id],
                "data": jsonable(dict(payload)),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        rows.extend(
            {
                "subscription_id": subscription,
                "event_id": event_id,
                "event": event,
                "item_id": item_id,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription in subscriptions
        )
    # One statement per row keeps the ids in the order of the events (a multi-row insert does
    # not promise it).
    for row in rows:
        connection.execute(WebhookDelivery.__table__.insert(), row)
    return ids


def _items(connection: Connection, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """How the platform knows each item (its source, its own id, revision and URL), the items'
    rows locked for the rest of the transaction on PostgreSQL (see the module's note)."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(item_ids), CHUNK):
        query = (
            select(Item.id, Source.name, Item.external_id, Item.revision, Item.url)
            .join(Source, Source.id == Item.source_id)
            .where(Item.id.in_(item_ids[start : start + CHUNK]))
            .order_by(Item.id)
        )
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(of=Item, key_share=True)
        for row in connection.execute(query):
            found[int(row.id)] = {
                "id": int(row.id),
                "source": row.name,
                "external_id": row.external_id,
                "revision": row.revision,
                "url": row.url,
            }
    missing = sorted(set(item_ids) - set(found))
    if missing:
        raise ValueError(f"no items {missing} to tell of")
    return found


def emit_matches(
    connection: Connection, found: Sequence[Mapping[str, Any]], now: datetime
) -> list[str]:
    """``match.found`` for every item that carries the media or text of each new match (a match
    is of content, which many items may share). Each of ``found`` has ``media_sha256`` or
    ``text_sha256`` and the match's own fields (``match_id``, ``bank``, ...)."""
    if not found or not listening(connection, "match.found"):
        return []
    media = sorted({str(m["media_sha256"]) for m in found if m.get("media_sha256")})
    texts = sorted({str(m["text_sha256"]) for m in found if m.get("text_sha256")})
    carriers: dict[str, list[int]] = {}
    for start in range(0, len(media), CHUNK):
        for item_id, sha in connection.execute(
            select(ItemMedia.item_id, ItemMedia.media_sha256)
            .where(ItemMedia.media_sha256.in_(media[start : start + CHUNK]))
            .order_by(ItemMedia.item_id)
        ):
            carriers.setdefault(str(sha), []).append(int(item_id))
    for start in range(0, len(texts), CHUNK):
        for item_id, text_sha in connection.execute(
            select(Item.id, Item.text_sha256)
            .where(Item.text_sha256.in_(texts[start : start + CHUNK]))
            .order_by(Item.id)
        ):
            carriers.setdefault(str(text_sha), []).append(int(item_id))
    about: list[tuple[int, Mapping[str, Any]]] = []
    for match in found:
        content = match.get("media_sha256") or match.get("text_sha256")
        for item_id in dict.fromkeys(carriers.get(str(content), [])):  # an item with the file twice
            about.append((item_id, match))
    return emit_many(connection, "match.found", about, now)
