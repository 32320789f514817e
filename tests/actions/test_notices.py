"""Notices to the content provider: queued by every take-down, in the provider's language,
withheld while an order is confidential and released when that ends, delivered by webhook or
collected through the API and CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from redline.actions import notices, orders, preservation, scheduler
from redline.model import AuditEvent, Case, Item, Notice
from redline.review import Conflict, Invalid
from redline.review.decisions import Verdict, decide
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.actions.webhook_server import Receiver, receiver
from tests.conftest import CliResult
from tests.review_desk import Desk
from tests.web.test_api_v1 import token

__all__ = ["receiver"]

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
URL = "https://host.example/post/1"
PUBLIC = "https://redline.example"


def item_with_url(desk: Desk, lang: str = "en") -> int:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        item = int(connection.scalar(select(Item.id).where(Item.external_id == "p1")) or 0)
        connection.execute(update(Case).where(Case.item_id == item).values(lang=lang))
        return item


def execute_order(desk: Desk, **fields: object) -> int:
    """Order TCO-7 for p1, registered and executed at NOW; the order's id."""
    with desk.engine.begin() as connection:
        order = orders.OrderIn(
            "Example authority",
            "TCO-7",
            NOW,
            NOW,
            [URL],
            "incites the commission of terrorist offences",
            **fields,
        )  # type: ignore[arg-type]
        order_id = orders.register_order(connection, "user:lead1", order, NOW)
        orders.execute(connection, "user:lead1", order_id, URL, "removed", NOW)
    return order_id


def only_notice(desk: Desk) -> notices.NoticeView:
    with desk.engine.connect() as connection:
        [notice] = notices.list_notices(connection)
    return notice


def test_executing_an_order_queues_a_notice_in_the_providers_language(desk: Desk) -> None:
    item_with_url(desk, lang="fr")
    execute_order(desk, redress="Tribunal administratif de Paris, dans les deux mois")
    notice = only_notice(desk)
    assert (notice.status, notice.lang, notice.action) == ("pending", "fr", "removed")
    text = notice.text(PUBLIC)
    assert text.startswith(f"Votre contenu ({URL}) a été supprimé le 2026-11-23 10:00 UTC.")
    assert "Motif : incites the commission of terrorist offences" in text
    assert "l'injonction de retrait TCO-7 de Example authority" in text
    assert "Tribunal administratif de Paris" in text
    assert "/complaints/new" not in text  # an order is challenged before the courts, not here


def test_arabic_and_unknown_languages(desk: Desk) -> None:
    item_with_url(desk, lang="ar")
    execute_order(desk)
    arabic = only_notice(desk).text(PUBLIC)
    assert "تم حذف المحتوى الخاص بك" in arabic and "أمام محاكم الدولة العضو" in arabic
    with desk.engine.begin() as connection:
        connection.execute(update(Case).values(lang="tr"))
        item = connection.scalar(select(Item.id).where(Item.external_id == "p3"))
        preservation.take_down(connection, "user:lead1", int(item or 0), "disabled", NOW)
        [_, other] = notices.list_notices(connection)
    assert other.lang == "en" and "was made unavailable in your country" in other.text(PUBLIC)


def test_an_own_take_down_names_the_decision_and_links_the_complaint_form(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        made = decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            NOW,
            four_eyes=False,
        )
        item = int(connection.scalar(select(Item.id).where(Item.external_id == "p3")) or 0)
        preservation.take_down(
            connection,
            "user:lead1",
            item,
            "removed",
            NOW,
            legal_basis="terms of service, section 4",
        )
    notice = only_notice(desk)
    assert notice.decision_id == made.decision_id and notice.order_id is None
    text = notice.text(PUBLIC)
    assert "Reason: terrorist content: recruits, or calls to join or fund, a group" in text
    assert "Legal basis: terms of service, section 4" in text
    assert (
        f"at {PUBLIC}/complaints/new?decision={made.decision_id} (reference {made.decision_id})"
    ) in text


