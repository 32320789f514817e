"""Browser tests: a real uvicorn server on a fresh database, driven by a headless Chromium.

The browser is Debian's ``chromium`` (``scripts/system-deps.sh test`` installs it), never one that
Playwright downloads: ``playwright install`` is not part of the setup, and nothing here touches
the network beyond 127.0.0.1. A missing Chromium skips these tests locally; with CI=true it is
an error, never a skip.

Scopes: each test module gets its own database and server (``live_app_settings``,
``live_server``), so modules cannot see each other's data, while the tests of one module share
them. One browser serves all the e2e tests, and each test gets a new context (no cookies or
storage carried over) with one page.

The browser is scoped to this package, not the session, on purpose: while sync Playwright is
started, its event loop counts as running in the main thread, so ``asyncio.run()`` there fails
("cannot be called from a running event loop"). Stopping Playwright when the e2e tests are done
keeps that from leaking into the tests collected after them. The same holds inside e2e tests:
do not call ``asyncio.run()`` from one. The server runs its own loop in a thread, unaffected.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import pytest
import uvicorn

from redline.config import Settings
from redline.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("REDLINE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # tests run as root in containers, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}  # as in tests/conftest.py
SERVER_START_TIMEOUT = 10.0  # seconds
PAGE_TIMEOUT_MS = 10_000


class Screenshot(Protocol):
    def __call__(self, page: Page, name: str, full_page: bool = True) -> Path: ...


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives a real headless Chromium")


def _unavailable(message: str) -> None:
    """Skip the test locally; fail it in CI, where the browser tests must run."""
    if IN_CI:
        pytest.fail(f"{message} (CI must run the browser tests)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def live_app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for one module's server: a new SQLite file and data directory of its own."""
    folder = tmp_path_factory.mktemp("e2e")
    data_dir = folder / "data"
    data_dir.mkdir()
    return Settings(database_url=f"sqlite:///{folder / 'redline.db'}", data_dir=data_dir)


@pytest.fixture(scope="module")
def live_server(live_app_settings: Settings) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the app served by uvicorn in a background thread."""
    # The listening socket is bound here and handed to uvicorn, so no other process can take the
    # free port between choosing it and serving on it.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(live_app_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)  # installs no signal handlers outside the main thread
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="e2e-uvicorn", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_TIMEOUT)
        if thread.is_alive():  # a request that never ends: drop it rather than hang the run
            server.force_exit = True
            thread.join(timeout=SERVER_START_TIMEOUT)
        listener.close()


def _wait_until_answering(url: str, thread: threading.Thread) -> None:
    """Return once the server answers any HTTP request; fail if it dies or takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    client = httpx.Client(timeout=1.0)  # one client: each new one costs a TLS context's CPU
    while True:
        try:
            client.get(url)
        except httpx.TransportError as error:
            if not thread.is_alive():
                pytest.fail(f"the e2e server stopped while starting ({error}); see its log above")
            if time.monotonic() > deadline:
                pytest.fail(f"the e2e server at {url} did not answer in {SERVER_START_TIMEOUT} s")
            time.sleep(0.05)
        else:
            client.close()
            return


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system, shared by the e2e tests (see the module docstring)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing (scripts/system-deps.sh test installs chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context (1280x800, nothing shared with other tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def save_screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save the page (the whole of it, or what the window shows) as ``tests/e2e/artifacts/NAME.png``
    (git-ignored); returns the path."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ValueError(f"screenshot name {name!r}: use letters, digits, '_', '-' and '.'")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    return path


@pytest.fixture
def screenshot() -> Screenshot:
    """``screenshot(page, name)`` saves a PNG under tests/e2e/artifacts/ (see save_screenshot)."""
    return save_screenshot
