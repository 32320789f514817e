"""Notices to the content provider: in their language, withheld for confidential orders."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from redline.actions import notices, orders
from redline.model import AuditEvent, Item
from tests.review_desk import Desk

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
URL = "https://host.example/post/1"


def item_with_url(desk: Desk) -> int:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        return int(connection.scalar(select(Item.id).where(Item.external_id == "p1")) or 0)


def test_notices_are_written_in_the_providers_language(desk: Desk) -> None:
    item = item_with_url(desk)
    common = {"action": "removed", "reason": "terrorist content", "basis": "Regulation 2021/784",
              "decision": "D-1", "complaint_url": "https://example.org/complaints/new", "now": NOW}  # fmt: skip
    with desk.engine.begin() as connection:
        english = notices.provider_notice(connection, "user:lead1", item, **common)  # type: ignore[arg-type]
        french = notices.provider_notice(connection, "user:lead1", item, lang="fr", **common)  # type: ignore[arg-type]
        arabic = notices.provider_notice(connection, "user:lead1", item, lang="ar", **common)  # type: ignore[arg-type]
    assert english is not None and f"Your content ({URL}) was removed on 2026-11-23" in english
    assert french is not None and "a été supprimé" in french
    assert arabic is not None and "المرجع D-1" in arabic


def test_a_confidential_order_withholds_the_notice_and_records_why(desk: Desk) -> None:
    item = item_with_url(desk)
    secret = orders.OrderIn("Authority", "TCO-7", NOW, NOW, [URL], "reasons",
                            confidential=True, confidential_reason="ongoing investigation")  # fmt: skip
    with desk.engine.begin() as connection:
        order_id = orders.register_order(connection, "user:lead1", secret, NOW)
        sent = notices.provider_notice(
            connection, "user:lead1", item, action="removed", reason="x", basis="y",
            decision="D", complaint_url="u", now=NOW, order_id=order_id,
        )  # fmt: skip
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "notice.withheld")
        ).one()
    assert sent is None and event.detail == {"order": order_id, "reason": "ongoing investigation"}


def test_the_notice_command_prints_or_withholds(cli: object, desk: Desk) -> None:
    from collections.abc import Callable

    from tests.conftest import CliResult

    run: Callable[..., CliResult] = cli  # type: ignore[assignment]
    item = item_with_url(desk)
    shown = run("notice", str(item), "--reason", "terrorist content", "--lang", "fr",
                "--complaint-url", "https://example.org/complaints/new")  # fmt: skip
    assert shown.code == 0 and "a été supprimé" in shown.out
    missing = run("notice", "9999", "--reason", "x", "--complaint-url", "u")
    assert missing.code == 1 and "no item 9999" in missing.err
