"""The console's action pages in a real browser: removal orders with their live countdown,
referrals, the public complaint form and the complaints list, and the outcomes dashboard.

The module's database is filled by ``seed_actions`` below through the same domain functions the
console and the API call (ingest, open cases, decide, refer, take down), with times relative to
the real clock so the two-week and thirty-day windows hold. Removal orders are registered by the
tests themselves, at the moment they need them: an order's one-hour deadline is counted from its
receipt, so each test picks a receipt time relative to *now* (about an hour ago for a countdown
near zero, two hours ago for an overdue order).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from sqlalchemy import Engine, select

from redline.actions import orders, preservation, referrals
from redline.config import Settings
from redline.ingest.run import ingest
from redline.model import Case, Item, Source
from redline.model.base import utcnow
from redline.pipeline.route import CaseReason, open_item_cases
from redline.review.accounts import add_user
from redline.review.decisions import Verdict, decide
from redline.store import ensure_schema, make_engine
from tests.e2e.console_seed import USERS

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Response

    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e

ACTOR: Final = "test:e2e-actions"
SOURCE: Final = "e2e-actions"
AUTHORITY: Final = "Example national competent authority"
# Addresses of the posts the seed ingests; orders name the files.example ones.
REFER_URL: Final = "https://videos.example/watch/r1"  # a draft referral, VideoHost registered
REMOVED_URL: Final = "https://videos.example/watch/r2"  # a referral sent and removed (4 h)
UNLISTED_URL: Final = "https://unlisted.example/p/3"  # a draft referral, no service registered
ORDER_URLS: Final = {
    "count": ["https://files.example/count"],
    "late": ["https://files.example/late"],
    "steps": [
        "https://files.example/steps-a",
        "https://files.example/steps-b",
        "https://files.example/steps-c",
    ],
}
COMPLAINT_TEXT: Final = "This was a news report about the event, not propaganda."
# What the countdown script writes: "due in 0 h 49 min 07 s" or "overdue by 1 h 00 min 03 s".
TICKING: Final = re.compile(r"^(due in|overdue by) (\d+) h (\d{2}) min (\d{2}) s$")
PAGE_SECONDS = r"""(selector) => {
  const el = document.querySelector(selector);
  const m = el && /^(due in|overdue by) (\d+) h (\d{2}) min (\d{2}) s$/.exec(el.textContent.trim());
  if (!m) return null;
  const s = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  return m[1] === "due in" ? s : -s;
}"""
# Content-Security-Policy violations (a blocked script, style or image), recorded from the start.
CSP_WATCH = """window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));"""
BROKEN_IMAGES = """() => Array.from(document.images)
  .filter((img) => !img.complete || img.naturalWidth === 0)
  .map((img) => img.outerHTML.slice(0, 100))"""


# --- Seed ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionsSeed:
    """What the tests of this module can count on finding in the database."""

    complaint_decision: int  # a final (violating) decision whose item was removed
    complaint_case: int
    unfinished_decision: int  # a first decision waiting for a second reviewer (not final)


def _post(external_id: str, text: str, url: str | None, hours_ago: float) -> dict[str, str]:
    posted = (utcnow() - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "id": external_id,
        "text": text,
        "account": f"acct_{external_id}",
        "account_name": f"Account {external_id}",
        "time": posted,
    }
    if url:
        record["url"] = url
    return record


def _ingest(engine: Engine, settings: Settings, folder: Path, posts: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "posts.jsonl"
    export.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    summary = ingest(export, SOURCE, engine=engine, settings=settings, actor=ACTOR)
    assert summary.stored == len(posts), summary.as_dict()


def seed_actions(settings: Settings, work: Path) -> ActionsSeed:
    """Posts with addresses, cases decided over the last days, referrals in several states, a
    removed item with a final decision (for complaints), a re-upload, and one user per role."""
    now = utcnow()
    posts = [
        _post("order-count", "Generic post kept at a file host, one.", ORDER_URLS["count"][0], 30),
        _post("order-late", "Generic post kept at a file host, two.", ORDER_URLS["late"][0], 30),
        *[
            _post(f"order-steps-{n}", f"Generic post kept at a file host, part {n}.", url, 30)
            for n, url in enumerate(ORDER_URLS["steps"])
        ],
        _post("refer-1", "Generic recruitment video description, copy one.", REFER_URL, 50),
        _post("refer-2", "Generic recruitment video description, copy two.", REMOVED_URL, 50),
        _post("refer-3", "Generic recruitment post on an unlisted host.", UNLISTED_URL, 50),
        _post("complain-1", "Generic post that was removed and complained about.", None, 50),
        _post("pending-1", "Generic post waiting for a second review.", None, 50),
        _post("removed-1", "Generic statement that was taken down and came back.", None, 80),
        *[
            _post(f"quick-{n}", f"Generic post decided quickly, number {n}.", None, 60)
            for n in range(4)
        ],
    ]
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        _ingest(engine, settings, work / "first", posts)
        with engine.begin() as connection:
            users = {
                name: add_user(connection, name, role, password, ACTOR)
                for name, (role, password) in USERS.items()
            }
            items = dict(
                connection.execute(
                    select(Item.external_id, Item.id)
                    .join(Source, Source.id == Item.source_id)
                    .where(Source.name == SOURCE)
                ).all()
            )
            # Cases opened at different times before they were decided: the time-to-decision
            # histogram gets a spread of values.
            decided = [
                "refer-1",
                "refer-2",
                "refer-3",
                "complain-1",
                "removed-1",
                *[f"quick-{n}" for n in range(4)],
            ]
            for hours, external in enumerate([*decided, "pending-1"], start=1):
                reason = CaseReason(60 + hours, f"e2e seed: {external}", signal="bank")
                open_item_cases(
                    connection, {items[external]: reason}, now - timedelta(days=3, hours=3 * hours)
                )
            cases = dict(connection.execute(select(Case.item_id, Case.id)).all())
            case_of = {external: cases[items[external]] for external in [*decided, "pending-1"]}
            outcomes = {
                external: decide(
                    connection,
                    users["lead1"],
                    case_of[external],
                    Verdict("violating", category="recruitment", note="calls to join a group"),
                    now - timedelta(days=2, hours=index),
                    four_eyes=False,
                )
                for index, external in enumerate(decided)
            }
            unfinished = decide(
                connection,
                users["rev1"],
                case_of["pending-1"],
                Verdict("violating", category="recruitment"),
                now - timedelta(days=1),
            )
            assert unfinished.status_after == "second_review", unfinished
            referrals.add_service(
                connection, ACTOR, "VideoHost", ["videos.example"], "email", "abuse@videos.example"
            )
            for external in ("refer-1", "refer-2", "refer-3"):
                made = referrals.create_referrals(
                    connection, "user:lead1", case_of[external], now - timedelta(days=1)
                )
                assert len(made) == 1, (external, made)
                if external == "refer-2":  # sent, and gone four hours later
                    referrals.set_status(
                        connection, "user:lead1", made[0], "sent", now - timedelta(hours=20)
                    )
                    referrals.set_status(
                        connection, "user:lead1", made[0], "removed", now - timedelta(hours=16)
                    )
            for external in ("complain-1", "removed-1"):
                preservation.take_down(
                    connection,
                    "user:lead1",
                    items[external],
                    "removed",
                    now - timedelta(days=1, hours=12),
                )
        # The removed statement posted again, under another id, after its removal: a re-upload.
        again = _post(
            "removed-1-again", "Generic statement that was taken down and came back.", None, 1
        )
        _ingest(engine, settings, work / "again", [again])
        return ActionsSeed(
            outcomes["complain-1"].decision_id, case_of["complain-1"], unfinished.decision_id
        )
    finally:
        engine.dispose()


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> ActionsSeed:
    return seed_actions(live_app_settings, tmp_path_factory.mktemp("actions-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: ActionsSeed, live_server: str) -> str:
    """The conftest's server, started once ``seeded`` filled its database."""
    return live_server


