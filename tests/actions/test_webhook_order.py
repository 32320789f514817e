"""An adversarial check of webhook delivery: whatever the sequence of events, receiver failures
and delivery rounds, each subscription's receiver gets every event at least once, and an item's
events in the order they happened (never one before an earlier one of the same item)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from redline.actions import webhooks
from redline.model import Item, WebhookDelivery
from redline.store import outbox
from tests.actions.webhook_receiver import HookReceiver, hook
from tests.review_desk import Desk

__all__ = ["hook"]

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("emit"), st.integers(0, 2)),  # an event about item 0, 1 or 2
        st.tuples(st.just("fail"), st.integers(1, 4)),  # the receiver's next n answers are 500
        st.tuples(st.just("deliver"), st.sampled_from([0, 30, 300, 7 * 3600])),  # wait, deliver
    ),
    max_size=30,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps)
def test_every_event_arrives_and_each_items_in_order(
    desk: Desk, hook: HookReceiver, script: list[Step]
) -> None:
    engine = desk.engine
    with engine.connect() as connection:
        items = list(connection.scalars(select(Item.id).order_by(Item.id).limit(3)))
    with engine.begin() as connection:
        subscription, hook.secret = webhooks.add_subscription(
            connection, "test", "property", hook.url, ["decision.made"], START
        )
    hook.posts.clear()
    hook.answers.clear()
    try:
        emitted: dict[int, list[str]] = {item: [] for item in items}
        now = START

        def deliver() -> None:
            webhooks.deliver_due(engine, now, allow_private=True, jitter=lambda: 0.5)

        for kind, value in script:
            if kind == "emit":
                item = items[value]
                with engine.begin() as connection:
                    (event_id,) = outbox.emit(
                        connection, "decision.made", item, {"n": len(emitted[item])}, now
                    )
                emitted[item].append(event_id)
            elif kind == "fail":
                hook.answers.extend([500] * value)
            else:
                now += timedelta(seconds=value)
                deliver()

        # Then the receiver recovers; whatever gave up is replayed, until nothing is left.
        hook.answers.clear()
        for _ in range(webhooks.MAX_ATTEMPTS + 2):
            with engine.begin() as connection:
                for failed in connection.scalars(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.subscription_id == subscription,
                        WebhookDelivery.status == "failed",
                    )
                ).all():
                    webhooks.replay(connection, failed, "test", now)
                left = connection.scalars(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.subscription_id == subscription,
                        WebhookDelivery.status != "delivered",
                    )
                ).all()
            if not left:
                break
            now += webhooks.LONGEST_WAIT * (1 + webhooks.JITTER) + timedelta(minutes=1)
            deliver()

        assert hook.bad_signatures == 0
        arrived: dict[int, list[str]] = {item: [] for item in items}
        for event in hook.accepted:  # at least once: a repeat is allowed, and skipped here
            seen = arrived[event["item"]["id"]]
            if event["id"] not in seen:
                seen.append(event["id"])
        assert arrived == emitted
    finally:  # a failing example leaves nothing for the next one
        with engine.begin() as connection:
            webhooks.remove_subscription(connection, "test", subscription, START)