def test_a_confidential_order_withholds_the_notice_until_it_ends(desk: Desk) -> None:
    item_with_url(desk)
    execute_order(desk, confidential=True, confidential_reason="ongoing investigation")
    notice = only_notice(desk)
    assert notice.status == "withheld" and notice.withheld_reason == "ongoing investigation"
    assert notice.withheld_until == NOW + timedelta(weeks=6)  # Article 11(3)'s default
    assert notice.as_dict(PUBLIC)["text"] is None  # nothing to forward by mistake
    with desk.engine.begin() as connection, pytest.raises(Conflict, match="withheld"):
        notices.mark_sent(connection, "user:lead1", notice.id, NOW, PUBLIC)
    data = desk.settings.data_dir
    ends = NOW + timedelta(weeks=6)
    assert (
        scheduler.tick(desk.engine, FolderStore(data), ends - timedelta(minutes=1)).released == []
    )
    assert scheduler.tick(desk.engine, FolderStore(data), ends).released == [notice.id]
    assert only_notice(desk).status == "pending"
    with desk.engine.connect() as connection:
        events = connection.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "notice")
            .order_by(AuditEvent.id)
        ).all()
    assert events == ["notice.withheld", "notice.release"]


def test_the_authority_can_set_a_shorter_or_extended_confidentiality(desk: Desk) -> None:
    item_with_url(desk)
    until = NOW + timedelta(weeks=10)
    execute_order(
        desk, confidential=True, confidential_reason="investigation", confidential_until=until
    )
    assert only_notice(desk).withheld_until == until
    too_long = orders.OrderIn(
        "A",
        "R",
        NOW,
        NOW,
        [URL],
        "r",
        confidential=True,
        confidential_reason="x",
        confidential_until=NOW + timedelta(weeks=13),
    )
    not_secret = orders.OrderIn("A", "R", NOW, NOW, [URL], "r", confidential_until=NOW)
    assert any("twelve weeks" in p for p in too_long.problems())
    assert any("without a reason" in p for p in not_secret.problems())


def test_marking_sent_keeps_the_text_on_the_record_once(desk: Desk) -> None:
    item_with_url(desk)
    execute_order(desk)
    notice = only_notice(desk)
    with desk.engine.begin() as connection:
        sent = notices.mark_sent(connection, "user:lead1", notice.id, NOW, PUBLIC)
        with pytest.raises(Conflict, match="sent already"):
            notices.mark_sent(connection, "user:lead1", notice.id, NOW, PUBLIC)
        event = connection.execute(
            select(AuditEvent).where(AuditEvent.action == "notice.sent")
        ).one()
    assert sent.status == "sent" and sent.sent_at == NOW
    assert event.detail["text"] == notice.text(PUBLIC) and event.actor == "user:lead1"


def test_the_scheduler_posts_notices_to_the_platforms_webhook(
    desk: Desk, receiver: Receiver
) -> None:
    item_with_url(desk)
    execute_order(desk)
    delivery = scheduler.Delivery({}, receiver.url, PUBLIC)
    receiver.answers = [503]
    data = desk.settings.data_dir
    failed = scheduler.tick(desk.engine, FolderStore(data), NOW, delivery=delivery)
    assert failed.delivered["notices"] == {"sent": 0, "retrying": 1}
    notice = only_notice(desk)
    assert notice.status == "pending" and "answered 503" in (notice.last_error or "")
    done = scheduler.tick(
        desk.engine, FolderStore(data), NOW + timedelta(minutes=1), delivery=delivery
    )
    assert done.delivered["notices"] == {"sent": 1, "retrying": 0}
    [posted] = receiver.received
    assert posted["item"] == notice.item_id and posted["url"] == URL
    assert posted["account"] == "acct_a" and posted["text"].startswith("Your content")
    assert only_notice(desk).status == "sent"
    again = scheduler.tick(
        desk.engine, FolderStore(data), NOW + timedelta(minutes=5), delivery=delivery
    )
    assert again.delivered["notices"]["sent"] == 0 and len(receiver.received) == 1


