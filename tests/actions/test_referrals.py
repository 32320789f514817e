"""Referrals: the registry of hosting services, evidence packages, status, liveness results."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from redline.actions import referrals
from redline.actions.liveness import State, UrlCheck
from redline.metrics import outcomes
from redline.model import AuditEvent, Item, Signal
from redline.review import Conflict, Invalid, NotFound
from redline.review.decisions import Verdict, decide
from redline.signals import url as url_signal
from tests.review_desk import Desk

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def check(state: State, status: int, at: datetime) -> UrlCheck:
    """A liveness check's result, as ``liveness.check_url`` returns it."""
    return UrlCheck(
        url="https://x.example/",
        final_url="https://x.example/",
        state=state,
        http_status=status,
        content_sha256=None,
        bytes_read=0,
        redirects=(),
        error=None,
        checked_at=at,
    )


@pytest.fixture
def confirmed(desk: Desk) -> int:
    """Case p3 confirmed as violating by two reviewers; its post has an address, and its
    text a link to a file host (as the scan stores outlinks)."""
    case = desk.cases["p3"]
    with desk.engine.begin() as connection:
        connection.execute(
            update(Item)
            .where(Item.external_id == "p3")
            .values(url="https://www.videohost.example/watch?v=abc")
        )
        text_sha = connection.scalar(select(Item.text_sha256).where(Item.external_id == "p3"))
        link = url_signal.canonicalise("https://example.org/x")
        connection.execute(
            Signal.__table__.insert(),
            {
                "text_sha256": text_sha,
                "signal_type": "url",
                "value": link.canonical,
                "meta": link.meta(),
            },
        )
        for reviewer in ("rev1", "rev2"):
            decide(
                connection,
                desk.users[reviewer],
                case,
                Verdict("violating", category="recruitment", note="calls to join"),
                NOW,
            )
        referrals.add_service(
            connection,
            "user:admin1",
            "VideoHost",
            ["videohost.example"],
            "email",
            "abuse@videohost.example",
        )
    return case


def test_a_confirmed_case_gets_one_referral_per_url_with_its_evidence(
    desk: Desk, confirmed: int
) -> None:
    with desk.engine.begin() as connection:
        made = referrals.create_referrals(connection, "user:lead1", confirmed, NOW)
        again = referrals.create_referrals(connection, "user:lead1", confirmed, NOW)
        listed = referrals.list_referrals(connection)
    assert len(made) == 2 and again == []  # idempotent
    by_url = {r["url"]: r for r in listed}
    video = by_url["https://www.videohost.example/watch?v=abc"]
    assert video["service"] == "VideoHost" and video["status"] == "draft"
    assert by_url["https://example.org/x"]["service"] is None  # not in the registry
    evidence = video["evidence"]
    assert evidence["category"] == "recruitment" and evidence["reason"] == "calls to join"
    assert evidence["confirmed_at"] and evidence["found_at"] and evidence["text_sha256"]
    rows = list(csv.DictReader(io.StringIO(referrals.evidence_csv(listed))))
    assert {r["canonical_url"] for r in rows} == set(by_url)
    body = referrals.email_body(video, "Example referral unit")
    assert "To: abuse@videohost.example" in body and "recruitment" in body


def test_unconfirmed_cases_and_cases_without_urls_are_refused(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        with pytest.raises(Conflict, match="not confirmed"):
            referrals.create_referrals(connection, "user:lead1", desk.cases["p1"], NOW)
        with pytest.raises(NotFound):
            referrals.create_referrals(connection, "user:lead1", 99999, NOW)
        case = desk.cases["p4"]  # Arabic post, no address, no links
        decide(
            connection,
            desk.users["rev1"],
            case,
            Verdict("violating", category="other_tvec"),
            NOW,
            four_eyes=False,
        )
        with pytest.raises(Invalid, match="no URL"):
            referrals.create_referrals(connection, "user:lead1", case, NOW)


def test_status_moves_forward_only_and_a_down_check_marks_removal(
    desk: Desk, confirmed: int
) -> None:
    with desk.engine.begin() as connection:
        first, _ = referrals.create_referrals(connection, "user:lead1", confirmed, NOW)
        with pytest.raises(Conflict, match="cannot become removed"):
            referrals.set_status(connection, "user:lead1", first, "removed", NOW)
        referrals.set_status(connection, "user:lead1", first, "sent", NOW)
        up = referrals.record_check(
            connection, "worker", first, check("up", 200, NOW + timedelta(hours=1))
        )
        down = referrals.record_check(
            connection, "worker", first, check("down", 404, NOW + timedelta(hours=5))
        )
        done = referrals.get_referral(connection, first)
        with pytest.raises(Conflict):
            referrals.set_status(connection, "user:lead1", first, "sent", NOW)
        events = connection.execute(
            select(AuditEvent.action, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.subject_type == "referral", AuditEvent.subject_id == str(first))
            .order_by(AuditEvent.id)
        ).all()
    assert (up, down) == ("sent", "removed")
    assert done["time_to_removal_s"] == 5 * 3600 and len(done["checks"]) == 2
    assert [e.action for e in events] == ["referral.create", "referral.status", "referral.status"]
    assert events[-1].before == {"status": "sent"} and events[-1].after == {"status": "removed"}


def test_time_to_removal_is_one_measure_for_the_referral_and_the_report(
    desk: Desk, confirmed: int
) -> None:
    """From sending the referral to the first check that found the URL gone: 5 hours here, not
    the 4 between the first check that saw it up and the one that saw it gone."""
    with desk.engine.begin() as connection:
        first, _ = referrals.create_referrals(connection, "user:lead1", confirmed, NOW)
        referrals.set_status(connection, "user:lead1", first, "sent", NOW)
        referrals.record_check(connection, "worker", first, check("up", 200, NOW + HOUR))
        referrals.record_check(connection, "worker", first, check("down", 404, NOW + 5 * HOUR))
        page = referrals.get_referral(connection, first)
        period = outcomes.Period(NOW - 24 * HOUR, NOW + 24 * HOUR)
        report = outcomes.figures(connection, period)
    assert referrals.time_to_removal(NOW, NOW + 5 * HOUR) == 5 * HOUR
    assert page["time_to_removal_s"] == 5 * 3600
    assert report["referral_hours_to_removal"]["values"] == [5.0]


def test_the_registry_refuses_bad_services(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        with pytest.raises(Invalid, match="not a domain name"):
            referrals.add_service(connection, "x", "Bad", ["not a domain"], "email", "a@b.c")
        with pytest.raises(Invalid, match="contact channel"):
            referrals.add_service(connection, "x", "Bad", ["bad.example"], "fax", "123")
        referrals.add_service(
            connection, "x", "Paste", ["paste.example"], "web_form", "https://paste.example/report"
        )
        with pytest.raises(Conflict):
            referrals.add_service(connection, "x", "Paste", ["paste.example"], "email", "a@b")
        found = referrals.service_for(connection, "eu.paste.example")
    assert found is not None and found["name"] == "Paste"
