"""The keyboard-only steady state of a filtered queue, measured in a real browser: how many key
presses and page loads each verdict takes from one case to the next, that the next case keeps
the tab and filters, and that the undo of the decision just made follows the reviewer.

The bias protections stay as they are: no category is pre-selected (the reviewer picks it with
a digit), and once leads keep a designations list a violating verdict names one (another
digit). So ``n`` + reason and ``a`` + category are two keys, ``s`` one, and ``a`` + category +
designation three: two keys for that verdict would mean choosing the category or the
designation for the reviewer, unless the reviewer asks to keep their own designation for their
next cases (a referral unit works one group's queue for hours): then it is two again. The measured numbers are written to /tmp/queue-keyboard-keys.txt.

A module of its own (its own database and server): it adds a designations list half-way.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from redline.model import Case, Decision, Designation, Item, Source
from redline.model.base import utcnow
from redline.review.designations import add_designation
from redline.store import make_engine
from tests.e2e.console_seed import Seeded, seed_console
from tests.e2e.test_console import csp_violations, login, watched

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from redline.config import Settings
    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/queue-keyboard")
REPORT = Path("/tmp/queue-keyboard-keys.txt")


@dataclass
class Filtered:
    """The tab and filters the reviewer works in."""

    source: str
    cases: int

    @property
    def query(self) -> str:
        return f"status=open&source={self.source}&signal=bank"


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_console(live_app_settings, tmp_path_factory.mktemp("queue-keyboard-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: Seeded, live_server: str) -> str:
    return live_server


@pytest.fixture(scope="module")
def filtered(seeded: Seeded, live_app_settings: Settings) -> Filtered:
    """The source with the most open bank-match cases: the reviewer's filtered tab."""
    engine = make_engine(live_app_settings.database_url)
    try:
        with engine.connect() as connection:
            name, count = connection.execute(
                select(Source.name, func.count(Case.id))
                .join(Item, Item.source_id == Source.id)
                .join(Case, Case.item_id == Item.id)
                .where(Case.status == "open", Case.signal == "bank")
                .group_by(Source.name)
                .order_by(func.count(Case.id).desc())
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    return Filtered(str(name), int(count))


@dataclass
class Keyboard:
    """Key presses and page loads on one page, counted."""

    page: Page
    keys: int = 0
    loads: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("load", lambda loaded: self.loads.append(loaded.url))

    def press(self, *keys: str) -> None:
        for key in keys:
            self.keys += 1
            self.page.keyboard.press(key)

    def reset(self) -> None:
        self.keys = 0
        self.loads.clear()


def case_id(url: str) -> int:
    found = re.search(r"/cases/(\d+)", url)
    assert found is not None, url
    return int(found.group(1))


def filters_of(url: str) -> dict[str, list[str]]:
    query = parse_qs(urlsplit(url).query)
    query.pop("decided", None)
    return query


def shot(page: Page, screenshot: Screenshot, name: str) -> None:
    saved = screenshot(page, f"queue-keyboard-{name}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(saved, SHOTS / f"{name}.png")


def decide_and_measure(board: Keyboard, filtered: Filtered, *keys: str) -> tuple[int, int]:
    """From a case page of the filtered tab: press ``keys``, wait for the next case; the key
    presses and page loads it took, after checking the next case keeps the tab and filters
    and offers the undo of this decision."""
    page = board.page
    before = case_id(page.url)
    board.reset()
    with page.expect_navigation(url=lambda url: "decided=" in url):
        board.press(*keys)
    page.locator("#undo-form").wait_for()
    after = page.url
    assert "/cases/" in after and case_id(after) != before, after
    assert filters_of(after) == {
        "status": ["open"],
        "source": [filtered.source],
        "signal": ["bank"],
    }, after
    # The next case is one of the tab's: its source is the filter's, and the reviewer holds it.
    assert page.locator("dl.facts dd").nth(1).inner_text().startswith(filtered.source)
    assert "claimed by rev1" in page.locator("p.meta").inner_text()
    assert f"case #{before}" in page.locator("#undo-form").inner_text()
    return board.keys, len(board.loads)


def test_one_decision_by_keyboard_is_two_keys_and_one_page_load_in_a_filtered_tab(
    page: Page,
    live_server: str,
    live_app_settings: Settings,
    filtered: Filtered,
    screenshot: Screenshot,
) -> None:
    assert filtered.cases >= 8, filtered  # enough cases for every verdict below
    page = watched(page)
    login(page, live_server, "rev1")
    page.goto(f"{live_server}/queue?{filtered.query}")
    # The queue: every tab counted, the language filter lists what is there, media blurred.
    assert page.locator("nav.tabs .count").count() == 5
    thumbs = page.locator("img.thumb")
    assert thumbs.count() > 0
    for src in thumbs.evaluate_all("(imgs) => imgs.map((i) => i.getAttribute('src'))"):
        assert re.fullmatch(r"/cases/\d+/media/[0-9a-f]{64}/preview", src), src
    assert page.locator("#lang-filter option").first.inner_text() == "any"
    shot(page, screenshot, "queue-filtered")

    # Into the tab: "Claim next case" by keyboard (Tab to it, Enter), the first page load.
    page.locator("#next-form button").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert filters_of(page.url)["source"] == [filtered.source]

    board = Keyboard(page)
    measured: dict[str, tuple[int, int]] = {}
    measured["not violating (n, reason digit)"] = decide_and_measure(board, filtered, "n", "1")
    shot(page, screenshot, "next-case-with-undo")
    measured["second review (s)"] = decide_and_measure(board, filtered, "s")
    measured["violating, no designations list (a, category digit)"] = decide_and_measure(
        board, filtered, "a", "1"
    )

    # u undoes the decision just made, from the next case: back to that case, filters kept.
    undone = case_id(page.locator("#undo-form a").get_attribute("href") or "")
    board.reset()
    with page.expect_navigation():
        board.press("u")
    assert case_id(page.url) == undone and filters_of(page.url)["source"] == [filtered.source]
    assert page.locator("#decision-form").count() == 1 and board.keys == 1

    # Leads keep a designations list from now on: a violating verdict names one (0: none).
    engine = make_engine(live_app_settings.database_url)
    with engine.begin() as connection:
        add_designation(connection, "Example Front", "a national list", actor="test", now=utcnow())
    engine.dispose()
    page.reload()
    assert page.locator("#designation").count() == 1
    assert page.locator("#category").input_value() == ""  # still nothing chosen for anyone
    measured["violating, with a designations list (a, category digit, designation digit)"] = (
        decide_and_measure(board, filtered, "a", "1", "0")
    )
    measured["not violating, with a designations list (n, reason digit)"] = decide_and_measure(
        board, filtered, "n", "2"
    )
    shot(page, screenshot, "next-case-after-designation")

    # The reviewer works one group's cases: they tick "keep" once (set-up, not counted), name
    # the designation with its digit, and from the next case on it is chosen again, said on the
    # page: a violating verdict is a and a category digit again, the category still theirs.
    page.locator("#keep-designation").check()
    measured["violating, keeping the designation: first (a, category, designation)"] = (
        decide_and_measure(board, filtered, "a", "1", "1")
    )
    assert page.locator("#designation").input_value() == "Example Front"
    assert page.locator("#category").input_value() == ""  # the category is never kept
    assert "kept from your previous decision" in page.locator("#designation-kept").inner_text()
    kept_case = case_id(page.url)
    measured["violating, designation kept (a, category digit)"] = decide_and_measure(
        board, filtered, "a", "2"
    )
    shot(page, screenshot, "next-case-designation-kept")
    # A not-violating verdict with the kept designation in the form records no designation.
    plain_case = case_id(page.url)
    measured["not violating, designation kept (n, reason digit)"] = decide_and_measure(
        board, filtered, "n", "1"
    )
    engine = make_engine(live_app_settings.database_url)
    with engine.connect() as connection:
        recorded = dict(
            connection.execute(
                select(Decision.case_id, Designation.name)
                .outerjoin(Designation, Designation.id == Decision.designation_id)
                .where(Decision.case_id.in_((kept_case, plain_case)))
            ).all()
        )
    engine.dispose()
    assert recorded == {kept_case: "Example Front", plain_case: None}, recorded
    # Unticking forgets it: the next case asks again.
    page.locator("#keep-designation").uncheck()
    page.reload()
    assert page.locator("#designation").input_value() == ""

    REPORT.write_text(
        "".join(
            f"{verdict}: {keys} keys, {loads} page load\n"
            for verdict, (keys, loads) in measured.items()
        )
    )
    print(REPORT.read_text())
    assert all(loads == 1 for _keys, loads in measured.values()), measured
    assert [keys for keys, _loads in measured.values()] == [2, 1, 2, 3, 2, 3, 2, 2], measured
    assert csp_violations(page) == []


def test_the_queue_says_when_the_filtered_tab_is_done_and_keeps_the_undo(
    page: Page, live_server: str, seeded: Seeded, screenshot: Screenshot
) -> None:
    page = watched(page)
    login(page, live_server, "rev2")
    # A tab that has run dry (no case in this source): the decision lands on the queue.
    dry = "status=open&source=no-such-source"
    page.goto(f"{live_server}/cases/{seeded.xss_case}?{dry}")
    with page.expect_navigation(url=lambda url: "/queue?" in url):
        for key in ("n", "1"):
            page.keyboard.press(key)
    assert filters_of(page.url) == {
        "status": ["open"],
        "source": ["no-such-source"],
        "empty": ["1"],
    }
    assert (
        "Nothing left to claim here under these filters"
        in page.locator("#queue-empty").inner_text()
    )
    assert f"case #{seeded.xss_case}" in page.locator("#undo-form").inner_text()
    shot(page, screenshot, "queue-empty-with-undo")
    with page.expect_navigation():
        page.keyboard.press("u")
    assert case_id(page.url) == seeded.xss_case
    assert page.locator("#decision-form").count() == 1
    assert csp_violations(page) == []
