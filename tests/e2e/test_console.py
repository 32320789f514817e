"""The review console in a real browser: sign-in, the keyboard workflow, four-eyes, reveal audit,
roles, CSRF, escaping, the key map and accessibility basics.

The server's database holds the demo data set as ``redline demo --no-week`` and
``redline scan`` make it (about 35 open bank-match cases), one case on a post made of HTML, and
one user per role; see ``console_seed.py``. The tests of this module share that server, so each
test works on cases no other test touches: the keyboard test takes the head of the queue, the
others take cases from its tail (``spare_case``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import PAGE_TIMEOUT_MS
from tests.e2e.console_seed import USERS, XSS, XSS_REASON, ImageCase, Seeded, seed_console

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page, Response

    from redline.config import Settings
    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e

# Recorded in every page of the tests before any of its own scripts run: the Content-Security-
# Policy violations the page caused (an inline script or style the policy blocked).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(live_app_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The module's database filled (demo data scanned, escaping probe, users)."""
    return seed_console(live_app_settings, tmp_path_factory.mktemp("console-seed"))


@pytest.fixture(scope="module")
def live_server(seeded: Seeded, live_server: str) -> str:
    """The conftest's server, started only once ``seeded`` filled its database (pytest sets up
    a fixture's arguments in order), so the app starts on the data it will serve."""
    return live_server


@pytest.fixture(scope="module")
def _spare_cases(seeded: Seeded) -> Iterator[ImageCase]:
    # From the tail of the queue: the head belongs to the keyboard test, which opens the first
    # row. Demo cases with an image (the bank matches of the demo pictures).
    return iter(list(reversed(seeded.image_cases[1:])))


@pytest.fixture
def spare_case(_spare_cases: Iterator[ImageCase]) -> ImageCase:
    """An open image case that no other test of this module touches."""
    return next(_spare_cases)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """``new_page()``: a page in a further browser context of its own (another user's browser);
    all closed after the test."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return watched(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def console(page: Page) -> Page:
    """The test's page, with CSP violations recorded (see ``watched``)."""
    return watched(page)


# --- Helpers ------------------------------------------------------------------------------------


def watched(page: Page) -> Page:
    """The page, with its CSP violations recorded from now on (see CSP_WATCH)."""
    page.context.add_init_script(CSP_WATCH)
    return page


def csp_violations(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__cspViolations || []"))


def login(page: Page, base: str, username: str) -> None:
    """Sign in through the real form, by keyboard (fill the fields, Enter submits)."""
    page.goto(f"{base}/login")
    assert submit_login(page, username).status == 303, f"{username} could not sign in"
    page.wait_for_url(lambda url: "/login" not in url)
    who = page.locator("header.top .who > span").first.inner_text()
    assert who.split()[0] == username, who


def submit_login(page: Page, username: str, password: str | None = None) -> Response:
    """Fill the open sign-in form and press Enter; the POST's response (303 when accepted)."""
    page.locator("#username").fill(username)
    page.locator("#password").fill(password or USERS[username][1])
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.split("?")[0].endswith("/login")
    ) as sent:
        page.locator("#password").press("Enter")
    return sent.value


def logout_by_keyboard(page: Page) -> None:
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.locator("#username").wait_for()


def goto(page: Page, url: str) -> Response:
    response = page.goto(url)
    assert response is not None, url
    return response


def csrf_token(page: Page) -> str:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token, "the page carries no CSRF token"
    return token


def status_badge(page: Page) -> str:
    return page.locator("h1 .status").inner_text().strip().lower()


def wait_for_status(page: Page, status: str) -> None:
    page.locator("h1 .status").filter(has_text=re.compile(rf"^\s*{status}\s*$", re.I)).wait_for()


def wait_loaded(page: Page, selector: str) -> None:
    """Wait until the image at ``selector`` has loaded real pixels."""
    page.wait_for_function(
        "(s) => { const img = document.querySelector(s); "
        "return !!img && img.complete && img.naturalWidth > 0; }",
        arg=selector,
    )


def history(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("ol.history li").all_inner_texts()]


# --- Tests --------------------------------------------------------------------------------------


