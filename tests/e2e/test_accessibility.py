"""Every console page passes axe-core's WCAG 2 A/AA and best-practice rules with no serious or
critical violation, as each role that can open it sees it, in Debian's Chromium.

The database holds the demo as ``redline demo`` leaves it: the data ingested and scanned on the
first morning of a week, then the demo team's week played (decisions with both verdicts, a case
escalated, one waiting for its second reviewer, take-downs into preservation, a referral, an
executed and an open removal order, complaints), so the pages show real rows rather than their
empty state. A webhook subscription sees the week's events, and one failed delivery round fills
the delivery log. One user per role signs in through the form.

Pages are opened in a browser context with ``bypass_csp=True``: the console's policy rightly
blocks the injected axe script, and this check is of the markup (the CSP is watched by the other
browser tests). The list of pages is checked against the console's routes, so a new page without
an accessibility check fails ``test_every_console_page_is_checked``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, select

import redline.web.ui
from redline.actions import webhooks
from redline.config import Settings
from redline.demo import build_demo, seed_demo_banks
from redline.demo.week import AWAITING_SECOND, DISAGREED, play_week, week_start
from redline.exchanges import run as exchanges
from redline.index.store import IndexStore
from redline.ingest.run import ingest
from redline.model import Case, Decision, Item, ItemMedia, Media, RemovalOrder, Source
from redline.model.base import clock_from, utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.pipeline.scan import scan
from redline.review.accounts import ROLES, add_user
from redline.review.decisions import cluster
from redline.store import ensure_schema, make_engine
from redline.store.media import FolderStore
from redline.web.app import create_app
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import PAGE_TIMEOUT_MS
from tests.e2e.console_seed import USERS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, StorageState

    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e

ACTOR: Final = "test:e2e-accessibility"
TEXT_SOURCE: Final = "e2e-accessibility"
TEXT_REASON: Final = "e2e accessibility text case"
TEXT_POSTED_TWICE: Final = "Generic notice: the library opens late on Friday."


# --- Seed ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekSeed:
    """Cases of each kind the pages are checked on."""

    image_case: int  # open, a bank match on an image
    text_case: int  # open, a post with text and no media, in a cluster of near duplicates
    violating_case: int  # decided violating, still up (its address was referred instead)
    escalated_case: int  # the reviewers disagreed: it waits for a lead
    second_review_case: int  # one reviewer decided; it waits for a second one
    decided_case: int  # a case a reviewer decides in a test (for the undo notice)
    dry_case: int  # a case decided from a tab with nothing else left (the queue's undo bar)
    final_decision: int  # a final decision (what a public complaint names)
    open_order: int  # a removal order still waiting for its steps


def seed_week(settings: Settings, work: Path) -> WeekSeed:
    """The demo data and its week, as ``redline demo`` makes them, plus a webhook's deliveries
    and one user per role."""
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        end = utcnow()
        start = week_start(end)
        demo = build_demo(work / "demo")
        with engine.begin() as connection:
            webhooks.add_subscription(
                connection,
                ACTOR,
                "Example platform (fictional)",
                "https://hooks.example/redline",
                ["decision.made", "item.taken_down"],
                start,
            )
        with clock_from(start):
            for source, (path, fmt) in demo.sources.items():
                ingest(path, source, engine=engine, settings=settings, actor=ACTOR, format_name=fmt)
            seed_demo_banks(engine, FolderStore(settings.data_dir), demo, ACTOR)
            indexes = IndexStore(engine, settings.data_dir)
            for source in demo.sources:
                scan(engine, settings, indexes, actor=ACTOR, source=source, workers=1)
        assert play_week(engine, start, end) is not None
        webhooks.deliver_due(engine, end, post=_refused, jitter=lambda: 0.5)
        _exchanges(engine, work / "exchanges", end)
        _text_posts(engine, settings, work / "posts")
        with engine.begin() as connection:
            for username, (role, password) in USERS.items():
                add_user(connection, username, role, password, ACTOR)
        return _cases(engine)
    finally:
        engine.dispose()


def _exchanges(engine: Engine, folder: Path, now: datetime) -> None:
    """Two exchanges feeding the media bank: a hash list file fetched once, and a ThreatExchange
    subscription whose last fetch was refused (the exchanges page shows both states)."""
    folder.mkdir(parents=True, exist_ok=True)
    listed = folder / "tat.json"
    entry = {"id": 1, "hash_digest": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
             "algorithm": "PDQ", "ideology": "islamist", "file_type": "jpg", "deleted": False,
             "updated_on": 1_764_000_001}  # fmt: skip
    listed.write_text(json.dumps({"results": [entry]}), encoding="utf-8")
    with engine.begin() as connection:
        exchanges.add_exchange(
            connection, "tat-list", "demo-known-media", "tat", {"path": str(listed)},
            actor=ACTOR, now=now,
        )  # fmt: skip
        exchanges.add_exchange(
            connection, "te-partner", "demo-known-media", "threatexchange",
            {"privacy_group": "303636684709969", "token": "1234567890|not-a-real-token"},
            actor=ACTOR, now=now,
        )  # fmt: skip
        exchanges.fetch(connection, "tat-list", now)
        exchanges.record_refusal(connection, "te-partner", "HTTP 401 from the Graph API", now)


def _text_posts(engine: Engine, settings: Settings, folder: Path) -> None:
    """Three posts of text only with a case each (the demo's text cases are all decided): two
    accounts posting the same notice (a cluster of near duplicates), and one other."""
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "posts.jsonl"
    posts = [
        ("text-1", "acct_a", TEXT_POSTED_TWICE),
        ("text-2", "acct_b", TEXT_POSTED_TWICE),
        ("text-3", "acct_c", "A generic post about a community meeting on Tuesday evening."),
    ]
    export.write_text(
        "".join(
            json.dumps({"id": i, "text": text, "account": account, "time": "2026-11-20T14:00:00Z"})
            + "\n"
            for i, account, text in posts
        ),
        encoding="utf-8",
    )
    summary = ingest(export, TEXT_SOURCE, engine=engine, settings=settings, actor=ACTOR)
    assert summary.stored == len(posts), summary.as_dict()
    with engine.begin() as connection:
        items = connection.scalars(
            select(Item.id)
            .join(Source, Source.id == Item.source_id)
            .where(Source.name == TEXT_SOURCE)
        ).all()
        open_item_cases(connection, {i: CaseReason(60, TEXT_REASON) for i in items}, utcnow())


def _refused(url: str, body: bytes, headers: object) -> int:
    """The platform's endpoint, down for the week's first delivery round."""
    raise webhooks.DeliveryFailed("HTTP 503 from the endpoint", 503)


def _cases(engine: Engine) -> WeekSeed:
    with engine.connect() as connection:
        by_record = {
            (row.source, row.external_id): (row.id, row.status)
            for row in connection.execute(
                select(Case.id, Case.status, Source.name.label("source"), Item.external_id)
                .join(Item, Item.id == Case.item_id)
                .join(Source, Source.id == Item.source_id)
            )
        }
        with_media = set(connection.scalars(select(ItemMedia.item_id)))
        images = connection.scalars(
            select(Case.id)
            .join(ItemMedia, ItemMedia.item_id == Case.item_id)
            .join(Media, Media.sha256 == ItemMedia.media_sha256)
            .where(Case.status == "open", Media.kind == "image")
            .order_by(Case.priority.desc(), Case.id)
        ).all()
        texts = [
            row.id
            for row in connection.execute(
                select(Case.id, Case.item_id)
                .join(Item, Item.id == Case.item_id)
                .where(Case.status == "open", Item.text_sha256.is_not(None))
                .order_by(Case.priority.desc(), Case.id)
            )
            if row.item_id not in with_media
        ]
        clustered = [case for case in texts if cluster(connection, case)]
        decision = connection.scalar(
            select(Decision.id)
            .join(Case, Case.id == Decision.case_id)
            .where(Case.status == "violating", Decision.status_after == "violating")
            .order_by(Decision.id)
            .limit(1)
        )
        order = connection.scalar(
            select(RemovalOrder.id)
            .where(RemovalOrder.status.in_(("received", "in_progress")))
            .order_by(RemovalOrder.id)
            .limit(1)
        )
    violating = by_record[("demo-media", "poster-1")]
    escalated = by_record[DISAGREED[:2]]
    awaiting = by_record[AWAITING_SECOND[:2]]
    assert violating[1] == "violating" and escalated[1] == "escalated", (violating, escalated)
    assert awaiting[1] == "second_review", awaiting
    assert len(images) > 1 and clustered and decision is not None, (images, clustered, decision)
    assert order is not None, "the demo week leaves an open removal order"
    spare = [case for case in texts if case not in clustered]
    return WeekSeed(
        image_case=images[0],
        text_case=clustered[0],
        violating_case=violating[0],
        escalated_case=escalated[0],
        second_review_case=awaiting[0],
        decided_case=spare[-1],
        dry_case=images[-1],
        final_decision=int(decision),
        open_order=int(order),
    )


# --- Pages --------------------------------------------------------------------------------------


Act = Callable[["Page", WeekSeed], None]


@dataclass(frozen=True, slots=True)
class Visit:
    """One console page in one state, as one role (None: signed out) sees it.

    ``path`` may name the seed's cases (``{image_case}``...); ``act`` puts the page in the state
    to check (a claim, a reveal, a form sent). ``status`` is the first answer's, to ``path``.
    ``routes`` are the console's GET routes whose
    markup the visit checks, ``template`` the template that renders it."""

    name: str
    role: str | None
    path: str
    routes: tuple[str, ...]
    template: str
    act: Act | None = None
    status: int = 200
    full_page: bool = True  # the screenshot's extent (the API docs are 20,000 pixels tall)


def _wait_loaded(page: Page, selector: str) -> None:
    page.wait_for_function(
        "(s) => { const img = document.querySelector(s); "
        "return !!img && img.complete && img.naturalWidth > 0; }",
        arg=selector,
    )


def _claim(page: Page, seed: WeekSeed) -> None:
    with page.expect_navigation():
        page.locator("#claim-form button").click()


def _claim_and_reveal(page: Page, seed: WeekSeed) -> None:
    """Claim the case, then reveal its image: the revealed fragment is swapped into the page."""
    _claim(page, seed)
    page.locator(".reveal-button").first.click()
    _wait_loaded(page, "img.revealed")


def _claim_and_preview_cluster(page: Page, seed: WeekSeed) -> None:
    """Claim the case and tick "apply to the cluster": its preview fragment is loaded in."""
    _claim(page, seed)
    page.locator("#cluster").check()
    page.locator("#cluster-preview > *").first.wait_for()


def _decide_not_violating(page: Page, seed: WeekSeed) -> None:
    """Claim and decide: the page comes back with the undo notice."""
    _claim(page, seed)
    page.locator('#decision-form input[value="not_violating"]').check()
    page.locator("#reason").select_option(index=1)
    with page.expect_navigation():
        page.locator("#decision-form button[type=submit]").click()
    page.locator("#undo-form").wait_for()


def _reveal_banked_and_report(page: Page, seed: WeekSeed) -> None:
    """Reveal the banked image beside the post (swapped in), then report the entry as a
    false-positive match: the page comes back with the report noted."""
    block = page.locator("article.evidence", has=page.locator(".side-by-side .reveal-button"))
    block.first.locator(".reveal-button").click()
    _wait_loaded(page, "article.evidence img.revealed")
    form = page.locator(".false-positive-form").first
    form.locator("input[name=note]").fill("a different poster")
    with page.expect_navigation():
        form.locator("button").click()
    page.get_by_text("You reported this entry").first.wait_for()


def _disable_with_reason(page: Page, seed: WeekSeed) -> None:
    """Disable the most reported entry with a reason: the row shows it disabled and why. (Which
    entry has reports depends on the visits this test process made before: with work stealing,
    the report of ``case-evidence-reported`` may have been made on another process's server.)"""
    rows = page.locator("tr", has=page.locator("input[name=reason]"))
    counts = []
    for index in range(rows.count()):
        # all_inner_texts does not wait for a cell that is not there.
        shown = rows.nth(index).locator("td.false-positives").all_inner_texts()
        text = shown[0].strip() if shown else ""
        counts.append(int(text) if text.isdigit() else 0)
    assert counts, "no entry to disable on the bank page"
    row = rows.nth(counts.index(max(counts)))
    row.locator("input[name=reason]").fill("matched an unrelated poster")
    with page.expect_navigation():
        row.locator("button", has_text="Disable").click()
    page.locator(".disabled-reason").first.wait_for()


def _decide_where_nothing_is_left(page: Page, seed: WeekSeed) -> None:
    """Decide from a tab that has run dry: the queue says so, with the undo of the decision."""
    _claim(page, seed)
    page.locator('#decision-form input[value="not_violating"]').check()
    page.locator("#reason").select_option(index=1)
    with page.expect_navigation(url=lambda url: "/queue?" in url):
        page.locator("#decision-form button[type=submit]").click()
    page.locator("#undo-form").wait_for()
    page.locator("#queue-empty").wait_for()


def _open_key_map(page: Page, seed: WeekSeed) -> None:
    page.keyboard.press("?")
    page.locator("#keymap[open]").wait_for()


def _expand_operations(page: Page, seed: WeekSeed) -> None:
    """Open the first operation of each HTTP method (parameters, bodies, examples)."""
    page.locator(".opblock").first.wait_for()
    for method in ("get", "post", "put", "patch", "delete"):
        operations = page.locator(f".opblock-{method} .opblock-summary-control")
        if operations.count():
            operations.first.click()
            page.locator(f".opblock-{method} .opblock-body").first.wait_for()


def _create_token(page: Page, seed: WeekSeed) -> None:
    """Create an API token: the answer shows its secret, once."""
    page.locator("#token-user").fill("rev1")
    page.locator("#token-name").fill("accessibility check")
    page.locator('input[name="scope"]').first.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create token").click()
    page.locator("#new-token").wait_for()


def _save_cap(page: Page, seed: WeekSeed) -> None:
    # High enough that no later visit's reviewer is sent on a break.
    page.locator("#daily_cap").fill("5000")
    with page.expect_navigation():
        page.get_by_role("button", name="Save cap").click()


def _refused_sign_in(page: Page, seed: WeekSeed) -> None:
    page.locator("#username").fill("rev1")
    page.locator("#password").fill("not the password at all")
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    page.locator("[role=alert]").wait_for()


def _complain(decision: int | None, answer: int) -> Act:
    """Send the public complaint form on ``decision`` (None: the seed's final decision); the
    answer's status is ``answer`` (201 filed, 404 refused)."""

    def act(page: Page, seed: WeekSeed) -> None:
        page.locator("#decision").fill(str(decision or seed.final_decision))
        page.locator("#text").fill("This was a news report about the event, not propaganda.")
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.locator("form button[type=submit]").click()
        assert sent.value.status == answer, sent.value
        page.wait_for_load_state()

    return act


def _register_unknown_url(page: Page, seed: WeekSeed) -> None:
    """Send the order form naming an address the store does not hold: it comes back refused,
    with what was typed."""
    page.locator("#authority").fill("Example national competent authority")
    page.locator("#reference").fill("TCO-A11Y-REFUSED")
    page.locator("#issued_at").fill("2026-11-20T09:00:00")
    page.locator("#received_at").fill("2026-11-20T09:05:00")
    page.locator("#urls").fill("https://unknown.example/p/1")
    page.locator("#reasons").fill("Generic statement of reasons for the check.")
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.locator("#order-form button[type=submit]").click()
    assert sent.value.status == 422, sent.value
    page.locator("#order-problem").wait_for()


CASE = "/cases/{case_id}"
VISITS: Final = (
    # Signed out.
    Visit("login", None, "/login", ("/login",), "login.html"),
    Visit("login-refused", None, "/login", ("/login",), "login.html", _refused_sign_in),
    Visit("complaint-form", None, "/complaints/new", ("/complaints/new",), "complaint.html"),
    Visit(
        "complaint-unknown",
        None,
        "/complaints/new",
        ("/complaints/new",),
        "complaint.html",
        _complain(999_999, 404),
    ),
    Visit(
        "complaint-filed",
        None,
        "/complaints/new?decision={final_decision}",
        ("/complaints/new",),
        "complaint.html",
        _complain(None, 201),
    ),
    Visit(
        "api-docs",
        None,
        "/api/docs",
        ("/api/docs",),
        "api_docs.html",
        _expand_operations,
        full_page=False,
    ),
    Visit("not-found-signed-out", None, "/no-such-page", (), "error.html", status=404),
    # A reviewer.
    Visit("queue", "rev1", "/queue", ("/queue",), "queue.html"),
    Visit(
        "queue-filtered",
        "rev1",
        "/queue?status=open&source=demo-telegram&lang=en&signal=bank&category=",
        ("/queue",),
        "queue.html",
    ),
    Visit("queue-empty", "rev1", "/queue?source=nothing-here&empty=1", ("/queue",), "queue.html"),
    Visit("queue-key-map", "rev1", "/queue", ("/queue",), "queue.html", _open_key_map),
    Visit(
        "case-image-revealed",
        "rev1",
        "/cases/{image_case}",
        (CASE,),
        "revealed.html",
        _claim_and_reveal,
    ),
    Visit(
        "case-text-cluster",
        "rev1",
        "/cases/{text_case}",
        (CASE, "/cases/{case_id}/cluster"),
        "cluster.html",
        _claim_and_preview_cluster,
    ),
    Visit(
        "case-decided-undo",
        "rev1",
        "/cases/{decided_case}",
        (CASE,),
        "case.html",
        _decide_not_violating,
    ),
    Visit(
        "queue-empty-undo",
        "rev1",
        "/cases/{dry_case}?status=open&source=no-such-source",
        (CASE, "/queue"),
        "undo_bar.html",
        _decide_where_nothing_is_left,
    ),
    Visit("case-second-review", "rev1", "/cases/{second_review_case}", (CASE,), "case.html"),
    Visit(
        "case-evidence-reported",
        "rev2",
        "/cases/{image_case}",
        (CASE,),
        "case.html",
        _reveal_banked_and_report,
    ),
    Visit("banks", "rev1", "/banks", ("/banks",), "banks.html"),
    Visit("bank-texts", "rev1", "/banks/demo-known-texts", ("/banks/{name}",), "bank.html"),
    Visit("settings", "rev1", "/settings", ("/settings",), "settings.html"),
    Visit(
        "designations-reviewer", "rev1", "/designations", ("/designations",), "designations.html"
    ),
    Visit(
        "posting-account",
        "rev1",
        f"/posting-accounts?source={TEXT_SOURCE}&account=acct_a",
        ("/posting-accounts",),
        "posting_account.html",
    ),
    Visit("forbidden", "rev1", "/admin", ("/admin",), "error.html", status=403),
    Visit("case-not-found", "rev1", "/cases/999999", (CASE,), "error.html", status=404),
    # A lead.
    Visit("queue-second-review", "lead1", "/queue?status=second_review", ("/queue",), "queue.html"),
    Visit("queue-escalated", "lead1", "/queue?status=escalated", ("/queue",), "queue.html"),
    Visit("case-violating", "lead1", "/cases/{violating_case}", (CASE,), "case.html"),
    Visit("case-escalated", "lead1", "/cases/{escalated_case}", (CASE,), "case.html"),
    Visit("banks-lead", "lead1", "/banks", ("/banks",), "banks.html"),
    Visit("exchanges", "lead1", "/exchanges", ("/exchanges",), "exchanges.html"),
    Visit("bank-media", "lead1", "/banks/demo-known-media", ("/banks/{name}",), "bank.html"),
    Visit(
        "bank-media-disabled",
        "lead1",
        "/banks/demo-known-media",
        ("/banks/{name}",),
        "bank.html",
        _disable_with_reason,
    ),
    Visit("dashboard", "lead1", "/dashboard", ("/dashboard",), "dashboard.html"),
    Visit("referrals", "lead1", "/referrals", ("/referrals",), "referrals.html"),
    Visit("complaints", "lead1", "/complaints", ("/complaints",), "complaints.html"),
    Visit("orders", "lead1", "/orders", ("/orders",), "orders.html"),
    Visit("order", "lead1", "/orders/{open_order}", ("/orders/{order_id}",), "order.html"),
    Visit("order-new", "lead1", "/orders/new", ("/orders/new",), "order_new.html"),
    Visit(
        "order-new-refused",
        "lead1",
        "/orders/new",
        ("/orders/new",),
        "order_new.html",
        _register_unknown_url,
    ),
    Visit("preservations", "lead1", "/preservations", ("/preservations",), "preservations.html"),
    Visit("notices", "lead1", "/notices", ("/notices",), "notices.html"),
    Visit("webhooks", "lead1", "/webhooks", ("/webhooks",), "webhooks.html"),
    Visit("audit", "lead1", "/audit", ("/audit",), "audit.html"),
    Visit("designations", "lead1", "/designations", ("/designations",), "designations.html"),
    Visit("health", "lead1", "/health", ("/health",), "health.html"),
    Visit("health-cap-saved", "lead1", "/health", ("/health",), "health.html", _save_cap),
    # An admin.
    Visit("admin", "admin1", "/admin", ("/admin",), "admin.html"),
    Visit("admin-token-created", "admin1", "/admin", ("/admin",), "admin.html", _create_token),
    Visit("settings-admin", "admin1", "/settings", ("/settings",), "settings.html"),
    # An auditor (reads everything, changes nothing).
    Visit("queue-auditor", "aud1", "/queue?status=violating", ("/queue",), "queue.html"),
    Visit("case-auditor", "aud1", "/cases/{image_case}", (CASE,), "case.html"),
    Visit("audit-filtered", "aud1", "/audit?action=media.reveal", ("/audit",), "audit.html"),
    Visit("webhooks-pending", "aud1", "/webhooks?status=pending", ("/webhooks",), "webhooks.html"),
    Visit("complaints-auditor", "aud1", "/complaints", ("/complaints",), "complaints.html"),
    Visit("dashboard-auditor", "aud1", "/dashboard", ("/dashboard",), "dashboard.html"),
    Visit("health-auditor", "aud1", "/health?from=2026-01-01", ("/health",), "health.html"),
    Visit(
        "order-auditor", "aud1", "/orders/{open_order}", ("/orders/{order_id}",), "order_urls.html"
    ),
)

# GET routes of the console that render no page of their own, each with the reason.
NOT_PAGES: Final = {
    "/": "redirects to the queue, or to the sign-in page",
    "/audit.csv": "the audit log as CSV",
    "/banks/{name}/export": "a bank's entries as a file",
    "/cases/{case_id}/media/{sha256}/preview": "a blurred JPEG",
    "/cases/{case_id}/media/{sha256}/full": "the original media file",
    "/dashboard/report": "the transparency report as a PDF or CSV download",
    "/banks/{name}/entries/{entry_id}/preview": "a bank entry's blurred JPEG thumbnail",
    "/orders/{order_id}/report": "the report to the authority, as text",
}
TEMPLATES: Final = Path(redline.web.ui.__file__).parent / "templates"


def console_get_routes(settings: Settings) -> set[str]:
    """The paths of every GET route the console's page modules declare, and of those the app
    adds itself (the API docs); the APIs' routers (JSON) are not the console's."""
    routers = [
        getattr(importlib.import_module(f"redline.web.ui.{module.name}"), "router", None)
        for module in pkgutil.iter_modules(redline.web.ui.__path__)
    ]
    routes = [r for router in routers for r in getattr(router, "routes", ())]
    routes += create_app(settings).routes
    return {
        route.path
        for route in routes
        if isinstance(route, APIRoute) and route.methods and "GET" in route.methods
    }


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> WeekSeed:
    return seed_week(live_app_settings, tmp_path_factory.mktemp("accessibility-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: WeekSeed, live_server: str) -> str:
    """The conftest's server, started once ``seeded`` filled its database."""
    return live_server


@pytest.fixture(scope="module")
def sessions() -> dict[str, StorageState]:
    """Each user's signed-in browser state (the session cookie), kept after the first sign-in
    through the form, so later visits as that user skip the form."""
    return {}


@pytest.fixture
def unguarded(browser: Browser) -> Iterator[Callable[[StorageState | None], Page]]:
    """``unguarded(state)``: a page in a new browser context (with that signed-in state) that
    ignores the Content-Security-Policy, so axe's script can be added to it. The check is of
    the markup; the policy itself is watched by the other browser tests (tests/e2e/
    test_console.py and test_action_pages.py), never here."""
    contexts: list[BrowserContext] = []

    def make(state: StorageState | None) -> Page:
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, bypass_csp=True, storage_state=state
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(USERS[username][1])
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    assert "/login" not in page.url, f"{username} could not sign in"


# --- Tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("visit", VISITS, ids=[v.name for v in VISITS])
def test_console_page_has_no_serious_accessibility_violation(
    visit: Visit,
    unguarded: Callable[[StorageState | None], Page],
    sessions: dict[str, StorageState],
    live_server: str,
    seeded: WeekSeed,
    screenshot: Screenshot,
) -> None:
    if visit.role is None:
        page = unguarded(None)
    elif visit.role in sessions:
        page = unguarded(sessions[visit.role])
    else:
        page = unguarded(None)
        _sign_in(page, live_server, visit.role)
        sessions[visit.role] = page.context.storage_state()
    url = live_server + visit.path.format(**asdict(seeded))
    response = page.goto(url)
    assert response is not None and response.status == visit.status, (url, response)
    if visit.act is not None:
        visit.act(page, seeded)
    page.wait_for_load_state("networkidle")  # htmx swaps and images done
    screenshot(page, f"a11y-{visit.name}", full_page=visit.full_page)
    for lesser in assert_accessible(page):  # moderate and minor ones: shown, not failed on
        print(lesser)


def test_every_console_page_is_checked(live_app_settings: Settings) -> None:
    """A GET route or a template added to the console without an accessibility check fails."""
    checked = {route for visit in VISITS for route in visit.routes}
    routes = console_get_routes(live_app_settings)
    assert routes - checked - set(NOT_PAGES) == set(), "GET routes with no accessibility check"
    assert set(NOT_PAGES) <= routes, "excluded routes the console no longer has"
    templates = {path.name for path in TEMPLATES.glob("*.html")} - {"base.html"}
    assert templates - {visit.template for visit in VISITS} == set(), "templates never checked"
    roles = {USERS[visit.role][0] for visit in VISITS if visit.role is not None}
    assert roles == set(ROLES), "a role whose pages are never checked"
