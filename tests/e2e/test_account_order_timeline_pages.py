"""A posting account's page, removal orders registered in the console, and the case timeline, in
a real browser: reached by their links, forms sent as a person sends them, nothing blocked by
the Content-Security-Policy, and the blind second review kept in the timeline.

The module's database holds one channel posting over ten days (links to two file hosts, a case
on every third post) and a file host's two posts, one with a picture and a case; cases are
opened through the routing function the pipeline uses.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from redline.config import Settings
from redline.ingest.run import ingest
from redline.model import Case, Item, Source
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.pipeline.scan import items_in_scope
from redline.pipeline.text_scan import (
    OUTLINKS,
    OUTLINKS_VERSION,
    TextSummary,
    extract_outlinks,
    texts_in_scope,
)
from redline.review.accounts import add_user
from redline.store import ensure_schema, make_engine
from tests.e2e.console_seed import USERS
from tests.e2e.test_action_pages import CSP_WATCH, csp_violations, login, submit
from tests.helpers import pending_texts_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e

ACTOR: Final = "test:e2e-accounts"
CHANNEL_SOURCE: Final = "e2e-channel"
HOST_SOURCE: Final = "e2e-file-host"
PICTURE_URL: Final = "https://files.example/e2e/picture"
TEXT_URL: Final = "https://files.example/e2e/text"
PREVIEWS_LOADED: Final = """() => document.images.length > 0
  && Array.from(document.images).every((img) => img.complete && img.naturalWidth > 0)"""


@dataclass(frozen=True, slots=True)
class Seed:
    channel_case: int  # an open case of the channel
    channel_open: int  # the channel's cases waiting for a first review
    picture_case: int  # the file host's picture post's case


def seed(settings: Settings, work: Path) -> Seed:
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        work.mkdir(parents=True, exist_ok=True)
        start = utcnow() - timedelta(days=10)
        channel = [
            {
                "id": f"ch{n}",
                "text": f"Generic channel update {n}."
                + (f" https://files{(n // 4) % 2}.example.net/d/{n}" if n % 4 == 0 else ""),
                "account": "chan_e2e",
                "account_name": "Example channel",
                "time": (start + timedelta(hours=7 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for n in range(33)
        ]
        (work / "channel.jsonl").write_text("".join(json.dumps(p) + "\n" for p in channel))
        ingest(
            work / "channel.jsonl", CHANNEL_SOURCE, engine=engine, settings=settings, actor=ACTOR
        )
        picture = io.BytesIO()
        Image.new("RGB", (160, 120), (40, 110, 190)).save(picture, "PNG")
        (work / "picture.png").write_bytes(picture.getvalue())
        hosted: list[dict[str, Any]] = [
            {"id": "h1", "text": "Generic post with a picture.", "url": PICTURE_URL},
            {"id": "h2", "text": "Generic post without one.", "url": TEXT_URL},
        ]
        hosted[0]["media"] = ["picture.png"]
        (work / "hosted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in hosted))
        ingest(work / "hosted.jsonl", HOST_SOURCE, engine=engine, settings=settings, actor=ACTOR)
        extract_outlinks(
            engine,
            pending_texts_of(
                engine, texts_in_scope(items_in_scope(None, None)), OUTLINKS, OUTLINKS_VERSION
            ),
            TextSummary(),
        )
        with engine.begin() as connection:
            ids = dict(
                connection.execute(
                    select(Item.external_id, Item.id).join(Source, Source.id == Item.source_id)
                ).all()
            )
            flagged = [ids[f"ch{n}"] for n in range(0, 33, 3)] + [ids["h1"]]
            open_item_cases(connection, {i: CaseReason(50, "e2e probe") for i in flagged}, utcnow())
            cases = dict(connection.execute(select(Case.item_id, Case.id)).all())
            for username, (role, password) in USERS.items():
                add_user(connection, username, role, password, ACTOR)
        return Seed(cases[ids["ch0"]], 11, cases[ids["h1"]])
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed(live_app_settings, tmp_path_factory.mktemp("accounts-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: Seed, live_server: str) -> str:
    return live_server


@pytest.fixture(scope="module")
def engine(live_app_settings: Settings, seeded: Seed) -> Iterator[Engine]:
    made = make_engine(live_app_settings.database_url)
    yield made
    made.dispose()


def test_the_account_page_from_the_case_page_and_its_bulk_decision(
    page: Page, live_server: str, seeded: Seed, engine: Engine, screenshot: Screenshot
) -> None:
    page.context.add_init_script(CSP_WATCH)
    login(page, live_server, "rev1")
    page.goto(f"{live_server}/cases/{seeded.channel_case}")
    with page.expect_navigation():
        page.locator("#account-link").click()
    assert page.locator("#account-items").inner_text() == "33"
    assert page.locator("#posts-per-day rect").count() >= 9
    hosts = page.locator("#account-domains tbody tr").all_inner_texts()
    assert [h.split()[0] for h in hosts] == ["files0.example.net", "files1.example.net"]
    assert page.locator("#bulk-form input[name=case]:checked").count() == seeded.channel_open
    screenshot(page, "account-page")
    # Keep two cases out of the bulk decision; decide the rest as not violating.
    boxes = page.locator("#bulk-form input[name=case]")
    boxes.nth(0).uncheck()
    boxes.nth(1).uncheck()
    page.locator('#bulk-form input[value="not_violating"]').check()
    page.locator("#bulk-reason").select_option("not_tvec")
    done = submit(page, page.locator("#bulk-form button[type=submit]"), "/posting-accounts/decide")
    assert done.status == 303
    assert (
        page.locator("#bulk-done")
        .inner_text()
        .startswith(f"Recorded {seeded.channel_open - 2} decisions")
    )
    assert (
        page.locator("#account-decided")
        .inner_text()
        .startswith(
            f"{seeded.channel_open - 2}: 0 violating, {seeded.channel_open - 2} not violating"
        )
    )
    assert page.locator("#bulk-form input[name=case]").count() == 2
    screenshot(page, "account-page-after-bulk")
    assert csp_violations(page) == []


def test_a_lead_registers_an_order_and_acts_on_it_in_the_console(
    page: Page, live_server: str, seeded: Seed, screenshot: Screenshot
) -> None:
    page.context.add_init_script(CSP_WATCH)
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/orders")
    with page.expect_navigation():
        page.locator("#new-order-link").click()
    received = utcnow() - timedelta(minutes=10)
    page.locator("#authority").fill("Example national competent authority")
    page.locator("#reference").fill("TCO-E2E-CONSOLE")
    page.locator("#issued_at").fill((received - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.locator("#received_at").fill(received.strftime("%Y-%m-%dT%H:%M:%S"))
    page.locator("#urls").fill(f"{PICTURE_URL}\n{TEXT_URL}")
    page.locator("#reasons").fill("Generic statement of reasons for the test.")
    page.locator("#content_type").select_option("incitement")
    screenshot(page, "order-new")
    done = submit(page, page.locator("#order-form button[type=submit]"), "/orders")
    assert done.status == 303
    page.locator("#order-registered").wait_for()
    link = page.locator(f'a.order-item-link[href="/cases/{seeded.picture_case}"]')
    assert link.count() == 1
    page.wait_for_function(PREVIEWS_LOADED)
    countdown = page.locator(".countdown").inner_text()
    assert countdown.startswith("due in 0 h"), countdown
    screenshot(page, "order-page")
    row = page.locator("li", has=page.locator("span.url", has_text=TEXT_URL))
    order_page = page.url.split("?")[0]
    submit(page, row.get_by_role("button", name="Removed"), "/steps")
    assert page.url == order_page  # back on the order's own page
    assert (
        "removed"
        in page.locator("li", has=page.locator("span.url", has_text=TEXT_URL)).inner_text()
    )
    with page.expect_navigation():
        page.locator("#report-form button").click()
    report = page.locator("body").inner_text()
    assert "Re: removal order TCO-E2E-CONSOLE" in report and f"{TEXT_URL}: removed" in report
    assert csp_violations(page) == []


def test_the_timeline_is_blind_for_the_second_reviewer(
    page: Page, live_server: str, seeded: Seed, screenshot: Screenshot
) -> None:
    case = seeded.picture_case
    login(page, live_server, "rev1")
    page.goto(f"{live_server}/cases/{case}")
    with page.expect_navigation():
        page.locator("#claim-form button").click()
    page.locator(".reveal-button").first.click()
    page.locator("img.revealed").wait_for()
    page.goto(f"{live_server}/cases/{case}")
    page.locator('#decision-form input[value="violating"]').check()
    page.locator("#category").select_option("recruitment")
    with page.expect_navigation():
        page.locator("#decision-form button[type=submit]").click()
    page.context.clear_cookies()
    login(page, live_server, "rev2")
    page.goto(f"{live_server}/cases/{case}")
    timeline = page.locator("#timeline")
    # rev1's reveal and verdict, and the order an earlier test registered for its address.
    withheld = page.locator("#timeline-withheld").inner_text()
    assert re.fullmatch(
        r"Blind review: [23] events by others are shown after you decide\.", withheld
    )
    assert (
        page.locator("#timeline-events li")
        .all_inner_texts()[0]
        .split(" · ")[1]
        .startswith("opened")
    )
    assert "rev1" not in page.content()
    timeline.scroll_into_view_if_needed()
    screenshot(page, "timeline-blind")
    page.context.clear_cookies()
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/cases/{case}")
    items = page.locator("#timeline-events li").all_inner_texts()
    kinds = [i.split(": ")[0].split(" · ")[1] for i in items]
    # The order an earlier test registered was received before the case was opened.
    assert [k for k in kinds if k != "removal order"] == ["opened", "reveal", "decision"], kinds
    assert any("rev1: violating (recruitment)" in i for i in items)
    screenshot(page, "timeline-lead")
