"""Removal orders: registration, the one-hour deadline in UTC, execution, the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from redline.actions import orders
from redline.model import AuditEvent, Item, RemovalOrder
from redline.review import Conflict, Invalid, NotFound
from tests.review_desk import Desk

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.fixture
def hosted(desk: Desk) -> list[str]:
    """Give two of the desk's items the URLs they were posted at."""
    from sqlalchemy import update

    urls = ["https://host.example/post/1", "https://host.example/post/3"]
    with desk.engine.begin() as connection:
        for external, url in zip(("p1", "p3"), urls, strict=True):
            connection.execute(update(Item).where(Item.external_id == external).values(url=url))
    return urls


def order(urls: list[str], received: datetime, reference: str = "TCO-2026-0042") -> orders.OrderIn:
    return orders.OrderIn(
        authority="Example national competent authority",
        reference=reference,
        issued_at=received - timedelta(minutes=3),
        received_at=received,
        urls=urls,
        reasons="The content disseminates terrorist content (Article 2(7)(a)).",
    )


def register(desk: Desk, new: orders.OrderIn, now: datetime) -> int:
    with desk.engine.begin() as connection:
        return orders.register_order(connection, "user:lead1", new, now)


def test_deadline_is_one_hour_after_receipt_in_utc_across_a_dst_change(
    desk: Desk, hosted: list[str]
) -> None:
    # Received 01:30 CET on 29 March 2026; clocks jump from 02:00 to 03:00 that night.
    received = orders.parse_time("2026-03-29T01:30:00+01:00", "received_at")
    order_id = register(desk, order(hosted, received), received)
    with desk.engine.connect() as connection:
        view = orders.get_order(connection, order_id)
    assert view.deadline_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # One real hour later, local clocks read 03:30, not 02:30.
    assert view.deadline_at.astimezone(BRUSSELS).hour == 3
    assert view.seconds_left(received + timedelta(minutes=45)) == 15 * 60


def test_an_order_received_just_before_midnight_is_due_the_next_day(
    desk: Desk, hosted: list[str]
) -> None:
    received = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    order_id = register(desk, order(hosted, received), received)
    with desk.engine.connect() as connection:
        view = orders.get_order(connection, order_id)
    assert view.deadline_at == datetime(2027, 1, 1, 0, 30, tzinfo=UTC)


def test_alerts_come_before_and_at_the_deadline(desk: Desk, hosted: list[str]) -> None:
    received = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    register(desk, order(hosted, received), received)
    with desk.engine.connect() as connection:
        assert orders.alerts(connection, received + timedelta(minutes=30)) == []
        soon = orders.alerts(connection, received + timedelta(minutes=46))
        late = orders.alerts(connection, received + timedelta(minutes=61))
    assert [kind for _, kind in soon] == ["due_soon"]
    assert [kind for _, kind in late] == ["overdue"]


def test_executing_every_url_closes_the_order_and_the_report_says_so(
    desk: Desk, hosted: list[str]
) -> None:
    received = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    order_id = register(desk, order(hosted, received), received)
    with desk.engine.begin() as connection:
        first = orders.execute(
            connection,
            "user:lead1",
            order_id,
            hosted[0],
            "removed",
            received + timedelta(minutes=20),
        )
        second = orders.not_executed(
            connection,
            "user:lead1",
            order_id,
            hosted[1],
            "the URL points to content of another service",
            received + timedelta(minutes=25),
        )
        view = orders.get_order(connection, order_id)
        events = connection.execute(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "removal_order")
            .order_by(AuditEvent.id)
        ).all()
        with pytest.raises(Conflict, match="settled already"):
            orders.execute(connection, "user:lead1", order_id, hosted[0], "disabled", received)
    assert (first, second) == ("in_progress", "partially_executed")
    assert view.closed_at == received + timedelta(minutes=25)
    text = orders.report(view, "Example hosting service")
    assert "https://host.example/post/1: removed at 2026-11-23 10:20:00 UTC (within" in text
    assert "not executed: the URL points to content of another service" in text
    assert [e.action for e in events] == ["order.register", "order.removed", "order.not_executed"]
    assert events[1].detail["legal_basis"].startswith("Regulation (EU) 2021/784")
    assert events[1].detail["within_deadline"] is True
    assert events[1].before["action"] is None and events[1].after["action"] == "removed"


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        (["not a url at all"], "a URL cannot contain spaces"),
        (["https://host.example/never-seen"], "no item with this URL in the store"),
        (None, "no URL"),
    ],
)
def test_bad_orders_are_refused_and_nothing_is_stored(
    desk: Desk, hosted: list[str], urls: list[str] | None, message: str
) -> None:
    received = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    given = [] if urls is None else [hosted[0], *urls]  # a good URL does not save a bad one
    with pytest.raises(Invalid, match=message):
        register(desk, order(given, received), received)
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(RemovalOrder)) == 0