@pytest.fixture(scope="module")
def engine(live_app_settings: Settings, seeded: ActionsSeed) -> Iterator[Engine]:
    """The server's database, for the tests that register orders as they run."""
    made = make_engine(live_app_settings.database_url)
    yield made
    made.dispose()


# --- Helpers ------------------------------------------------------------------------------------


def expect(target: Locator | Page) -> Any:
    """Playwright's ``expect``, imported late: without Playwright the browser fixture skips."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def login(page: Page, base: str, username: str) -> None:
    """Sign in through the real form."""
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(USERS[username][1])
    page.locator("#password").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    assert page.locator("header.top .who > span").first.inner_text().split()[0] == username


def csp_violations(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__cspViolations || []"))


def register_order(
    engine: Engine, reference: str, urls: list[str], received_ago: timedelta
) -> tuple[int, datetime]:
    """Register an order received ``received_ago`` before now; (its id, its deadline)."""
    now = utcnow()
    received = now - received_ago
    new = orders.OrderIn(
        authority=AUTHORITY,
        reference=reference,
        issued_at=received - timedelta(minutes=2),
        received_at=received,
        urls=urls,
        reasons="Article 2(7)(a): incites terrorist offences.",
    )
    with engine.begin() as connection:
        order_id = orders.register_order(connection, "user:lead1", new, now)
    return order_id, received + orders.ORDER_WINDOW


def order_card(page: Page, order_id: int) -> Locator:
    return page.locator(f'section[aria-labelledby="order-{order_id}"]')


def badge(card: Locator) -> str:
    """The status badge of an order or complaint card, as written (CSS shows it in capitals)."""
    return (card.locator(".status").text_content() or "").strip()


def countdown_seconds(text: str) -> int:
    """Signed seconds left in a ticking countdown's text (negative once overdue)."""
    found = TICKING.fullmatch(text.strip())
    assert found, f"not a ticking countdown: {text!r}"
    seconds = int(found[2]) * 3600 + int(found[3]) * 60 + int(found[4])
    return seconds if found[1] == "due in" else -seconds


