"""The readable audit page: who, what, the subject linked to its page, the time to the second,
and what changed field by field instead of raw JSON, on both databases; the CSV export keeps
the documents as they were recorded."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient

from redline.model.base import utcnow
from redline.review import protection
from redline.store.audit import Change, changes, details, record_event
from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_console import sign_in


def test_changes_list_what_changed_field_by_field() -> None:
    assert changes({"daily_cap": None}, {"daily_cap": 40}) == [Change("daily_cap", "null", "40")]
    assert changes(
        {"status": "open", "priority": 5, "labels": {"note": "a", "tag": "x"}},
        {"status": "escalated", "priority": 5, "labels": {"note": "b", "tag": "x"}, "by": "lead"},
    ) == [
        Change("status", "open", "escalated"),
        Change("labels.note", "a", "b"),
        Change("by", None, "lead"),
    ]
    assert changes({"disabled": False}, None) == [Change("disabled", "false", None)]
    assert changes(None, None) == []
    assert details({"case": 7, "via": "api"}) == [("case", "7"), ("via", "api")]


def test_the_audit_page_reads_as_sentences_and_links_subjects(desk: Desk) -> None:
    lead = TestClient(create_app(desk.settings), follow_redirects=False)
    csrf = sign_in(lead, "lead1")
    case = desk.cases["p3"]
    assert lead.post(f"/cases/{case}/claim", data={"csrf": csrf}).status_code == 303
    now = utcnow()
    with desk.engine.begin() as connection:
        protection.set_daily_cap(connection, desk.users["lead1"], 25, now)
        record_event(
            connection,
            "user:lead1",
            "removal_order.step",
            "removal_order",
            "12",
            before={"status": "received"},
            after={"status": "executed"},
        )
        # Markup in a recorded value renders inert.
        record_event(
            connection, "user:lead1", "bank.create", "bank", "<b>x</b>", after={"note": "<i>n</i>"}
        )
    page = lead.get("/audit")
    assert page.status_code == 200
    text = page.text
    assert f'<a href="/cases/{case}">case {case}</a>' in text
    assert '<a href="/orders#order-12">removal_order 12</a>' in text
    assert '<a href="/audit?actor=user%3Alead1">user lead1</a>' in text  # the sign-in
    assert '<a href="/banks/%3Cb%3Ex%3C%2Fb%3E">' in text and "<b>x</b>" not in text
    assert "&lt;i&gt;n&lt;/i&gt;" in text and "<i>n</i>" not in text
    # Before and after, field by field; no JSON documents.
    assert re.search(r"<dt>daily_cap</dt><dd><del[^>]*>null</del> .*<ins[^>]*>25</ins>", text)
    assert re.search(
        r"<dt>status</dt><dd><del[^>]*>received</del> .*<ins[^>]*>executed</ins>", text
    )
    assert '{"status"' not in text and "{&#34;status" not in text
    # Time to the second.
    assert re.search(r"<time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", text)


def test_the_csv_export_keeps_the_recorded_documents(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        protection.set_daily_cap(connection, desk.users["lead1"], 25, utcnow())
    auditor = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(auditor, "aud1")
    exported = auditor.get("/audit.csv?action=organisation.daily_cap")
    *rows, _head = list(csv.DictReader(io.StringIO(exported.text)))
    assert [json.loads(r["after"]) for r in rows] == [{"daily_cap": 25}]
    assert [json.loads(r["before"]) for r in rows] == [{"daily_cap": None}]
