"""Removal orders in the console: a lead registers one through the form (the same domain
function as the CLI and the API), each URL is linked to its item's case with a blurred preview,
steps are taken from the order's page, and the report to the authority is one click away.
Roles are checked on the server; hostile forms get a 4xx and store nothing."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from redline.ingest.run import ingest
from redline.model import AuditEvent, Case, Item, RemovalOrder
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in

PICTURE_URL = "https://files.example/p/picture"
TEXT_URL = "https://files.example/p/text"
AUTHORITY = "Example national competent authority"


@pytest.fixture
def console(desk: Desk) -> Callable[[], TestClient]:
    app = create_app(desk.settings)
    return lambda: TestClient(app, follow_redirects=False)


@pytest.fixture
def hosted(desk: Desk, tmp_path: Path) -> dict[str, int]:
    """Two posts at a file host, one with a picture; a case on the picture's post only. The
    items by URL."""
    folder = tmp_path / "hosted"
    folder.mkdir()
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(picture, "PNG")
    (folder / "picture.png").write_bytes(picture.getvalue())
    posts = [
        {"id": "h1", "text": "Generic post with a picture.", "url": PICTURE_URL},
        {"id": "h2", "text": "Generic post without one.", "url": TEXT_URL},
    ]
    posts[0]["media"] = ["picture.png"]  # type: ignore[assignment]
    export = folder / "posts.jsonl"
    export.write_text("".join(json.dumps(p) + "\n" for p in posts))
    ingest(export, "file-host", engine=desk.engine, settings=desk.settings, actor="test")
    with desk.engine.begin() as connection:
        items = dict(
            connection.execute(select(Item.url, Item.id).where(Item.url.is_not(None))).all()
        )
        open_item_cases(connection, {items[PICTURE_URL]: CaseReason(50, "test")}, utcnow())
    return {str(url): int(item) for url, item in items.items()}


def order_form(csrf: str, **changes: str) -> dict[str, str]:
    received = utcnow() - timedelta(minutes=5)
    form = {
        "csrf": csrf,
        "authority": AUTHORITY,
        "reference": "TCO-CONSOLE-1",
        "issued_at": (received - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"),
        "received_at": received.strftime("%Y-%m-%dT%H:%M:%S"),
        "urls": f"{PICTURE_URL}\r\n\r\n{TEXT_URL}\r\n",
        "reasons": "The content named incites the commission of offences (generic test text).",
        "content_type": "incitement",
    }
    form.update(changes)
    return form


def orders_count(desk: Desk) -> int:
    with desk.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(RemovalOrder)) or 0)


def test_a_lead_registers_an_order_and_sees_its_items(
    console: Callable[[], TestClient], desk: Desk, hosted: dict[str, int]
) -> None:
    lead = console()
    csrf = sign_in(lead, "lead1")
    assert 'href="/orders/new"' in lead.get("/orders").text
    assert lead.get("/orders/new").status_code == 200
    done = lead.post("/orders", data=order_form(csrf))
    assert done.status_code == 303, done.text
    order_id = int(re.search(r"/orders/(\d+)", done.headers["location"]).group(1))  # type: ignore[union-attr]
    page = lead.get(done.headers["location"]).text
    assert "Order registered" in page and "TCO-CONSOLE-1" in page
    with desk.engine.connect() as connection:
        case = connection.scalar(select(Case.id).where(Case.item_id == hosted[PICTURE_URL]))
        row = connection.execute(
            select(RemovalOrder.deadline_at, RemovalOrder.received_at, RemovalOrder.created_by)
        ).one()
        audited = connection.scalar(
            select(AuditEvent.actor).where(AuditEvent.action == "order.register")
        )
    assert row.deadline_at - row.received_at == timedelta(hours=1)
    assert row.created_by == audited == "user:lead1"
    # The picture's URL leads to its case, with the blurred preview the case page serves.
    assert f'href="/cases/{case}" class="order-item-link"' in page
    preview = re.search(rf'src="(/cases/{case}/media/[0-9a-f]{{64}}/preview)"', page)
    assert preview is not None
    image = lead.get(preview.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert f"(item {hosted[TEXT_URL]}, no case)" in page
    # A step from the order's page comes back to it; the report says what was done.
    step = lead.post(
        f"/orders/{order_id}/steps",
        data={"csrf": csrf, "url": TEXT_URL, "action": "removed", "back": "order"},
    )
    assert step.status_code == 303 and step.headers["location"] == f"/orders/{order_id}"
    report = lead.get(f"/orders/{order_id}/report?provider=Example+Host")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/plain")
    assert "From: Example Host" in report.text and "Re: removal order TCO-CONSOLE-1" in report.text
    assert f"- {TEXT_URL}: removed at" in report.text and f"- {PICTURE_URL}: pending" in report.text


def test_only_leads_and_admins_register_and_act(
    console: Callable[[], TestClient], desk: Desk, hosted: dict[str, int]
) -> None:
    for user in ("rev1", "aud1"):
        client = console()
        csrf = sign_in(client, user)
        assert client.get("/orders/new").status_code == 403
        assert client.post("/orders", data=order_form(csrf)).status_code == 403
    reviewer = console()
    sign_in(reviewer, "rev1")
    assert reviewer.get("/orders/1").status_code == 403
    assert reviewer.get("/orders/1/report").status_code == 403
    lead = console()
    csrf = sign_in(lead, "lead1")
    assert lead.post("/orders", data=order_form("forged")).status_code == 403
    assert orders_count(desk) == 0
    assert lead.post("/orders", data=order_form(csrf)).status_code == 303
    auditor = console()
    sign_in(auditor, "aud1")
    page = auditor.get("/orders/1")
    assert page.status_code == 200 and "TCO-CONSOLE-1" in page.text
    assert 'action="/orders/1/steps"' not in page.text  # reads, acts on nothing


def test_hostile_order_forms_get_a_4xx_and_keep_what_was_typed(
    console: Callable[[], TestClient], desk: Desk, hosted: dict[str, int]
) -> None:
    lead = console()
    csrf = sign_in(lead, "lead1")
    refused = lead.post(
        "/orders", data=order_form(csrf, urls="https://unknown.example/x", authority="Keep me")
    )
    assert refused.status_code == 422
    assert "no item with this URL in the store" in refused.text
    assert (
        'value="Keep me"' in refused.text and "https://unknown.example/x</textarea>" in refused.text
    )
    hostile = [
        {"issued_at": "yesterday"},
        {"received_at": ""},
        {"issued_at": "2026-01-02T00:00", "received_at": "2026-01-01T00:00"},
        {"urls": ""},
        {"urls": "javascript:alert(1)"},
        {"urls": "\n".join(f"https://files.example/p/{n}" for n in range(1001))},
        {"authority": ""},
        {"authority": "a" * 301},
        {"authority": "nul\x00byte"},
        {"reasons": "nul\x00"},
        {"reference": "r" * 201},
        {"content_type": "poetry"},
        {"confidential_until": "2099-01-01T00:00"},  # no reason for confidentiality
        {"confidential_reason": "ongoing investigation", "confidential_until": "2099-01-01T00:00"},
        {"legal_basis": "   "},
    ]
    for change in hostile:
        answer = lead.post("/orders", data=order_form(csrf, **change))
        assert 400 <= answer.status_code < 500, (change, answer.status_code, answer.text[:300])
    assert orders_count(desk) == 0
    assert lead.post("/orders", data=order_form(csrf)).status_code == 303
    again = lead.post("/orders", data=order_form(csrf))
    assert again.status_code == 409 and "registered already" in again.text
    assert orders_count(desk) == 1
    for path in ("/orders/abc", "/orders/0", f"/orders/{2**63}", "/orders/999999"):
        assert 400 <= lead.get(path).status_code < 500, path
    assert lead.get("/orders/1/report?provider=" + "p" * 201).status_code == 422
    step = lead.post("/orders/1/steps", data={"csrf": csrf, "url": TEXT_URL, "action": "shredded"})
    assert step.status_code == 422
