"""The transparency report against a hand-counted history, and its PDF looked at as PNG."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from redline.actions import complaints, orders, preservation, referrals
from redline.ingest.run import ingest
from redline.metrics import outcomes, report
from redline.model import Case, Item
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from redline.review.taxonomy import CATEGORIES, NAMES, REASONS
from tests.actions.test_referrals import check
from tests.conftest import CliResult
from tests.review_desk import Desk

URL = "https://host.example/post/1"


def history(desk: Desk, tmp_path: Path) -> outcomes.Period:
    """By hand: 5 cases (2 from banks, 3 from the classifier); 2 final decisions (violating,
    recruitment; not violating, news reporting); 1 removal by order and 1 on own initiative;
    1 complaint, upheld, 1 reinstatement; 1 referral to VideoHost removed after 5 hours; and
    1 re-upload of removed text after its removal."""
    now = utcnow()
    earlier = now - timedelta(hours=6)
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
        # The desk's posts were there before anything was removed.
        connection.execute(update(Item).values(ingested_at=earlier - timedelta(hours=1)))
        connection.execute(update(Case).values(opened_at=earlier - timedelta(hours=1)))
        connection.execute(
            update(Item).where(Item.external_id == "p3").values(url="https://videohost.example/v/3")
        )
        for reviewer in ("rev1", "rev2"):
            made = decide(
                connection,
                desk.users[reviewer],
                desk.cases["p3"],
                Verdict("violating", category="recruitment"),
                earlier,
            )
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p4"],
            Verdict("not_violating", reason="news_reporting"),
            earlier,
        )
        order = orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Authority", "TCO-1", earlier, earlier, [URL], "Art. 2(7)"),
            earlier,
        )
        orders.execute(
            connection, "user:lead1", order, URL, "removed", earlier + timedelta(minutes=25)
        )
        p3 = int(connection.scalar(select(Item.id).where(Item.external_id == "p3")) or 0)
        preservation.take_down(connection, "user:lead1", p3, "removed", earlier)
        complaint = complaints.file_complaint(connection, made.decision_id, "satire", earlier)
        complaints.decide_complaint(connection, "user:lead1", complaint, True, "satire", now)
        referrals.add_service(connection, "x", "VideoHost", ["videohost.example"], "email", "a@b")
        (referral,) = referrals.create_referrals(
            connection, "user:lead1", desk.cases["p3"], earlier
        )
        referrals.set_status(connection, "user:lead1", referral, "sent", earlier)
        referrals.record_check(
            connection, "worker", referral, check("down", 404, earlier + timedelta(hours=5))
        )
    repost = tmp_path / "repost.jsonl"
    repost.write_text(
        json.dumps(
            {
                "id": "r1",
                "account": "acct_z",
                "text": "Generic re-posted statement text, number one.",
            }
        )
        + "\n"
    )
    ingest(repost, "later-export", engine=desk.engine, settings=desk.settings, actor="test")
    return outcomes.Period(now - timedelta(days=1), now + timedelta(days=1))


def test_figures_match_the_hand_counted_history(desk: Desk, tmp_path: Path) -> None:
    period = history(desk, tmp_path)
    with desk.engine.connect() as connection:
        f = outcomes.figures(connection, period)
    assert f["found_by_signal"] == {"bank": 2, "classifier": 3, "referral": 1}
    assert f["decisions"] == {"not_violating:news_reporting": 1, "violating:recruitment": 1}
    assert f["time_to_decision_hours"]["values"] == [1.0, 1.0]
    assert f["removals"] == {"removal_order": 1, "own_initiative": 1}
    assert f["orders"]["received"] == 1 and f["orders"]["by_status"] == {"executed": 1}
    assert f["order_minutes_to_action"]["values"] == [25.0]
    assert f["complaints"] == {"received": 1, "upheld": 1, "reinstatements": 1}
    assert f["referrals_by_service"] == [
        {
            "service": "VideoHost",
            "sent": 1,
            "removed": 1,
            "rejected": 0,
            "no_response": 0,
            "acceptance_rate": 1.0,
        }
    ]
    assert f["referral_hours_to_removal"]["values"] == [5.0]
    assert sum(f["reuploads_per_week"].values()) == 1


def test_the_pdf_report_renders_and_is_looked_at(
    desk: Desk, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    period = history(desk, tmp_path)
    pdf = tmp_path / "report.pdf"
    made = cli(
        "report",
        "--from",
        period.start.isoformat(),
        "--to",
        period.end.isoformat(),
        "--format",
        "pdf",
        "--output",
        str(pdf),
    )
    assert made.code == 0, made.err
    assert pdf.read_bytes().startswith(b"%PDF")
    from PIL import ImageFile

    # WeasyPrint's import flips a Pillow-wide switch; redline puts it back so truncated
    # uploads are still refused in the same process.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is needed (scripts/system-deps.sh test installs poppler-utils)")
    artifacts = Path(__file__).parent.parent / "e2e" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(artifacts / "report")],
        check=True,
    )
    pages = sorted(artifacts.glob("report-*.png"))
    assert pages and all(p.stat().st_size > 10_000 for p in pages)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Received: 1; executed: 1; partially executed: 0; not executed: 0; open: 0." in text
    # Decisions and signals in words, as a reader of the report says them.
    assert "Violating — recruitment" in text and "Not violating — news reporting" in text
    assert "Bank match" in text and "not_violating" not in text and "None" not in text
    html = cli("report", "--from", period.start.isoformat(), "--to", period.end.isoformat())
    assert "VideoHost" in html.out and "data:image/svg+xml;base64," in html.out
    as_json = json.loads(
        cli(
            "report",
            "--from",
            period.start.isoformat(),
            "--to",
            period.end.isoformat(),
            "--format",
            "json",
        ).out
    )
    assert as_json["removals"] == {"removal_order": 1, "own_initiative": 1}
    bad = cli("report", "--from", "yesterday", "--to", "2026-01-01")
    assert bad.code == 2 and "not an ISO date" in bad.err


def test_the_dashboard_shows_the_same_figures(desk: Desk, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from redline.web.app import create_app
    from tests.web.test_console import sign_in

    period = history(desk, tmp_path)
    browser = TestClient(create_app(desk.settings), follow_redirects=False)
    sign_in(browser, "aud1")
    page = browser.get(f"/dashboard?from={period.start.date()}&to={period.end.date()}")
    assert page.status_code == 200
    assert "Removed by removal order: <strong>1</strong>" in page.text
    assert '<th scope="row">Not violating — news reporting</th><td>1</td>' in page.text
    assert '<th scope="row">Classifier</th><td>3</td>' in page.text
    assert "<td>VideoHost</td><td>1</td><td>1</td><td>100%</td>" in page.text
    assert page.text.count("data:image/svg+xml;base64,") == 3  # decision, removal, re-upload charts
    assert browser.get("/dashboard?from=junk").status_code == 422


def test_a_period_with_nothing_to_measure_says_so(
    cli: Callable[..., CliResult], settings: object
) -> None:
    made = cli("report", "--from", "2026-01-01", "--to", "2026-02-01")
    assert made.code == 0, made.err
    assert "None" not in made.out
    assert "Time to decision (hours): no data, no case decided in the period." in made.out
    assert "Minutes from receipt to action: no data, no order acted on." in made.out
    assert "Hours from referral to removal: no data, no referred content found removed." in made.out


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("not_violating:news_reporting", "Not violating — news reporting"),
        ("violating:support_glorification", "Violating — support or glorification"),
        ("not_violating:not_tvec", "Not violating — unrelated to terrorism"),
        ("violating:unspecified", "Violating — no category or reason recorded"),
        ("violating:a_new_category", "Violating — a new category"),
    ],
)
def test_decisions_in_words(key: str, words: str) -> None:
    assert report.decision_words(key) == words


def test_every_category_and_reason_has_words() -> None:
    assert set(CATEGORIES) | set(REASONS) <= set(NAMES)
    assert report.figure_words(None) == report.NO_DATA and report.figure_words(67.25) == "67.25"
