"""The demo data set: built from code alone, the same every time, fully ingested, scanned, and
a week of review work played on it that fills the console, the dashboard and the report."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import ANY

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from redline.actions import orders, referrals
from redline.config import Settings
from redline.demo import build_demo
from redline.demo.week import DemoCasesMissing, _Week, play_week, week_start
from redline.model import Case, Complaint, Decision, Item, Preservation, User
from redline.model.base import clock_from, utcnow
from redline.review.accounts import add_user
from redline.review.decisions import standing_verdicts
from redline.store import make_engine
from tests.conftest import CliResult
from tests.review_desk import PASSWORD


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_demo_files_are_deterministic_and_complete(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "a")
    build_demo(tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert set(first.sources) == {"demo-media", "demo-csv", "demo-telegram", "demo-urls"}
    media = first.sources["demo-media"][0]
    originals = sorted(media.glob("demo-?.png"))
    assert len(originals) == 6
    with (
        Image.open(media / "demo-1-cropped.jpg") as cropped,
        Image.open(media / "demo-1.png") as original,
    ):
        assert cropped.size[0] < original.size[0]  # altered copies really are altered
    export = json.loads(
        (first.sources["demo-telegram"][0] / "result.json").read_text(encoding="utf-8")
    )
    assert any(isinstance(m.get("text"), list) for m in export["messages"])  # entity-formatted text
    posts = first.sources["demo-csv"][0].read_text(encoding="utf-8")
    assert (
        "Road works" in posts
        and "\u0627\u0644\u0645\u0643\u062a\u0628\u0629" in posts
        and "boulangerie" in posts
    )


def test_redline_demo_ingests_scans_and_plays_a_week(
    cli: Callable[..., CliResult], settings: Settings, tmp_path: Path
) -> None:
    result = cli("demo", "--output", str(tmp_path / "demo"))
    assert result.code == 0, result.err
    status = json.loads(cli("status", "--json").out)
    per_source = status["per_source"]
    assert set(per_source) == {"demo-media", "demo-csv", "demo-telegram", "demo-urls"}
    assert per_source["demo-media"]["items"] == 28 and per_source["demo-media"]["media"] == 28
    assert per_source["demo-csv"]["revisions"] == 1  # the edited post
    assert per_source["demo-telegram"]["media"] == 8
    assert status["reposted_texts"] >= 1  # the same notice posted by three accounts
    # One deliberate problem per file shows the quarantine: a broken JPEG, a cut-off row, a bad
    # URL, a malformed hash in the partner's list.
    assert status["quarantined"] == 4
    banks = {b["name"]: b for b in json.loads(cli("bank", "list", "--json").out)}
    assert banks["demo-known-media"]["entries"] == 4 and banks["demo-partner-list"]["entries"] == 2
    assert banks["demo-known-texts"]["entries"] == 1
    assert "Classifier" in result.out and "Researchers published" in result.out  # scores shown
    assert "A week of work" in result.out and "7 violating" in result.out

    # Run again (as `make run` twice does): nothing is added, the week is not played twice.
    again = cli("demo", "--output", str(tmp_path / "demo"))
    assert again.code == 0 and "played on this store already" in again.out
    assert json.loads(cli("status", "--json").out) == {**status, "audit_events": ANY}
    # The scan the demo ran shows every kind of match the demo was built for; another one
    # finds nothing new.
    assert cli("scan").code == 0
    after = json.loads(cli("status", "--json").out)
    assert (after["banks"], after["bank_entries"]) == (3, 7)
    assert after["matches"] >= 30 and after["matches"] == status["matches"]
    matches = json.loads(cli("matches", "--json").out)
    kinds = {(m["bank"], m["signal_type"]) for m in matches}
    assert {
        ("demo-known-media", "pdq"),
        ("demo-known-media", "pdq_crop"),
        ("demo-known-media", "vpdq"),
        ("demo-known-media", "sha256"),
        ("demo-partner-list", "pdq"),
        ("demo-known-texts", "text_minhash"),
    } <= kinds
    altered = {m["item"]["file_name"] for m in matches if m["bank"] == "demo-known-media"}
    assert {"demo-1-cropped.jpg", "demo-1-letterboxed.jpg", "demo-clip-small.mp4"} <= altered

    # The text stages: the re-typed statement matched, the links listed, no demo post flagged
    # (they are notices, reporting, research, counter-speech and religious greetings).
    (statement,) = [m for m in matches if m["bank"] == "demo-known-texts"]
    assert 0.7 <= statement["detail"]["jaccard"] < 1.0
    links = {r["url"]: r for r in json.loads(cli("outlinks", "--json").out)}
    assert links["https://pastebin.com/DEMOnotes"]["host_class"] == "paste"
    assert links["https://t.me/joinchat/DEMOinvite"]["host_class"] == "messaging_invite"
    assert links["https://example.org/notices/road-works"]["count"] == 2  # two spellings, one URL
    assert after["scores"] >= 30 and after["flagged"] == 0
    # A suspended account's placeholder is kept out of the links and listed on its own.
    suspended = "https://twitter.com/account/suspended"
    assert suspended not in links
    placeholders = json.loads(cli("outlinks", "--placeholders", "--json").out)
    assert [r["url"] for r in placeholders] == [suspended]
    shown = cli("outlinks").out
    assert suspended not in shown.split("Placeholders left out")[0]
    assert "Placeholders left out: 1 post links" in shown and suspended in shown
    # The human-readable status says what --json says, flagged texts, scores and outlinks too.
    readable = cli("status").out
    for label, key in (
        ("texts scored", "scores"),
        ("flagged texts", "flagged"),
        ("outlinks", "outlinks"),
    ):
        assert re.search(rf"^  {label} +{after[key]:,}$", readable, re.MULTILINE), label

    _the_week_followed_the_rules(settings)
    _the_dashboard_and_the_report_show_the_week(cli, settings)


def _the_week_followed_the_rules(settings: Settings) -> None:
    """Decisions by two people for every removal, actions in time order and within the week,
    an order acted on within its hour and one open, a referral found removed, a complaint upheld
    (its content back up) and one open."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            statuses = Counter(connection.scalars(select(Case.status)))
            assert statuses["violating"] == 7 and statuses["not_violating"] == 5
            assert statuses["escalated"] == 1 and statuses["second_review"] == 1
            assert statuses["open"] >= 15  # work left for whoever signs in
            for case_id in connection.scalars(select(Case.id).where(Case.status == "violating")):
                agreeing = standing_verdicts(connection, case_id)
                assert sum("violating" in given for given in agreeing.values()) >= 2, case_id
            decided = connection.execute(
                select(Decision.created_at, Case.opened_at).join(Case, Case.id == Decision.case_id)
            ).all()
            now = utcnow()
            assert all(opened < made < now for made, opened in decided)
            assert len({made.date() for made, _opened in decided}) >= 5  # spread over the week
            by_status = {o.status: o for o in orders.list_orders(connection)}
            assert set(by_status) == {"executed", "received"}
            (acted,) = by_status["executed"].urls
            assert acted["acted_at"] is not None
            assert acted["acted_at"] - by_status["executed"].received_at < timedelta(hours=1)
            assert by_status["received"].received_at < now
            (referral,) = referrals.list_referrals(connection)
            assert referral["status"] == "removed"
            assert [
                c["state"] for c in referrals.get_referral(connection, referral["id"])["checks"]
            ] == ["up", "down"]
            complaint_rows = connection.execute(select(Complaint.status, Complaint.item_id)).all()
            assert sorted(c.status for c in complaint_rows) == ["open", "upheld"]
            (upheld,) = [c.item_id for c in complaint_rows if c.status == "upheld"]
            assert connection.scalar(select(Item.visibility).where(Item.id == upheld)) == "visible"
            preserved = connection.scalars(select(Preservation.order_id)).all()
            assert len(preserved) == 5 and sum(o is not None for o in preserved) == 1
        with engine.begin() as connection:
            add_user(connection, "aud1", "auditor", PASSWORD, "test")  # for the dashboard
    finally:
        engine.dispose()