def test_a_reference_number_is_registered_once(desk: Desk, hosted: list[str]) -> None:
    received = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    register(desk, order(hosted, received), received)
    with pytest.raises(Conflict, match="registered already"):
        register(desk, order(hosted, received), received)


def test_times_without_an_offset_are_refused() -> None:
    with pytest.raises(Invalid, match="no UTC offset"):
        orders.parse_time("2026-11-23T10:00:00", "received_at")
    with pytest.raises(Invalid, match="not an ISO 8601 time"):
        orders.parse_time("yesterday", "received_at")
    assert orders.parse_time("2026-11-23T10:00:00Z", "x") == datetime(2026, 11, 23, 10, tzinfo=UTC)
    # A form that says its zone may leave the offset out; one written with its offset keeps it.
    assumed = orders.parse_time("2026-03-29T01:30", "keep until", assume=UTC)
    assert assumed == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    kept = orders.parse_time("2026-03-29T03:30+02:00", "keep until", assume=UTC)
    assert kept == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_unknown_orders_and_urls_are_not_found(desk: Desk, hosted: list[str]) -> None:
    received = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    order_id = register(desk, order(hosted, received), received)
    with desk.engine.begin() as connection:
        with pytest.raises(NotFound):
            orders.execute(connection, "x", 999, hosted[0], "removed", received)
        with pytest.raises(NotFound, match="does not name"):
            orders.execute(connection, "x", order_id, "https://other.example/", "removed", received)
        with pytest.raises(Invalid, match="unknown action"):
            orders.execute(connection, "x", order_id, hosted[0], "deleted", received)


def test_the_annex_fields_are_kept_and_checked(desk: Desk, hosted: list[str]) -> None:
    received = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    full = orders.OrderIn(
        "Authority",
        "TCO-A",
        received,
        received,
        hosted[:1],
        "reasons",
        authority_contact="duty officer, +00 000 000",
        content_type="incitement",
        redress="Appeal to the administrative court within 30 days",
        signed_by="J. Doe",
    )
    order_id = register(desk, full, received)
    with desk.engine.connect() as connection:
        shown = orders.get_order(connection, order_id).as_dict(received)
    assert shown["content_type"] == "incitement" and shown["signed_by"] == "J. Doe"
    bad = orders.OrderIn(
        "Authority", "TCO-B", received, received, hosted[:1], "reasons", content_type="propaganda"
    )
    with pytest.raises(Invalid, match="content_type must be one of"):
        register(desk, bad, received)


def test_every_console_page_warns_of_orders_due_or_overdue(desk: Desk, hosted: list[str]) -> None:
    from fastapi.testclient import TestClient

    from redline.model.base import utcnow
    from redline.web.app import create_app
    from tests.web.test_console import sign_in

    now = utcnow()
    app = create_app(desk.settings)
    lead, reviewer = (TestClient(app, follow_redirects=False) for _ in range(2))
    sign_in(lead, "lead1")
    sign_in(reviewer, "rev1")
    assert 'id="order-banner"' not in lead.get("/queue").text  # nothing open yet
    register(desk, order(hosted[:1], now - timedelta(minutes=50), "TCO-SOON"), now)
    with desk.engine.connect() as connection:
        assert orders.urgent(connection, now) == {"overdue": 0, "due_soon": 1}
    soon = lead.get("/queue").text
    assert 'id="order-banner"' in soon and "1 due within 15 minutes" in soon
    assert "overdue</strong>" not in soon
    late = register(desk, order(hosted[1:], now - timedelta(hours=2), "TCO-LATE"), now)
    for path in ("/queue", "/banks", "/settings"):
        text = lead.get(path).text
        assert "<strong>1 overdue</strong>" in text and "1 due within 15 minutes" in text, path
    # Reviewers do not act on orders: no banner for them.
    assert 'id="order-banner"' not in reviewer.get("/queue").text
    # Acting on the late order's URL takes it out of the count.
    with desk.engine.begin() as connection:
        orders.execute(connection, "user:lead1", late, hosted[1], "removed", now)
        assert orders.urgent(connection, now) == {"overdue": 0, "due_soon": 1}