def test_a_failed_take_down_queues_no_notice(desk: Desk) -> None:
    with desk.engine.begin() as connection, pytest.raises(Invalid):
        preservation.take_down(connection, "user:lead1", 1, "hidden", NOW)
    with desk.engine.connect() as connection:
        assert connection.execute(select(Notice)).all() == []


def test_the_api_lists_and_marks_notices(desk: Desk) -> None:
    item_with_url(desk)
    execute_order(desk)
    api = TestClient(create_app(desk.settings))
    reader = token(desk, "lead1", "actions:read")
    writer = token(desk, "lead1", "actions:read", "actions:write")
    listed = api.get("/api/v1/notices?status=pending", headers=reader)
    assert listed.status_code == 200, listed.text
    [notice] = listed.json()["notices"]
    assert notice["text"].startswith(f"Your content ({URL}) was removed")
    assert api.post(f"/api/v1/notices/{notice['id']}/sent", headers=reader).status_code == 403
    sent = api.post(f"/api/v1/notices/{notice['id']}/sent", headers=writer)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert api.post(f"/api/v1/notices/{notice['id']}/sent", headers=writer).status_code == 409
    assert api.post("/api/v1/notices/999/sent", headers=writer).status_code == 404
    assert api.get("/api/v1/notices?status=lost", headers=reader).status_code == 422
    assert api.get("/api/v1/notices?status=pending", headers=reader).json()["notices"] == []
    assert api.get("/api/v1/notices").status_code == 401


def test_the_notice_commands(cli: Callable[..., CliResult], desk: Desk) -> None:
    item_with_url(desk, lang="fr")
    execute_order(desk)
    listed = cli("notice", "list", "--status", "pending", "--json")
    assert listed.code == 0, listed.err
    assert '"lang": "fr"' in listed.out and "a été supprimé" in listed.out
    notice = only_notice(desk)
    shown = cli("notice", "show", str(notice.id))
    assert shown.code == 0 and shown.out.startswith("Votre contenu")
    assert cli("notice", "sent", str(notice.id)).code == 0
    again = cli("notice", "sent", str(notice.id))
    assert again.code == 1 and "sent already" in again.err
    missing = cli("notice", "show", "999")
    assert missing.code == 1 and "no notice 999" in missing.err
    bad = cli("notice", "list", "--status", "lost")
    assert bad.code == 2 and "unknown notice status" in bad.err


def test_the_console_shows_notices_and_a_lead_marks_one_sent(desk: Desk) -> None:
    from tests.web.test_console import sign_in

    item_with_url(desk, lang="ar")
    execute_order(desk)
    app = create_app(desk.settings)
    auditor, lead = (TestClient(app, follow_redirects=False) for _ in range(2))
    auditor_csrf = sign_in(auditor, "aud1")
    csrf = sign_in(lead, "lead1")
    seen = auditor.get("/notices")
    assert seen.status_code == 200 and "تم حذف المحتوى الخاص بك" in seen.text
    assert "mark sent" not in seen.text  # an auditor reads, never changes
    notice = only_notice(desk)
    refused = auditor.post(f"/notices/{notice.id}/sent", data={"csrf": auditor_csrf})
    assert refused.status_code == 403 and only_notice(desk).status == "pending"
    done = lead.post(f"/notices/{notice.id}/sent", data={"csrf": csrf})
    assert done.status_code == 303 and only_notice(desk).status == "sent"
    assert "No pending notices." in lead.get("/notices").text
    assert "#" + str(notice.id) in lead.get("/notices?status=sent").text
    again = lead.post(f"/notices/{notice.id}/sent", data={"csrf": csrf})
    assert again.status_code == 409 and "sent already" in again.text
    assert lead.get("/notices?status=lost").status_code == 422