def _the_dashboard_and_the_report_show_the_week(
    cli: Callable[..., CliResult], settings: Settings
) -> None:
    """The console's default period and a report of the last eight days: real figures, in
    words, and never "None"."""
    from fastapi.testclient import TestClient

    from redline.web.app import create_app
    from tests.web.test_console import sign_in

    with TestClient(create_app(settings), follow_redirects=False) as browser:
        sign_in(browser, "aud1")
        page = browser.get("/dashboard").text
    assert '<th scope="row">Violating — official media distribution</th><td>4</td>' in page
    assert '<th scope="row">Not violating — unrelated to terrorism</th><td>3</td>' in page
    assert (
        "Removed by removal order: <strong>1</strong>; on own initiative: <strong>4</strong>"
        in page
    )
    assert "Orders received: 2 (executed 1, received 1)" in page
    assert "Received 2, upheld 1, rejected 0, open 1; reinstated 1." in page
    assert "<td>Example Hosting (fictional)</td><td>1</td><td>1</td><td>100%</td>" in page
    assert "None" not in page
    today = utcnow().date()
    report = cli(
        "report", "--from", str(today - timedelta(days=8)), "--to", str(today + timedelta(days=1))
    )
    assert report.code == 0, report.err
    text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", report.out))
    assert "Not violating — news reporting" in text and "Violating — recruitment" in text
    assert "not_violating" not in text and "None" not in text
    assert re.search(r"Time to decision \(hours\): median \d", text)


