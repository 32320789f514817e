"""The live server answers a real browser: the smallest end-to-end check of the e2e fixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.e2e


def test_browser_loads_openapi_schema(page: Page, live_server: str, screenshot: Screenshot) -> None:
    # /docs would load Swagger UI from a CDN, which cannot be reached here; the schema is local.
    response = page.goto(f"{live_server}/api/openapi.json")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert '"openapi"' in page.locator("body").inner_text()
    # The document is 110 kB of text: its first screen is what a person would look at.
    shot = screenshot(page, "server-smoke-openapi", full_page=False)
    assert shot.stat().st_size > 0