def test_sign_in_lands_on_the_queue_with_cases(
    console: Page, live_server: str, seeded: Seeded, screenshot: Screenshot
) -> None:
    console.goto(f"{live_server}/login")
    assert submit_login(console, "rev1").status == 303
    console.wait_for_url(f"{live_server}/queue")
    rows = console.locator("tr.case-row")
    # A row stands for its near-identical cases too ("+N near-identical").
    folded = console.locator("tr.case-row .twins").all_inner_texts()
    shown = rows.count() + sum(int(t.split()[0].lstrip("+")) for t in folded)
    # Every open case is listed (they fit on one page), and the tab's counter agrees. Other tests
    # of the module take at most a few cases out of the open tab.
    assert seeded.open_cases - 5 <= shown <= seeded.open_cases
    open_tab = console.locator(".tabs a", has_text="Open").locator(".count")
    assert int(open_tab.inner_text()) == shown
    # Highest priority first: the confirmed bank matches (100) before the others.
    priorities = [int(p) for p in console.locator("tr.case-row .prio").all_inner_texts()]
    assert priorities == sorted(priorities, reverse=True) and priorities[0] == 100
    links = console.locator("tr.case-row a.case-link").all_inner_texts()
    assert f"#{seeded.xss_case}" in links
    assert "STATEMENT of the residents' committee" in console.locator("tbody").inner_text()
    assert csp_violations(console) == []
    screenshot(console, "queue")


def test_deep_link_survives_sign_in(console: Page, live_server: str, spare_case: ImageCase) -> None:
    response = goto(console, f"{live_server}/cases/{spare_case.id}")
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.url == f"{live_server}/cases/{spare_case.id}"
    assert console.url == f"{live_server}/login?next=/cases/{spare_case.id}"
    assert submit_login(console, "rev2").status == 303
    console.wait_for_url(f"{live_server}/cases/{spare_case.id}")
    assert console.locator("h1").inner_text().startswith(f"Case #{spare_case.id}")


def test_wrong_password_is_refused(console: Page, live_server: str) -> None:
    console.goto(f"{live_server}/login")
    refused = submit_login(console, "rev1", "not-the-password-at-all")
    assert refused.status == 401
    assert "wrong username or password" in console.locator("p.error").inner_text()
    assert "redline_session" not in {c["name"] for c in console.context.cookies()}
    assert goto(console, f"{live_server}/queue").url.startswith(f"{live_server}/login")


def test_keyboard_only_case_through_four_eyes(
    console: Page, live_server: str, seeded: Seeded, screenshot: Screenshot
) -> None:
    page = console
    login(page, live_server, "rev1")
    head = seeded.image_cases[0]

    # Queue: j selects the first row and focuses its link; Enter opens it.
    page.keyboard.press("j")
    first = page.locator("tr.case-row").first
    assert "selected" in (first.get_attribute("class") or "").split()
    assert page.locator("tr.case-row.selected").count() == 1
    focused = page.evaluate("() => document.activeElement.getAttribute('href')")
    # The link carries the tab, so the case's next and back keep it.
    assert focused == f"/cases/{head.id}?status=open", "j must focus the queue head's link"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/cases/{head.id}?status=open")
    assert status_badge(page) == "open"
    assert page.locator("#decision-form").count() == 1

    # c claims.
    page.keyboard.press("c")
    page.get_by_role("button", name="Release").wait_for()
    assert "claimed by rev1" in page.locator("p.meta").inner_text()

    # v reveals the first media: the full-size image replaces the blurred preview.
    box = f"#box-{head.sha256[:12]}"
    assert page.locator(f"{box} img.blurred").count() == 1
    page.keyboard.press("v")
    page.locator(f"{box} img.revealed").wait_for()
    wait_loaded(page, f"{box} img.revealed")
    assert page.locator(f"{box} img.revealed").get_attribute("src") == (
        f"/cases/{head.id}/media/{head.sha256}/full"
    )
    assert "Revealed (recorded)" in page.locator(box).inner_text()

    # Nothing is chosen for the reviewer: the signals' category is a suggestion beside the field.
    assert page.locator("#category").input_value() == ""
    # 1 picks the first category; a decides violating. Four-eyes: it waits for a second review.
    page.keyboard.press("1")
    assert page.locator("#category").input_value() == "support_glorification"
    assert "support_glorification" in page.locator("#key-hint").inner_text()
    screenshot(page, "case")
    page.keyboard.press("a")
    # Straight on to the next case, with the undo of this decision.
    page.wait_for_url(re.compile(r"/cases/\d+\?status=open&decided=\d+$"))
    undo = page.locator("#undo-form").inner_text()
    assert f"case #{head.id}" in undo and "case is now second review" in undo
    assert csp_violations(page) == []
    page.goto(f"{live_server}/cases/{head.id}")
    assert status_badge(page) == "second review"

    logout_by_keyboard(page)
    assert goto(page, f"{live_server}/queue").url.startswith(f"{live_server}/login")

    # A second reviewer decides blind: no earlier verdict, no history, no category chosen.
    login(page, live_server, "rev2")
    page.goto(f"{live_server}/cases/{head.id}")
    assert status_badge(page) == "second review"
    assert "Blind review: 1 earlier decision" in page.locator("#blind-notice").inner_text()
    assert page.locator("ol.history").count() == 0
    assert page.locator("#category").input_value() == ""
    assert "rev1" not in page.locator("main").inner_text()
    screenshot(page, "case-blind-second-review")
    # a first: the hint asks for the category, and the digit decides. Two keys, one page load.
    page.keyboard.press("a")
    assert "Pick the category" in page.locator("#key-hint").inner_text()
    page.keyboard.press("1")
    page.wait_for_url(re.compile(r"decided=\d+$"))
    assert f"case #{head.id}" in page.locator("#undo-form").inner_text()
    page.goto(f"{live_server}/cases/{head.id}")
    assert status_badge(page) == "violating"
    assert page.locator("#decision-form").count() == 0
    assert (
        "Decided: violating · support_glorification" in page.locator("section.decide").inner_text()
    )
    steps = history(page)
    assert len(steps) == 2
    assert "rev1: violating (support_glorification) → second review" in steps[0]
    assert "rev2: violating (support_glorification) → violating" in steps[1]
    screenshot(page, "case-decided")