def test_the_week_needs_the_scanned_demo(engine: Engine) -> None:
    end = utcnow()
    with pytest.raises(DemoCasesMissing, match="ingest and scan the demo first"):
        play_week(engine, week_start(end), end)
    with engine.connect() as connection:  # all of the week or nothing: not even its people
        assert connection.scalars(select(User.username)).all() == []


def test_the_clock_the_week_is_played_on() -> None:
    moment = datetime(2000, 1, 3, 8, tzinfo=UTC)
    with clock_from(moment):
        inside = utcnow()
        assert moment <= inside < moment + timedelta(minutes=1)
    assert utcnow() - inside > timedelta(days=3650)  # back to the real time afterwards
    assert week_start(datetime(2026, 12, 7, 1, 30, tzinfo=UTC)) == datetime(
        2026, 11, 30, 8, tzinfo=UTC
    )


# One database: the refusal reads the cases' times, the same query on both, and the whole week is
# played on both by the test above (an ingest and a scan of the demo cost 20 s a database).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_demo_scanned_before_its_week_is_not_played_on(
    cli: Callable[..., CliResult], settings: Settings, tmp_path: Path
) -> None:
    # --no-week ingests only, as `redline demo` did before; a scan then opens the cases now,
    # and a week played after would decide them before they were opened: refused, nothing kept.
    only = cli("demo", "--output", str(tmp_path / "demo"), "--no-week")
    assert only.code == 0 and "A week of work" not in only.out
    assert json.loads(cli("status", "--json").out)["cases_open"] == 0
    assert cli("scan", "--source", "demo-csv").code == 0
    refused = cli("demo", "--output", str(tmp_path / "demo"))
    assert refused.code == 2
    assert "after the demo's week began: play the week on a new store" in refused.err
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            assert connection.scalars(select(Decision.id)).all() == []
            assert connection.scalars(select(User.username)).all() == []
    finally:
        engine.dispose()


def test_the_week_is_the_same_every_time_it_is_played() -> None:
    end = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)

    def calendar() -> list[datetime]:
        week = _Week(None, week_start(end), end)  # type: ignore[arg-type]  # planning reads nothing
        week.plan()
        return sorted(moment for moment, _number, _step in week.calendar)

    planned = calendar()
    assert planned == calendar()
    assert planned[0] == week_start(end) and planned[-1] == end - timedelta(minutes=20)
    # Working hours on the days between, a decision or two on most of them.
    assert {m.date() for m in planned[1:-1]} == {
        (week_start(end) + timedelta(days=day)).date() for day in range(1, 7)
    }
    assert all(9 <= m.hour < 17 for m in planned[1:-1])