def assert_on_time(shown: int, deadline: datetime) -> None:
    """The countdown's reading is the real time left: it is rounded and redrawn once a second,
    so it may run up to a second behind, never ahead."""
    left = (deadline - utcnow()).total_seconds()
    assert -1.0 <= shown - left <= 2.0, f"countdown shows {shown} s, {left:.1f} s are left"


def submit(page: Page, button: Locator, path: str) -> Response:
    """Click a form's button and wait for the POST to ``path`` and the page it leads to."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.split("?")[0].endswith(path)
    ) as sent:
        button.click()
    page.wait_for_load_state()
    return sent.value


# --- Removal orders -----------------------------------------------------------------------------


def test_order_countdown_ticks_down_live_and_turns_overdue(
    page: Page, live_server: str, engine: Engine, screenshot: Screenshot
) -> None:
    # Received 59 min 52 s ago: eight seconds left.
    order_id, deadline = register_order(
        engine, "TCO-E2E-COUNT", ORDER_URLS["count"], timedelta(minutes=59, seconds=52)
    )
    page.context.add_init_script(CSP_WATCH)
    login(page, live_server, "lead1")
    response = page.goto(f"{live_server}/orders")
    assert response is not None and response.status == 200
    # The server renders minutes; the script takes over and shows seconds.
    assert 'role="timer"' in response.text() and "due in 0 min" in response.text()
    card = order_card(page, order_id)
    selector = f'section[aria-labelledby="order-{order_id}"] .countdown'
    expect(card.locator(".countdown")).to_have_text(TICKING)
    assert "TCO-E2E-COUNT" in card.locator("h2").inner_text()
    assert f"deadline {deadline:%Y-%m-%d %H:%M} UTC" in card.inner_text()

    first = page.evaluate(PAGE_SECONDS, selector)
    assert first is not None
    assert_on_time(first, deadline)
    screenshot(page, "orders-countdown")

    # Two seconds later it reads two seconds less, still in step with the clock.
    page.wait_for_function(
        f"() => {{ const left = ({PAGE_SECONDS})({json.dumps(selector)});"
        f" return left !== null && left <= {first - 2}; }}"
    )
    later = countdown_seconds(card.locator(".countdown").inner_text())
    assert later <= first - 2
    assert_on_time(later, deadline)

    # At the deadline, with the page left open, it turns into an overdue count in red.
    countdown = card.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^overdue by 0 h 00 min \d\d s$"), timeout=12_000)
    expect(countdown).to_have_class(re.compile(r"\boverdue\b"))
    assert badge(card) == "received"
    assert csp_violations(page) == []


def test_an_order_past_its_deadline_shows_overdue_to_an_auditor(
    page: Page, live_server: str, engine: Engine, screenshot: Screenshot
) -> None:
    order_id, _ = register_order(engine, "TCO-E2E-LATE", ORDER_URLS["late"], timedelta(hours=2))
    login(page, live_server, "aud1")
    page.goto(f"{live_server}/orders")
    card = order_card(page, order_id)
    countdown = card.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^overdue by 1 h 00 min \d\d s$"))
    expect(countdown).to_have_class(re.compile(r"\boverdue\b"))
    assert countdown.evaluate("(el) => getComputedStyle(el).fontWeight") == "600"
    body_colour = page.evaluate("() => getComputedStyle(document.body).color")
    assert countdown.evaluate("(el) => getComputedStyle(el).color") != body_colour
    assert badge(card) == "received"
    # An auditor reads: the URL is listed as pending, with no buttons to act on it.
    assert f"{ORDER_URLS['late'][0]} (item" in card.inner_text()
    assert "pending" in card.locator("li").inner_text()
    assert card.locator("form, button").count() == 0
    screenshot(page, "orders-overdue")


def test_order_steps_recorded_through_the_page_move_its_status(
    page: Page, live_server: str, engine: Engine, screenshot: Screenshot
) -> None:
    first, second, third = ORDER_URLS["steps"]
    order_id, _ = register_order(
        engine, "TCO-E2E-STEPS", ORDER_URLS["steps"], timedelta(minutes=10)
    )
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/orders")
    card = order_card(page, order_id)
    status = card.locator(".status")
    assert badge(card) == "received"
    expect(card.locator(".countdown")).to_have_text(re.compile(r"^due in 0 h (49|50) min \d\d s$"))

    def row(url: str) -> Locator:
        return card.locator(
            "li", has=page.locator("span.url", has_text=re.compile(f"^{re.escape(url)}$"))
        )

    done = submit(
        page, row(first).get_by_role("button", name="Removed"), f"/orders/{order_id}/steps"
    )
    assert done.status == 303
    expect(status).to_have_text("in progress")
    expect(row(first)).to_contain_text(re.compile(r":\s+removed \d{4}-\d\d-\d\d \d\d:\d\d UTC"))
    assert row(first).locator("form").count() == 0

    disabled = row(second).get_by_role("button", name="Access disabled")
    assert submit(page, disabled, f"/orders/{order_id}/steps").status == 303
    expect(row(second)).to_contain_text(re.compile(r":\s+disabled \d{4}-\d\d-\d\d"))
    expect(status).to_have_text("in progress")

    # "Not executed" needs its reason: the browser will not send the form without one.
    reason = row(third).get_by_label("or not executed, because")
    record = row(third).get_by_role("button", name="Record")
    record.click()
    assert reason.evaluate("(el) => el.validity.valueMissing")
    assert page.url == f"{live_server}/orders"
    expect(status).to_have_text("in progress")

    reason.fill("The URL already answers 404: removed by the host before the order arrived.")
    assert submit(page, record, f"/orders/{order_id}/steps").status == 303
    expect(status).to_have_text("partially executed")
    expect(row(third)).to_contain_text("not executed: The URL already answers 404")
    # Closed: no countdown and nothing left to act on.
    assert card.locator(".countdown").count() == 0
    assert card.locator("form").count() == 0
    screenshot(page, "orders-steps")


# --- Referrals ----------------------------------------------------------------------------------


def test_referrals_list_their_state_and_move_on_through_the_page(
    page: Page, live_server: str, screenshot: Screenshot
) -> None:
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/referrals")

    def row(url: str) -> Locator:
        return page.locator(
            "tbody tr", has=page.locator("td.url", has_text=re.compile(f"^{re.escape(url)}$"))
        )

    def cells(url: str) -> list[str]:
        return [c.strip() for c in row(url).locator("td").all_inner_texts()]

    assert page.locator("tbody tr").count() == 3
    # Service, status, sent and time to removal, as the seed left them.
    removed = cells(REMOVED_URL)
    assert removed[2:4] == ["VideoHost", "removed"] and removed[5] == "4.0 h"
    assert row(REMOVED_URL).locator("button").count() == 0  # a removal is final
    assert cells(UNLISTED_URL)[2:4] == ["(not registered)", "draft"]
    draft = cells(REFER_URL)
    assert draft[2:5] == ["VideoHost", "draft", ""]
    assert row(REFER_URL).locator("button").all_inner_texts() == ["sent"]
    screenshot(page, "referrals")

    sent = submit(page, row(REFER_URL).get_by_role("button", name="sent", exact=True), "/status")
    assert sent.status == 303
    expect(row(REFER_URL).locator("td").nth(3)).to_have_text("sent")
    today = utcnow().strftime("%Y-%m-%d")
    assert cells(REFER_URL)[4].startswith(today) and cells(REFER_URL)[4].endswith("UTC")
    buttons = row(REFER_URL).locator("button").all_inner_texts()
    assert buttons == ["acknowledged", "no response", "rejected", "removed"]

    gone = row(REFER_URL).get_by_role("button", name="removed", exact=True)
    assert submit(page, gone, "/status").status == 303
    expect(row(REFER_URL).locator("td").nth(3)).to_have_text("removed")
    assert cells(REFER_URL)[5] == "0.0 h"
    assert row(REFER_URL).locator("button").count() == 0
    assert cells(UNLISTED_URL)[3] == "draft"  # the others are untouched


# --- Complaints ---------------------------------------------------------------------------------


def test_public_complaint_form_refuses_unknown_and_unfinished_decisions(
    page: Page, live_server: str, seeded: ActionsSeed, screenshot: Screenshot
) -> None:
    page.goto(f"{live_server}/complaints/new")
    assert page.locator("header.top").count() == 0  # no sign-in, no console navigation

    # An unknown decision and one not final yet get the same answer: the public form does not
    # tell strangers which decision numbers exist or are under review.
    for decision in (999_999, seeded.unfinished_decision):
        page.locator("#decision").fill(str(decision))
        page.locator("#text").fill("Please look at this again.")
        page.locator("#contact").fill("person@mail.example")
        button = page.get_by_role("button", name="Send the complaint")
        answer = submit(page, button, "/complaints/new")
        assert answer.status == 404, (decision, answer.status)
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("could not find a decision open to complaint")
        expect(alert).not_to_contain_text("final")
        # The form is still there, with what was typed, to correct and send again.
        assert page.locator("#decision").input_value() == str(decision)
        assert page.locator("#text").input_value() == "Please look at this again."
        assert page.locator("#contact").input_value() == "person@mail.example"
        assert page.get_by_role("button", name="Send the complaint").count() == 1
        assert page.get_by_role("status").count() == 0
    screenshot(page, "complaint-error")


def test_public_complaint_is_filed_then_decided_by_a_lead(
    page: Page, live_server: str, seeded: ActionsSeed, screenshot: Screenshot
) -> None:
    decision = seeded.complaint_decision
    page.goto(f"{live_server}/complaints/new?decision={decision}")
    assert page.locator("header.top").count() == 0
    assert page.locator("#decision").input_value() == str(decision)  # from the notice's link
    screenshot(page, "complaint-form")
    page.get_by_label("Why the decision was wrong").fill(COMPLAINT_TEXT)
    page.get_by_label("Where we can answer you (optional)").fill("person@mail.example")
    filed_at = utcnow()
    answer = submit(page, page.get_by_role("button", name="Send the complaint"), "/complaints/new")
    assert answer.status == 201
    confirmation = page.get_by_role("status")
    text = confirmation.inner_text()
    number = re.search(r"number (\d+)\.", text)
    assert number, text
    due = re.search(r"by (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", text)
    assert due, text
    due_at = datetime.strptime(due[1], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    expected = filed_at + timedelta(days=14)
    assert timedelta(minutes=-1) <= due_at - expected <= timedelta(minutes=1), (due_at, expected)
    assert "answer you at the contact you gave" in text
    assert page.locator("form").count() == 0
    screenshot(page, "complaint-filed")
    complaint = number[1]

    # The content is down while the complaint is open.
    login(page, live_server, "lead1")
    page.goto(f"{live_server}/cases/{seeded.complaint_case}")
    assert page.locator("#item-visibility").inner_text() == "removed"

    page.goto(f"{live_server}/complaints")
    card = page.locator(f'section[aria-labelledby="complaint-{complaint}"]')
    assert badge(card) == "open"
    summary = card.locator("p").first.inner_text()
    assert f"About decision {decision} on case {seeded.complaint_case} (item " in summary
    assert f"received {filed_at:%Y-%m-%d}" in summary
    due = filed_at + timedelta(days=14)
    assert f"decide by {due:%Y-%m-%d}" in summary, summary  # the date, and the time left
    assert re.search(r"due in 33[56] h \d+ min", summary), summary
    assert card.locator("blockquote").inner_text() == COMPLAINT_TEXT
    expect(card).to_contain_text("Answer to: person@mail.example")
    screenshot(page, "complaints")

    card.get_by_label("Reason").fill("Reporting on the event, not support for it.")
    uphold = card.get_by_role("button", name="Uphold and reinstate")
    assert submit(page, uphold, f"/complaints/{complaint}/decision").status == 303
    card = page.locator(f'section[aria-labelledby="complaint-{complaint}"]')
    expect(card.locator(".status")).to_have_text("upheld")
    assert re.search(
        r"decided \d{4}-\d\d-\d\d \d\d:\d\d UTC by user:lead1: Reporting on the event, not support",
        card.locator("p").first.inner_text(),
    )
    assert card.locator("form").count() == 0
    # Upheld: the content is shown again.
    page.goto(f"{live_server}/cases/{seeded.complaint_case}")
    assert page.locator("#item-visibility").count() == 0


# --- Dashboard ----------------------------------------------------------------------------------


def test_dashboard_shows_figures_and_charts(
    page: Page, live_server: str, screenshot: Screenshot
) -> None:
    page.context.add_init_script(CSP_WATCH)
    login(page, live_server, "lead1")
    response = page.goto(f"{live_server}/dashboard")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Outcomes")
    main = page.locator("main")
    # Figures: what was found, the decisions, referrals by service.
    found = page.locator("section[aria-labelledby='found-h'] table").first
    assert re.search(r"^Bank match\s+10$", found.inner_text(), re.M), found.inner_text()
    assert re.search(r"^Violating — recruitment\s+9$", main.inner_text(), re.M)
    assert "None" not in main.inner_text()  # every figure measured, or said to be missing
    assert "(n = 9)" in main.inner_text()  # nine cases decided, each with its time
    referrals_table = page.locator("section[aria-labelledby='referrals-h'] table")
    assert re.search(r"VideoHost\s+\d+\s+\d+\s+\d+%", referrals_table.inner_text())

    # The three charts, as images that really loaded, with their text alternatives.
    charts = page.locator("img.chart")
    expect(charts).to_have_count(3)
    alts = [charts.nth(i).get_attribute("alt") for i in range(3)]
    assert alts == [
        "Histogram of time to decision",
        "Histogram of time from referral to removal",
        "Re-uploads of removed content per week",
    ]
    page.wait_for_function(
        "() => Array.from(document.images).every((img) => img.complete)", timeout=5_000
    )
    assert page.evaluate(BROKEN_IMAGES) == []
    assert csp_violations(page) == []
    for i in range(3):
        size = charts.nth(i).evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        assert size[0] > 300 and size[1] > 100, size
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 80, box
    screenshot(page, "dashboard")