def test_escalating_by_keyboard_asks_for_a_note(
    console: Page, live_server: str, spare_case: ImageCase, screenshot: Screenshot
) -> None:
    case = spare_case.id
    login(console, live_server, "rev1")
    console.goto(f"{live_server}/cases/{case}")
    # e with no note: nothing is sent; the note takes the focus and the hint says why.
    console.keyboard.press("e")
    assert console.evaluate("() => document.activeElement.id") == "note"
    assert "needs a note" in console.locator("#key-hint").inner_text()
    assert status_badge(console) == "open"
    console.keyboard.type("The link may be news coverage; a lead should look.")
    screenshot(console, "case-escalate-note")
    console.keyboard.press("Control+Enter")
    console.wait_for_url(re.compile(r"decided=\d+$"))
    assert csp_violations(console) == []
    console.goto(f"{live_server}/cases/{case}")
    assert status_badge(console) == "escalated"
    steps = history(console)
    assert len(steps) == 1 and "rev1: escalate → escalated" in steps[0]
    assert "a lead should look" in steps[0]
    assert csp_violations(console) == []


def test_reveal_is_audited_and_gates_the_full_image(
    console: Page,
    new_page: Callable[[], Page],
    live_server: str,
    spare_case: ImageCase,
    screenshot: Screenshot,
) -> None:
    case, sha = spare_case.id, spare_case.sha256
    full = f"{live_server}/cases/{case}/media/{sha}/full"
    login(console, live_server, "rev1")
    console.goto(f"{live_server}/cases/{case}")
    preview = f"#box-{sha[:12]} img.blurred"
    wait_loaded(console, preview)

    # Not revealed yet: the original is refused.
    before = console.request.get(full)
    assert before.status == 403
    assert "reveal the media first" in before.text()

    console.get_by_role("button", name="Reveal image (v)").click()
    wait_loaded(console, f"#box-{sha[:12]} img.revealed")
    after = console.request.get(full)
    assert after.status == 200
    assert after.headers["content-type"].startswith("image/")
    assert after.headers["cache-control"] == "no-store"

    # Another reviewer who has not revealed it is still refused.
    other = new_page()
    login(other, live_server, "rev2")
    assert other.request.get(full).status == 403

    lead = new_page()
    login(lead, live_server, "lead1")
    response = goto(lead, f"{live_server}/audit?action=media.reveal")
    assert response.status == 200
    rows = lead.locator("table.audit tbody tr").all_inner_texts()
    mine = [r for r in rows if "user:rev1" in r and f"media {sha[:24]}" in r]
    assert len(mine) == 1, rows
    # The detail reads as a field and its value, and the media file links to its case.
    assert re.search(rf"\bcase\s+{case}\b", mine[0]), mine[0]
    assert lead.locator(f"table.audit a[href='/cases/{case}']").count() >= 1
    assert all("media.reveal" in r for r in rows)
    screenshot(lead, "audit")


