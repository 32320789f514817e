"""Where a team sees its exchanges: the console's /exchanges page and /api/v1/exchanges, on
SQLite and PostgreSQL. Everyone who may view banks sees each exchange's state, last fetch,
checkpoint and last error; nobody ever sees a token or password."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from redline.web.app import create_app
from tests.review_desk import Desk
from tests.web.test_api_v1 import token
from tests.web.test_console import sign_in
from tests.web.test_hma_exchanges import TAT_PASSWORD, TE_TOKEN, seed


@pytest.fixture
def console(desk: Desk) -> TestClient:
    return TestClient(create_app(desk.settings), follow_redirects=False)


def test_the_console_lists_each_exchange_with_its_state_and_last_error(
    console: TestClient, tmp_path: Path
) -> None:
    assert console.get("/exchanges").status_code == 303  # signed out: to the sign-in page
    seed(console, tmp_path)
    for user in ("rev1", "lead1", "aud1"):
        browser = TestClient(console.app, follow_redirects=False)
        sign_in(browser, user)
        shown = browser.get("/exchanges")
        assert shown.status_code == 200, user
        text = shown.text
        for name in ("te-tvec", "tat-api", "tat-file"):
            assert f"<td>{name}</td>" in text
        # The one never fetched says so; the refused one gives its reason; the fetched one
        # its counts and a checkpoint to go on from.
        row = text[text.index("<td>te-tvec</td>") :].split("</tr>")[0]
        assert "never" in row and "from the start" in row
        refused = text[text.index("<td>tat-api</td>") :].split("</tr>")[0]
        assert 'class="error"' in refused
        fetched = text[text.index("<td>tat-file</td>") :].split("</tr>")[0]
        assert "<td>1</td>" in fetched and "none</td>" in fetched  # one added, no error
        assert "2025-11-24" in fetched  # its checkpoint, a time, shown as one
        assert TE_TOKEN not in text and TAT_PASSWORD not in text
    banks = TestClient(console.app, follow_redirects=False)
    sign_in(banks, "rev1")
    assert 'href="/exchanges"' in banks.get("/banks").text


def test_the_api_gives_each_exchange_to_a_banks_read_token(
    desk: Desk, console: TestClient, tmp_path: Path
) -> None:
    seed(console, tmp_path)
    reader = token(desk, "rev1", "banks:read")
    listed = console.get("/api/v1/exchanges", headers=reader)
    assert listed.status_code == 200
    by_name = {x["name"]: x for x in listed.json()}
    assert set(by_name) == {"te-tvec", "tat-api", "tat-file"}
    assert by_name["te-tvec"]["settings"]["token"] == "(hidden)"
    assert by_name["tat-api"]["last_error"] and by_name["tat-api"]["fetched_at"] is None
    assert by_name["tat-file"]["added"] == 1 and by_name["tat-file"]["checkpoint"]
    one = console.get("/api/v1/exchanges/tat-file", headers=reader)
    assert one.status_code == 200 and one.json() == by_name["tat-file"]
    assert TE_TOKEN not in listed.text and TAT_PASSWORD not in listed.text
    missing = console.get("/api/v1/exchanges/no-such-exchange", headers=reader)
    assert missing.status_code == 404 and "no-such-exchange" in missing.json()["message"]
    wrong_scope = token(desk, "rev1", "cases:read")
    assert console.get("/api/v1/exchanges", headers=wrong_scope).status_code == 403
    assert console.get("/api/v1/exchanges").status_code == 401
