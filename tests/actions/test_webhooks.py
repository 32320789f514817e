"""Webhooks out to the platform: each of the six events raised by the domain function that makes
the change (and only when it commits), signed so a receiver can tell, delivered in order per
item from the outbox with back-off, failures logged and replayed; against a real HTTP receiver
on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from redline import banks
from redline.actions import complaints, orders, takedown, webhooks
from redline.classify.model import TextModel
from redline.config import Settings
from redline.errors import Conflict, Invalid, NotFound
from redline.model import AuditEvent, Item, WebhookDelivery
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.store import outbox
from redline.store.media import FolderStore
from tests.actions.webhook_receiver import HookReceiver, hook
from tests.review_desk import Desk

__all__ = ["hook"]

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALL_EVENTS = list(outbox.EVENTS)
VIOLATING = Verdict("violating", category="recruitment")
BASIS = "Regulation (EU) 2021/784, Article 5; terms of service 4.2"


def subscribe(engine: Engine, hook: HookReceiver, events: list[str] | None = None) -> int:
    with engine.begin() as connection:
        subscription, secret = webhooks.add_subscription(
            connection, "user:admin1", "moderation", hook.url, events or ALL_EVENTS, NOW
        )
    hook.secret = secret
    return subscription


def deliver(engine: Engine, now: datetime, **kwargs: Any) -> webhooks.Delivered:
    """A delivery round to the receiver on 127.0.0.1, which the test allows explicitly."""
    options: dict[str, Any] = {"allow_private": True, "jitter": lambda: 0.5, "timeout": 5.0}
    return webhooks.deliver_due(engine, now, **(options | kwargs))


def item_id(engine: Engine, external: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(Item.id).where(Item.external_id == external)).scalar_one()
        )


def by_item(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in events:
        found.setdefault(event["item"]["external_id"], []).append(event["type"])
    return found


def log(engine: Engine, **filters: Any) -> list[webhooks.DeliveryView]:
    with engine.connect() as connection:
        return webhooks.list_deliveries(connection, **filters)


# --- signatures -----------------------------------------------------------------------------


def test_a_signature_verifies_with_the_secret_and_nothing_else() -> None:
    body = '{"id":"evt_1","type":"decision.made"}'
    stamp = int(NOW.timestamp())
    header = webhooks.sign("whsec_right", stamp, body)
    assert header.startswith(f"t={stamp},v1=") and len(header.split("v1=")[1]) == 64
    assert webhooks.verify("whsec_right", header, body, NOW)
    assert webhooks.verify("whsec_right", header, body.encode(), NOW + timedelta(seconds=299))
    assert not webhooks.verify("whsec_wrong", header, body, NOW)
    assert not webhooks.verify("whsec_right", header, body.replace("made", "undone"), NOW)
    # A captured request sent again later is refused by its timestamp.
    assert not webhooks.verify("whsec_right", header, body, NOW + timedelta(minutes=6))
    # The timestamp is inside the signature: moving it breaks the signature.
    moved = header.replace(f"t={stamp}", f"t={stamp + 600}")
    assert not webhooks.verify("whsec_right", moved, body, NOW + timedelta(minutes=10))
    assert not webhooks.verify("whsec_right", "v1=" + header.split("v1=")[1], body, NOW)
    assert not webhooks.verify("whsec_right", "", body, NOW)


# --- the six events, from the functions that make the changes -------------------------------


def test_decisions_take_downs_orders_and_complaints_each_send_their_event(
    desk: Desk, hook: HookReceiver
) -> None:
    engine = desk.engine
    subscribe(engine, hook)
    p1, p3 = item_id(engine, "p1"), item_id(engine, "p3")
    with engine.begin() as connection:
        connection.execute(
            update(Item).where(Item.id == p3).values(url="https://host.example/post/3")
        )
        decide(connection, desk.users["rev1"], desk.cases["p1"], VIOLATING, NOW)
        confirmed = decide(connection, desk.users["rev2"], desk.cases["p1"], VIOLATING, NOW)
    with engine.begin() as connection:
        takedown.take_down_case(connection, "user:lead1", desk.cases["p1"], "removed", NOW, BASIS)
    with engine.begin() as connection:
        order = orders.OrderIn(
            authority="Example national competent authority",
            reference="TCO-2026-0042",
            issued_at=NOW - timedelta(minutes=3),
            received_at=NOW,
            urls=["https://host.example/post/3"],
            reasons="Generic synthetic reasons for the test.",
        )
        order_id = orders.register_order(connection, "user:lead1", order, NOW)
    with engine.begin() as connection:
        complaint = complaints.file_complaint(
            connection, confirmed.decision_id, "Please look again.", NOW
        )
        complaints.decide_complaint(connection, "user:lead1", complaint, True, "An error.", NOW)

    done = deliver(engine, NOW)

    assert (done.delivered, done.retrying, done.failed) == (5, 0, 0)
    assert hook.bad_signatures == 0
    assert by_item(hook.accepted) == {
        "p1": ["decision.made", "decision.made", "item.taken_down", "complaint.decided"],
        "p3": ["removal_order.received"],
    }
    first, second, taken, decided = [e for e in hook.accepted if e["item"]["id"] == p1]
    assert first["data"]["status_after"] == "second_review"
    assert second["data"] | {"case_id": desk.cases["p1"], "final": True} == second["data"]
    assert second["data"]["status_after"] == "violating" and "note" not in second["data"]
    assert taken["data"]["visibility"] == "removed" and taken["data"]["legal_basis"] == BASIS
    assert decided["data"]["status"] == "upheld" and decided["data"]["reinstated"] is True
    (received,) = [e for e in hook.accepted if e["item"]["id"] == p3]
    assert received["data"]["order_id"] == order_id
    assert received["data"]["url"] == "https://host.example/post/3"
    assert received["item"] == {
        "id": p3,
        "source": "channel-export",
        "external_id": "p3",
        "revision": 1,
        "url": "https://host.example/post/3",
    }
    # The event id is in the body and in a header, the same on every retry: receivers de-dupe.
    for got in hook.posts:
        assert got.headers[webhooks.EVENT_ID_HEADER] == got.event["id"]
        assert got.headers[webhooks.EVENT_HEADER] == got.event["type"]
        assert got.headers["Content-Type"] == "application/json"
    assert len({e["id"] for e in hook.accepted}) == 5


def test_a_scan_sends_match_found_then_case_opened(
    engine: Engine, settings: Settings, tmp_path: Path, tiny_model: TextModel, hook: HookReceiver
) -> None:
    from tests.pipeline.test_text_scan import STATEMENT, ingest_posts, run_scan

    ingest_posts(engine, settings, tmp_path)
    with engine.begin() as connection:
        banks.create_bank(connection, "known-texts", actor="test", text_threshold=0.6, now=utcnow())
    with engine.begin() as connection:
        entry = banks.add_text(
            connection, "known-texts", STATEMENT, actor="test", category="statement", now=utcnow()
        )
    subscribe(engine, hook, ["match.found", "case.opened"])
    summary = run_scan(engine, settings, tiny_model)
    assert summary.text.text_matches == 1

    deliver(engine, utcnow())

    events = by_item(hook.accepted)
    assert events["p4"] == ["match.found", "case.opened"]
    (found,) = [e for e in hook.accepted if e["type"] == "match.found"]
    assert found["data"]["bank"] == "known-texts" and found["data"]["entry_id"] == entry.id
    assert found["data"]["signal_type"] == "text_minhash" and found["data"]["text_sha256"]
    # Every case the scan opened was told of, once.
    opened = [e for e in hook.accepted if e["type"] == "case.opened"]
    assert len(opened) == summary.cases_opened + summary.text.cases_opened
    assert len({e["item"]["id"] for e in opened}) == len(opened)


def test_a_media_match_is_sent_for_each_item_carrying_the_file(
    engine: Engine, settings: Settings, tmp_path: Path, hook: HookReceiver
) -> None:
    from tests.helpers import run_ingest
    from tests.media_fixtures import photo
    from tests.pipeline.test_scan import run_scan

    folder = tmp_path / "posts"
    folder.mkdir()
    photo("astronaut").save(folder / "known.png")
    photo("coffee").save(folder / "unrelated.jpg", quality=80)
    run_ingest(folder, "channel", engine, settings)
    known = banks.hash_media(FolderStore(settings.data_dir), folder / "known.png")
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
        banks.add_media(connection, "known", known, actor="t", now=utcnow())
    subscribe(engine, hook, ["match.found", "case.opened"])
    run_scan(engine, settings)

    deliver(engine, utcnow())

    events = by_item(hook.accepted)
    assert len(events) == 1  # the unrelated photo matched nothing
    (types,) = events.values()
    # A chunk's matches of every signal type are stored in one transaction with the case they
    # open, and told before it.
    assert types.count("case.opened") == 1 and types[-1] == "case.opened"
    assert {e["data"]["signal_type"] for e in hook.accepted if e["type"] == "match.found"} >= {
        "pdq",
        "md5",
        "sha256",
    }


def test_nothing_is_sent_for_a_change_that_rolled_back(desk: Desk, hook: HookReceiver) -> None:
    subscribe(desk.engine, hook)
    with pytest.raises(RuntimeError), desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
        raise RuntimeError("the request failed after deciding")
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    with desk.engine.begin() as connection:  # the same decision committed is told of
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    assert deliver(desk.engine, NOW).delivered == 1
    assert [e["type"] for e in hook.accepted] == ["decision.made"]


def test_events_nobody_subscribed_to_are_not_kept(desk: Desk, hook: HookReceiver) -> None:
    subscribe(desk.engine, hook, ["complaint.decided"])
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    with desk.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


# --- order, retries, the log, replays -------------------------------------------------------


def violating_and_removed(desk: Desk, post: str) -> None:
    """Two events for one item: the decision, then the take-down."""
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases[post], VIOLATING, NOW, four_eyes=False)
    with desk.engine.begin() as connection:
        takedown.take_down_case(connection, "user:lead1", desk.cases[post], "removed", NOW, BASIS)


def test_an_items_later_event_waits_while_the_earlier_one_is_retried(
    desk: Desk, hook: HookReceiver
) -> None:
    subscribe(desk.engine, hook)
    violating_and_removed(desk, "p3")
    with desk.engine.begin() as connection:  # another item's event does not wait
        decide(connection, desk.users["lead1"], desk.cases["p2"], VIOLATING, NOW, four_eyes=False)
    hook.answers = [500]

    first = deliver(desk.engine, NOW)

    assert (first.delivered, first.retrying) == (1, 1)
    assert by_item(hook.accepted) == {"p2": ["decision.made"]}
    decision, taken = sorted(
        (d for d in log(desk.engine) if d.item_id == item_id(desk.engine, "p3")), key=lambda d: d.id
    )
    assert (decision.status, decision.attempts, decision.last_status) == ("pending", 1, 500)
    assert decision.next_attempt_at == NOW + timedelta(seconds=30)
    assert (taken.status, taken.attempts, taken.waiting_on) == ("pending", 0, decision.id)
    # Not yet due: nothing moves, the take-down is not sent ahead of the decision.
    assert deliver(desk.engine, NOW + timedelta(seconds=29)).as_dict() == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
    }
    assert deliver(desk.engine, NOW + timedelta(seconds=30)).delivered == 2
    assert by_item(hook.accepted)["p3"] == ["decision.made", "item.taken_down"]
    assert [p.answered for p in hook.posts] == [500, 200, 200, 200]


def test_the_back_off_doubles_from_30_seconds_to_six_hours_with_jitter() -> None:
    waits = [webhooks.backoff(n).total_seconds() for n in range(1, 13)]
    assert waits[:6] == [30, 60, 120, 240, 480, 960]
    assert waits[-1] == 6 * 3600 and max(waits) == 6 * 3600
    assert webhooks.backoff(1, 0.0).total_seconds() == 24  # 30 s less a fifth
    assert webhooks.backoff(1, 0.999).total_seconds() == pytest.approx(35.988)
    assert webhooks.backoff(10_000).total_seconds() == 6 * 3600  # no overflow
    # From the first attempt to giving up: about fourteen and a half hours of tries.
    assert 14 * 3600 < sum(waits[:-1]) < 15 * 3600


def test_a_delivery_that_keeps_failing_is_marked_failed_then_replayed(
    desk: Desk, hook: HookReceiver
) -> None:
    engine = desk.engine
    subscribe(engine, hook)
    violating_and_removed(desk, "p3")
    hook.answers = [503] * webhooks.MAX_ATTEMPTS
    now = NOW
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        done = deliver(engine, now)
        assert (done.retrying, done.failed) == (
            (1, 0) if attempt < webhooks.MAX_ATTEMPTS else (0, 1)
        )
        now += webhooks.backoff(attempt)
    (failed,) = log(engine, status="failed")
    assert failed.event == "decision.made" and failed.attempts == webhooks.MAX_ATTEMPTS
    assert [a.status_code for a in failed.tried] == [503] * webhooks.MAX_ATTEMPTS
    assert failed.tried[0].error == "answered 503" and failed.replayable
    # The take-down waits behind it, and keeps waiting while it stays failed.
    (waiting,) = log(engine, status="pending")
    assert waiting.waiting_on == failed.id and waiting.attempts == 0
    assert deliver(engine, now + timedelta(days=1)).delivered == 0
    with engine.connect() as connection:
        gave_up = connection.execute(
            select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.action == "webhook.failed")
        ).one()
    assert gave_up.actor == "scheduler" and gave_up.detail["event_id"] == failed.event_id

    with engine.begin() as connection:
        webhooks.replay(connection, failed.id, "user:lead1", now)
    assert deliver(engine, now).delivered == 2
    assert hook.accepted[0]["id"] == failed.event_id  # the same event, same id
    assert by_item(hook.accepted) == {"p3": ["decision.made", "item.taken_down"]}
    with engine.connect() as connection:
        replayed = connection.execute(
            select(AuditEvent.actor, AuditEvent.subject_id).where(
                AuditEvent.action == "webhook.replay"
            )
        ).one()
        assert tuple(replayed) == ("user:lead1", str(failed.id))
        with pytest.raises(Conflict, match="only a failed one"):
            webhooks.replay(connection, failed.id, "user:lead1", now)
        with pytest.raises(NotFound):
            webhooks.replay(connection, 4242, "user:lead1", now)
    assert len(log(engine, status="delivered")[-1].tried) == webhooks.MAX_ATTEMPTS + 1


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_errors_timeouts_and_refused_connections_are_logged_and_retried(
    desk: Desk, hook: HookReceiver
) -> None:
    engine = desk.engine
    subscription = subscribe(engine, hook)
    with engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    hook.answers, hook.stall = [500, "slow"], 1.5
    deliver(engine, NOW, timeout=0.3)
    deliver(engine, NOW + timedelta(seconds=30), timeout=0.3)
    with engine.begin() as connection:
        webhooks.update_subscription(
            connection, "user:admin1", subscription, url=f"http://127.0.0.1:{closed_port()}/x"
        )
    deliver(engine, NOW + timedelta(seconds=90))
    (delivery,) = log(engine)
    assert delivery.status == "pending" and delivery.attempts == 3
    server_error, slow, refused = delivery.tried
    assert (server_error.status_code, server_error.error) == (500, "answered 500")
    assert slow.status_code is None and "timed out" in (slow.error or "")
    assert refused.status_code is None and "connection refused" in (refused.error or "")
    assert all(a.duration_ms >= 0 for a in delivery.tried)
    assert delivery.as_dict()["log"][0] == {
        "attempted_at": NOW.isoformat(),
        "status_code": 500,
        "error": "answered 500",
        "duration_ms": server_error.duration_ms,
    }


def test_a_redirect_is_a_failure_not_followed(desk: Desk, hook: HookReceiver) -> None:
    subscribe(desk.engine, hook)
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    hook.answers = [307]
    assert deliver(desk.engine, NOW).retrying == 1
    (delivery,) = log(desk.engine)
    assert delivery.last_status == 307 and "redirect" in (delivery.last_error or "")
    assert len(hook.posts) == 1


def test_an_endpoint_on_a_private_address_is_refused_unless_allowed(
    desk: Desk, hook: HookReceiver
) -> None:
    subscribe(desk.engine, hook)
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    refused = webhooks.deliver_due(desk.engine, NOW)  # the default: public addresses only
    assert refused.retrying == 1 and hook.posts == []
    (delivery,) = log(desk.engine)
    assert "refused" in (delivery.last_error or "") and "loopback" in (delivery.last_error or "")
    assert deliver(desk.engine, NOW + timedelta(minutes=1), allow_private=True).delivered == 1
    assert len(hook.accepted) == 1


def test_the_scheduler_delivers_with_the_deployments_setting(
    desk: Desk, hook: HookReceiver, tmp_path: Path
) -> None:
    from redline.actions import scheduler

    subscribe(desk.engine, hook)
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    shut = scheduler.tick(desk.engine, FolderStore(tmp_path), NOW, delivery=scheduler.Delivery())
    assert shut.delivered["webhooks"] == {"delivered": 0, "retrying": 1, "failed": 0}
    allowed = Settings(database_url="sqlite://", webhook_allow_private=True)
    later = NOW + timedelta(minutes=1)
    done = scheduler.tick(
        desk.engine,
        FolderStore(tmp_path),
        later,
        delivery=scheduler.Delivery.from_settings(allowed),
    )
    assert done.delivered["webhooks"] == {"delivered": 1, "retrying": 0, "failed": 0}


# --- subscriptions --------------------------------------------------------------------------


def test_subscriptions_are_checked_paused_and_removed(desk: Desk, hook: HookReceiver) -> None:
    engine = desk.engine
    with engine.begin() as connection:
        for url, events, message in [
            ("ftp://host.example/x", ["decision.made"], "http"),
            ("https://user:pw@host.example/x", ["decision.made"], "credentials"),
            ("https://host.example/x", ["decision.unmade"], "unknown"),
            ("https://host.example/x", [], "at least one event"),
        ]:
            with pytest.raises(Invalid, match=message):
                webhooks.add_subscription(connection, "t", "name", url, events, NOW)
    subscription = subscribe(engine, hook)
    with engine.connect() as connection:
        (listed,) = webhooks.list_subscriptions(connection)
    assert listed.as_dict()["url"] == hook.url and "secret" not in listed.as_dict()
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    with engine.begin() as connection:
        webhooks.update_subscription(connection, "user:admin1", subscription, active=False)
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    assert log(engine) == []  # paused: no new events
    with engine.begin() as connection:
        webhooks.update_subscription(connection, "user:admin1", subscription, active=True)
        decide(connection, desk.users["lead1"], desk.cases["p2"], VIOLATING, NOW, four_eyes=False)
        assert webhooks.remove_subscription(connection, "user:admin1", subscription, NOW) == 1
        with pytest.raises(NotFound):
            webhooks.remove_subscription(connection, "user:admin1", subscription, NOW)
    (cancelled,) = log(engine)
    assert cancelled.status == "cancelled"
    assert deliver(engine, NOW).delivered == 0 and hook.posts == []
    with engine.connect() as connection:
        actions = connection.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("webhook.%"))
            .order_by(AuditEvent.id)
        ).all()
        assert "whsec_" not in json.dumps(
            [list(r) for r in connection.execute(select(AuditEvent.after, AuditEvent.detail))]
        )
    assert actions == ["webhook.subscribe", "webhook.update", "webhook.update", "webhook.remove"]


def readme_receiver() -> Any:
    """The receiver's ``verify`` as the README shows it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("# A receiver's check of Redline-Signature", 1)[1].split("```", 1)[0]
    code = block.split("\n", 1)[1]
    assert len(code.strip().splitlines()) <= 10  # as promised: ten lines
    space: dict[str, Any] = {}
    exec(code, space)  # the README's own text, nothing from outside
    return space["verify"]


def test_the_readme_receiver_verifies_a_real_delivery(desk: Desk, hook: HookReceiver) -> None:
    verify = readme_receiver()
    subscribe(desk.engine, hook)
    with desk.engine.begin() as connection:
        decide(connection, desk.users["lead1"], desk.cases["p3"], VIOLATING, NOW, four_eyes=False)
    deliver(desk.engine, utcnow())  # signed now: within the receiver's five minutes
    (got,) = hook.posts
    header = got.headers[webhooks.SIGNATURE_HEADER]
    assert verify(hook.secret, header, got.body)
    assert not verify("whsec_someone_else", header, got.body)
    assert not verify(hook.secret, header, got.body.replace(b"violating", b"fine"))
    stale = webhooks.sign(hook.secret, int(utcnow().timestamp()) - 3600, got.body)
    assert not verify(hook.secret, stale, got.body)
