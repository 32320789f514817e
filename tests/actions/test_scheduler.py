"""The scheduler with a controlled clock: alerts once each, purges when due."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from redline.actions import orders, scheduler
from redline.model import AuditEvent, Item, Preservation
from redline.store.media import FolderStore
from tests.review_desk import Desk

NOW = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the night European clocks go back
URL = "https://host.example/post/1"


def test_order_alerts_come_once_each_then_the_purge_after_six_months(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        order = orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-11", NOW, NOW, [URL], "Art. 2(7)"),
            NOW,
        )
    data = desk.settings.data_dir
    assert scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=10)).alerts == []
    soon = scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=50)).alerts
    assert soon == [
        f"removal order TCO-11 (Example authority): due soon, deadline "
        f"{(NOW + timedelta(hours=1)).isoformat()}"
    ]
    assert scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=55)).alerts == []
    late = scheduler.tick(desk.engine, FolderStore(data), NOW + timedelta(minutes=61)).alerts
    assert len(late) == 1 and "overdue" in late[0]
    with desk.engine.begin() as connection:
        orders.execute(connection, "user:lead1", order, URL, "removed", NOW + timedelta(hours=2))
        keep_until = connection.scalar(select(Preservation.keep_until))
    assert keep_until == datetime(2027, 4, 25, 2, 30, tzinfo=UTC)
    assert (
        scheduler.tick(desk.engine, FolderStore(data), keep_until - timedelta(minutes=1)).purged
        == []
    )
    item = scheduler.tick(desk.engine, FolderStore(data), keep_until).purged
    assert len(item) == 1
    assert (
        scheduler.tick(desk.engine, FolderStore(data), keep_until + timedelta(days=1)).purged == []
    )


def test_ticks_at_the_same_time_send_each_alert_once(desk: Desk) -> None:
    # A tick slower than the beat's interval overlaps the next one on another worker process
    # (seen in CI: two "due soon" alerts for one order). Eight ticks race here, each with its
    # own connection, as worker processes would.
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-12", NOW, NOW, [URL], "Art. 2(7)"),
            NOW,
        )
    store = FolderStore(desk.settings.data_dir)
    when = NOW + timedelta(minutes=50)
    start = threading.Barrier(8)

    def tick() -> list[str]:
        start.wait()
        return scheduler.tick(desk.engine, store, when).alerts

    with ThreadPoolExecutor(8) as pool:
        sent = [alert for alerts in pool.map(lambda _: tick(), range(8)) for alert in alerts]
    assert len(sent) == 1 and "due soon" in sent[0]
    with desk.engine.connect() as connection:
        recorded = connection.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "removal_order.alert")
        )
    assert recorded == 1
