"""The designation a violating verdict names, chosen by keyboard in a real browser: once leads
keep a list, ``a``, a digit for the category and a digit for the designation (``0``: none
identified) decide, and the case's history names it.

A module of its own (its own database and server, see conftest.py): a designations list makes
every violating verdict name one, which the other console tests' decisions do not."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from redline.model.base import utcnow
from redline.review.designations import add_designation
from redline.store import make_engine
from tests.e2e.console_seed import Seeded, seed_console
from tests.e2e.test_console import csp_violations, history, login, status_badge, watched

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from redline.config import Settings
    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The console's seed, and a designations list of two."""
    done = seed_console(live_app_settings, tmp_path_factory.mktemp("designations-seed"))
    engine = make_engine(live_app_settings.database_url)
    with engine.begin() as connection:
        for name in ("Example Front", "Example Movement"):
            add_designation(connection, name, "a national list", actor="test", now=utcnow())
    engine.dispose()
    return done


@pytest.fixture(scope="module")
def live_server(seeded: Seeded, live_server: str) -> str:
    return live_server


def test_a_violating_verdict_names_its_designation_by_keyboard(
    page: Page, live_server: str, seeded: Seeded, screenshot: Screenshot
) -> None:
    first, second = seeded.image_cases[0].id, seeded.image_cases[1].id
    page = watched(page)
    login(page, live_server, "rev1")
    page.goto(f"{live_server}/cases/{first}")
    page.keyboard.press("a")
    assert "Pick the category" in page.locator("#key-hint").inner_text()
    page.keyboard.press("4")  # recruitment
    assert "designated organisation or movement" in page.locator("#key-hint").inner_text()
    screenshot(page, "case-designation")
    page.keyboard.press("2")  # the second on the list, by name: Example Movement
    page.wait_for_url(re.compile(r"decided=\d+$"))  # on to the next case
    assert f"case #{first}" in page.locator("#undo-form").inner_text()
    page.goto(f"{live_server}/cases/{first}")
    assert status_badge(page) == "second review"
    (step,) = history(page)
    assert "rev1: violating (recruitment) · Example Movement → second review" in step

    # 0: none identified, an explicit answer that names nothing.
    page.goto(f"{live_server}/cases/{second}")
    for key in ("a", "5", "0"):
        page.keyboard.press(key)
    page.wait_for_url(re.compile(r"decided=\d+$"))
    assert csp_violations(page) == []
    page.goto(f"{live_server}/cases/{second}")
    (step,) = history(page)
    assert "rev1: violating (other_tvec) → second review" in step
    assert csp_violations(page) == []
