"""Evidence side by side in a real browser: a bank-match case shows the banked photo next to the
post's (both blurred), the PDQ distance against the bank's threshold, one block per matched
entry, and the false-positive action; a lead then disables the entry for a reason.

A module of its own (its own database and server, see conftest.py): the seed is two posted
photos matched against a bank filled from the original photos and a partner's hash list."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from redline import banks
from redline.index.store import IndexStore
from redline.ingest.run import ingest
from redline.model import Case, ItemMedia
from redline.model.base import utcnow
from redline.pipeline.scan import scan
from redline.review.accounts import add_user
from redline.store import ensure_schema, make_engine
from redline.store.media import FolderStore
from tests.e2e.console_seed import USERS
from tests.e2e.test_console import csp_violations, login, watched
from tests.media_fixtures import generated, make_video, photo
from tests.pipeline.test_scan import watermarked

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from redline.config import Settings
    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e


def seed_evidence(settings: Settings, work: Path) -> dict[str, int]:
    """A watermarked re-post of a banked photo and an exact copy of another, scanned against a
    bank filled from the photos' files and a partner bank imported from a hash list."""
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        originals, posts = work / "originals", work / "posts"
        originals.mkdir(parents=True)
        posts.mkdir()
        photo("astronaut").save(originals / "astronaut.png")
        photo("coffee").save(originals / "coffee.png")
        watermarked(photo("astronaut")).save(posts / "repost.jpg", quality=85)
        shutil.copyfile(originals / "coffee.png", posts / "copy.png")
        frames = [generated(i, (640, 360)) for i in range(5)]
        banked_video = make_video(originals / "clip.mp4", frames)
        make_video(posts / "clip-repost.mp4", [*frames, generated(40, (640, 360))])
        ingest(posts, "e2e-evidence", engine=engine, settings=settings, actor="test")
        store = FolderStore(settings.data_dir)
        astronaut = banks.hash_media(store, originals / "astronaut.png")
        coffee = banks.hash_media(store, originals / "coffee.png")
        video = banks.hash_media(store, banked_video)
        hash_list = work / "partner-list.csv"
        hash_list.write_text(
            "signal_type,signal,category,tags,source_org,added_at,note\n"
            f"pdq,{astronaut.hashes['pdq'][0].value},recruitment,,ngo-x,,poster\n"
        )
        now = utcnow()
        with engine.begin() as connection:
            banks.create_bank(connection, "known", actor="test", now=now)
            entry = banks.add_media(
                connection, "known", astronaut, actor="test", now=now, category="recruitment"
            )
            banks.add_media(connection, "known", coffee, actor="test", now=now)
            banks.add_media(connection, "known", video, actor="test", now=now)
            banks.create_bank(connection, "partner", actor="test", now=now, confirmed=False)
            banks.import_file(connection, "partner", hash_list, actor="test", now=now)
            for username, (role, password) in USERS.items():
                add_user(connection, username, role, password, "test")
        scan(engine, settings, IndexStore(engine, settings.data_dir), actor="test", workers=1)
        with engine.connect() as connection:
            cases = dict(
                connection.execute(
                    select(ItemMedia.original_name, Case.id).join(
                        Case, Case.item_id == ItemMedia.item_id
                    )
                ).all()
            )
        return {
            "repost": cases["repost.jpg"],
            "copy": cases["copy.png"],
            "video": cases["clip-repost.mp4"],
            "entry": entry.id,
        }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    return seed_evidence(live_app_settings, tmp_path_factory.mktemp("evidence-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: dict[str, int], live_server: str) -> str:
    return live_server


def test_a_bank_match_shows_the_banked_photo_beside_the_post_and_takes_a_report(
    page: Page, live_server: str, seeded: dict[str, int], screenshot: Screenshot
) -> None:
    case, entry = seeded["repost"], seeded["entry"]
    page = watched(page)
    login(page, live_server, "rev1")
    page.goto(f"{live_server}/cases/{case}")
    blocks = page.locator("article.evidence")
    assert blocks.count() == 2  # the file entry and the partner's imported hash
    block = page.locator(f"#entry-{entry}")
    pair = block.locator(".side-by-side img.blurred")
    assert pair.count() == 2  # the post's file and the banked file, both blurred
    for image in pair.all():
        assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    assert re.search(r"PDQ distance \d+ — bank threshold 31", block.inner_text())
    (other,) = [b for b in blocks.all() if b.get_attribute("id") != f"entry-{entry}"]
    assert "imported from the hash list partner-list.csv" in other.inner_text()
    assert "Banked by its hashes: the file is not kept" in other.inner_text()
    page.screenshot(path="/tmp/evidence-case.png", full_page=True)
    screenshot(page, "evidence-case")

    # The banked photo is revealed like the post's own media: audited, then shown in place.
    block.locator(".reveal-button").click()
    revealed = block.locator("img.revealed")
    revealed.wait_for()
    # Swapped in by htmx, then fetched: loaded once it has its pixels (under load, later).
    page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=revealed.element_handle())
    assert revealed.evaluate("i => i.naturalWidth") == 512

    block.locator(f"#fp-note-{entry}").fill("a different photo of a person in a suit")
    block.locator("button", has_text="False-positive match").click()
    page.wait_for_url(re.compile(rf"/cases/{case}#entry-{entry}$"))
    reported = page.locator(f"#entry-{entry}")
    assert "1 false-positive report on this entry" in reported.inner_text()
    assert "You reported this entry" in reported.inner_text()
    page.screenshot(path="/tmp/evidence-reported.png", full_page=True)
    assert csp_violations(page) == []


def test_a_video_match_shows_its_matched_frames_as_a_strip(
    page: Page, live_server: str, seeded: dict[str, int], screenshot: Screenshot
) -> None:
    page = watched(page)
    login(page, live_server, "rev2")
    page.goto(f"{live_server}/cases/{seeded['video']}")
    block = page.locator("article.evidence").first
    assert "83.33% of the post's 6 usable frames matched" in block.inner_text()
    thumbs = block.locator(".frame-strip img")
    assert thumbs.count() == 5
    for thumb in thumbs.all():
        thumb.scroll_into_view_if_needed()
        page.wait_for_function(
            "(i) => i.complete && i.naturalWidth > 0", arg=thumb.element_handle()
        )
    assert "0:00.0–0:04.0" in block.locator(".frame-strip").inner_text()
    page.screenshot(path="/tmp/evidence-video.png", full_page=True)
    screenshot(page, "evidence-video")
    assert csp_violations(page) == []


def test_a_lead_sees_the_count_and_disables_the_entry_for_a_reason(
    page: Page, live_server: str, seeded: dict[str, int], screenshot: Screenshot
) -> None:
    entry = seeded["entry"]
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/banks/known")
    row = page.locator(f"#entry-{entry}")
    assert row.locator("td.false-positives").inner_text() == "1"
    row.locator(f"#reason-{entry}").fill("reported as a false positive on re-posts")
    row.locator("button", has_text="Disable").click()
    page.wait_for_url(re.compile(rf"/banks/known#entry-{entry}$"))
    row = page.locator(f"#entry-{entry}")
    assert "disabled: reported as a false positive on re-posts" in row.inner_text()
    page.screenshot(path="/tmp/evidence-bank-disabled.png", full_page=True)
    screenshot(page, "evidence-bank-disabled")