def test_four_eyes_refuses_the_same_reviewer_twice(
    console: Page, live_server: str, spare_case: ImageCase, screenshot: Screenshot
) -> None:
    case = spare_case.id
    login(console, live_server, "rev1")

    def decide_violating() -> Response:
        console.get_by_label("Violating (a)").check()
        console.locator("#category").select_option("threat_incitement")
        with console.expect_response(lambda r: f"/cases/{case}/decide" in r.url) as sent:
            console.get_by_role("button", name="Record decision").click()
        return sent.value

    console.goto(f"{live_server}/cases/{case}")
    assert decide_violating().status == 303
    console.locator("#undo-form").wait_for()  # on the next case, with this decision's undo
    console.goto(f"{live_server}/cases/{case}")
    wait_for_status(console, "second review")

    # The first reviewer is told the case waits for someone else, and gets no form...
    assert "waits for a second reviewer" in console.locator("section.decide").inner_text()
    assert console.locator("#decision-form").count() == 0
    screenshot(console, "four-eyes-waiting")
    # ...and a decision posted anyway (a stale tab, a script) is refused with a clear page.
    refused = console.request.post(
        f"{live_server}/cases/{case}/decide",
        form={"csrf": csrf_token(console), "verdict": "violating", "category": "recruitment"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "four-eyes" in refused.text() and str(case) in refused.text()
    console.goto(f"{live_server}/cases/{case}")
    assert status_badge(console) == "second review"
    steps = history(console)
    assert len(steps) == 1 and "rev1: violating (threat_incitement) → second review" in steps[0]


def test_reviewer_is_kept_off_admin_pages_and_others_claims(
    console: Page, new_page: Callable[[], Page], live_server: str, spare_case: ImageCase
) -> None:
    case = spare_case.id
    login(console, live_server, "rev1")
    nav = console.locator("header.top nav").inner_text()
    assert "Audit" not in nav and "Admin" not in nav
    for path in ("/admin", "/audit", "/audit.csv"):
        assert goto(console, f"{live_server}{path}").status == 403, path

    other = new_page()
    login(other, live_server, "rev2")
    other.goto(f"{live_server}/cases/{case}")
    other.get_by_role("button", name="Claim (c)").click()
    other.get_by_role("button", name="Release").wait_for()

    console.goto(f"{live_server}/cases/{case}")
    assert "rev2 is working on this case" in console.locator("p.notice.warn").inner_text()
    assert console.locator("#decision-form").count() == 0
    assert console.locator("#claim-form").count() == 0
    response = console.request.post(
        f"{live_server}/cases/{case}/decide",
        form={"csrf": csrf_token(console), "verdict": "violating", "category": "recruitment"},
        max_redirects=0,
    )
    assert response.status == 409
    assert "claimed by another reviewer" in response.text()
    taking = console.request.post(
        f"{live_server}/cases/{case}/claim", form={"csrf": csrf_token(console)}, max_redirects=0
    )
    assert taking.status == 409
    console.reload()
    assert status_badge(console) == "open"
    assert history(console) == []
    assert "claimed by rev2" in console.locator("p.meta").inner_text()


def test_posts_without_the_csrf_token_are_refused(
    console: Page, live_server: str, spare_case: ImageCase
) -> None:
    case = spare_case.id
    claim = f"{live_server}/cases/{case}/claim"
    login(console, live_server, "rev1")
    console.goto(f"{live_server}/cases/{case}")
    token = csrf_token(console)

    missing = console.request.post(claim, max_redirects=0)
    assert missing.status == 403
    assert "CSRF" in missing.text()
    empty_form = console.request.post(claim, form={"other": "x"}, max_redirects=0)
    assert empty_form.status == 403
    wrong = token[::-1]
    assert wrong != token
    wrong_field = console.request.post(claim, form={"csrf": wrong}, max_redirects=0)
    assert wrong_field.status == 403
    wrong_header = console.request.post(
        claim, headers={"X-CSRF-Token": "not-the-token"}, max_redirects=0
    )
    assert wrong_header.status == 403
    console.reload()
    assert "claimed by" not in console.locator("p.meta").inner_text()
    assert console.locator("#claim-form").count() == 1

    # The same request with the page's token goes through: the refusals were for the token.
    accepted = console.request.post(claim, form={"csrf": token}, max_redirects=0)
    assert accepted.status == 303
    console.reload()
    assert "claimed by rev1" in console.locator("p.meta").inner_text()

    # Signing in needs the login form's own token (double submit cookie) too.
    fresh = console.context.browser.new_context()  # type: ignore[union-attr]
    try:
        forged = fresh.request.post(
            f"{live_server}/login",
            form={"username": "rev1", "password": USERS["rev1"][1], "csrf": "guess"},
            max_redirects=0,
        )
        assert forged.status == 403
        assert "redline_session" not in {c["name"] for c in fresh.cookies()}
    finally:
        fresh.close()


def test_html_in_posts_is_shown_as_text(
    console: Page, live_server: str, seeded: Seeded, screenshot: Screenshot
) -> None:
    fired: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        fired.append(dialog.message)
        dialog.dismiss()

    console.on("dialog", on_dialog)
    login(console, live_server, "rev1")
    row = console.locator(
        "tr.case-row", has=console.locator(f'a[href^="/cases/{seeded.xss_case}?"]')
    )
    cells = row.locator("td").all_inner_texts()
    assert XSS in cells[3] and XSS in cells[4]  # text snippet and account name, literally

    response = goto(console, f"{live_server}/cases/{seeded.xss_case}")
    assert response.status == 200
    assert XSS_REASON in console.locator("section.signals").inner_text()
    assert console.locator("blockquote.text").inner_text() == XSS
    account = console.locator("dl.facts dd").first.inner_text()
    assert account.startswith(XSS) and "(probe_account)" in account
    assert console.locator("main script").count() == 0
    assert console.locator('img[src="x"]').count() == 0
    console.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert fired == []
    assert csp_violations(console) == []

    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    screenshot(console, "escaping")


def test_question_mark_toggles_the_key_map(
    console: Page, live_server: str, screenshot: Screenshot
) -> None:
    login(console, live_server, "rev1")
    keymap = console.locator("#keymap")
    assert not keymap.is_visible()
    console.keyboard.press("?")
    keymap.wait_for(state="visible")
    assert "claim this case" in keymap.inner_text()
    assert console.evaluate("() => document.activeElement.hasAttribute('data-keymap-close')")
    screenshot(console, "keymap")
    console.keyboard.press("Escape")
    keymap.wait_for(state="hidden")
    console.keyboard.press("?")
    keymap.wait_for(state="visible")
    console.keyboard.press("?")  # ? toggles it closed again
    keymap.wait_for(state="hidden")
    assert csp_violations(console) == []


UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden")
  .map((el) => {
    const labelled = Array.from(el.labels || []).some((l) => l.textContent.trim())
      || (el.getAttribute("aria-label") || "").trim()
      || (el.getAttribute("aria-labelledby") || "").split(/\\s+/).some(
           (id) => id && document.getElementById(id)?.textContent.trim());
    return { html: el.outerHTML.slice(0, 120), labelled: !!labelled };
  })"""

FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return { html: el.outerHTML.slice(0, 100), style: style.outlineStyle,
           width: parseFloat(style.outlineWidth) };
}"""


@pytest.mark.parametrize("where", ["queue", "case"])
def test_fields_are_labelled_and_focus_is_visible(
    console: Page, live_server: str, request: pytest.FixtureRequest, where: str
) -> None:
    console.set_viewport_size({"width": 1280, "height": 800})
    login(console, live_server, "rev1")
    if where == "case":
        case: ImageCase = request.getfixturevalue("spare_case")
        console.goto(f"{live_server}/cases/{case.id}")
        assert console.locator("#decision-form").count() == 1
    fields = console.evaluate(UNLABELLED)
    assert len(fields) >= (7 if where == "case" else 5)  # the decision form; the filters
    assert [f["html"] for f in fields if not f["labelled"]] == []

    seen = []
    for _ in range(15):
        console.keyboard.press("Tab")
        ring = console.evaluate(FOCUS_RING)
        seen.append(ring)
        assert ring["style"] != "none" and ring["width"] > 0, ring
    assert len({r["html"] for r in seen}) > 10  # Tab really moved through the page


def test_claim_next_never_hands_back_ones_own_second_review(
    console: Page, live_server: str, spare_case: ImageCase
) -> None:
    login(console, live_server, "rev1")
    console.goto(f"{live_server}/cases/{spare_case.id}")
    console.get_by_label("Violating (a)").check()
    console.locator("#category").select_option("recruitment")
    with console.expect_navigation(url=lambda url: "decided=" in url):
        console.get_by_role("button", name="Record decision").click()

    console.goto(f"{live_server}/queue?status=second_review")
    console.get_by_role("button", name="Claim next case").click()
    console.wait_for_url(lambda url: "/queue/next" not in url)
    if "/cases/" in console.url:  # it handed out a case: one that rev1 may decide
        assert not history(console)[-1].split("·", 1)[1].strip().startswith("rev1:")
    else:
        assert "empty=1" in console.url
