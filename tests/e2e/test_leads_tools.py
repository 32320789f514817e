"""Leads' tools in a real browser: a lead sets the daily exposure cap on the health page, a
reviewer who reaches it is refused the next case with a clear message until the lead lifts the
break; the dashboard's report downloads; a user's blur strength changes the previews they see.

A module of its own (its own database and server, see conftest.py): the cap it sets would stop
the other console tests' reviewers."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from tests.e2e.console_seed import Seeded, seed_console
from tests.e2e.test_console import csp_violations, login, watched

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from redline.config import Settings

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/leadtools-shots")


def shot(page: Page, name: str) -> None:
    """A full-page screenshot under /tmp, to be looked at."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_console(live_app_settings, tmp_path_factory.mktemp("leads-tools-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: Seeded, live_server: str) -> str:
    return live_server


def second_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    return watched(context.new_page())


def test_the_cap_sends_a_reviewer_on_a_break_that_only_a_lead_lifts(
    page: Page, browser: Browser, live_server: str, seeded: Seeded
) -> None:
    lead = watched(page)
    login(lead, live_server, "lead1")
    lead.goto(f"{live_server}/health")
    lead.locator("#daily_cap").fill("2")
    with lead.expect_navigation():
        lead.get_by_role("button", name="Save cap").click()
    assert "Daily cap saved." in lead.locator("main").inner_text()

    reviewer = second_page(browser)
    login(reviewer, live_server, "rev1")
    for case in seeded.image_cases[:2]:
        reviewer.goto(f"{live_server}/cases/{case.id}")
    reviewer.goto(f"{live_server}/queue")
    with reviewer.expect_navigation():
        reviewer.locator("form[action^='/queue/next'] button").first.click()
    text = reviewer.locator("main").inner_text()
    assert "exposure cap (2 of 2" in text and "lead lifts the break" in text, text
    shot(reviewer, "break-refused")

    lead.goto(f"{live_server}/health")
    row = lead.locator("tr", has_text="rev1")
    assert "on a break" in row.inner_text()
    shot(lead, "health-on-break")
    with lead.expect_navigation():
        lead.get_by_role("button", name="Lift rev1's break").click()
    assert "Break lifted" in lead.locator("main").inner_text()
    assert "break lifted today" in lead.locator("tr", has_text="rev1").inner_text()

    reviewer.goto(f"{live_server}/queue")
    with reviewer.expect_navigation():
        reviewer.locator("form[action^='/queue/next'] button").first.click()
    assert "/cases/" in reviewer.url
    assert csp_violations(lead) == [] and csp_violations(reviewer) == []


def test_the_dashboard_downloads_the_report(page: Page, live_server: str) -> None:
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/dashboard")
    # The PDF is rendered on request (WeasyPrint): slow on a loaded machine.
    with page.expect_download(timeout=90_000) as pdf:
        page.get_by_role("link", name="PDF").click()
    assert pdf.value.suggested_filename.endswith(".pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download(timeout=90_000) as csv:
        page.get_by_role("link", name="CSV").click()
    assert Path(csv.value.path()).read_text().startswith("section,key,value")
    shot(page, "dashboard-downloads")


def _detail(png: bytes) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    return float(np.abs(np.diff(pixels, axis=0)).mean() + np.abs(np.diff(pixels, axis=1)).mean())


def test_a_stronger_blur_shows_less_in_the_browser(
    page: Page, live_server: str, seeded: Seeded
) -> None:
    case = seeded.image_cases[0]
    login(page, live_server, "rev2")
    url = f"{live_server}/cases/{case.id}/media/{case.sha256}/preview"
    default = page.request.get(url).body()
    page.goto(f"{live_server}/settings")
    page.locator("#blur_radius").fill("50")
    with page.expect_navigation():
        page.get_by_role("button", name="Save blur").click()
    assert "strength <strong>50</strong>" in page.content()
    shot(page, "settings-blur")
    stronger = page.request.get(url).body()
    assert _detail(stronger) < _detail(default)
    page.goto(f"{live_server}/cases/{case.id}")
    shot(page, "case-stronger-blur")
