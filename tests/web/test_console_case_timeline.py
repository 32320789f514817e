"""The case page's timeline over HTTP: every step in time order for those who may read the
history, and nothing of the first reviewer's work (verdict, reveal, name) for a second reviewer
whose review is blind, until they decide."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from redline.web.app import create_app
from tests.review.test_case_timeline import PICTURE, give_picture
from tests.review_desk import Desk
from tests.web.test_console import sign_in


@pytest.fixture
def console(desk: Desk) -> Callable[[], TestClient]:
    app = create_app(desk.settings)
    return lambda: TestClient(app, follow_redirects=False)


def timeline(page: str) -> str:
    found = re.search(
        r'<section class="card" aria-labelledby="timeline-h".*?</section>', page, re.S
    )
    assert found is not None, "no timeline on the case page"
    return found.group(0)


def test_the_timeline_keeps_the_second_review_blind(
    console: Callable[[], TestClient], desk: Desk
) -> None:
    case = desk.cases["p1"]
    with desk.engine.begin() as connection:
        give_picture(connection, case)
    first = console()
    csrf = sign_in(first, "rev1")
    assert (
        first.post(f"/cases/{case}/media/{PICTURE}/reveal", data={"csrf": csrf}).status_code == 303
    )
    decided = first.post(
        f"/cases/{case}/decide",
        data={"csrf": csrf, "verdict": "violating", "category": "recruitment"},
    )
    assert decided.status_code == 303
    mine = timeline(first.get(f"/cases/{case}").text)
    assert "rev1: violating (recruitment)" in mine and "user:rev1 revealed media" in mine

    second = console()
    second_csrf = sign_in(second, "rev2")
    page = second.get(f"/cases/{case}").text
    blind = timeline(page)
    assert "rev1" not in page and "recruitment" not in blind and "violating" not in blind
    assert "Blind review: 2 events by others are shown after you decide" in blind
    assert "case opened" in blind

    for reader in ("lead1", "aud1"):
        client = console()
        sign_in(client, reader)
        full = timeline(client.get(f"/cases/{case}").text)
        assert "rev1: violating (recruitment)" in full and "Blind review" not in full

    done = second.post(
        f"/cases/{case}/decide",
        data={"csrf": second_csrf, "verdict": "violating", "category": "recruitment"},
    )
    assert done.status_code == 303
    after = timeline(second.get(f"/cases/{case}").text)
    assert "rev1: violating (recruitment) → second review" in after
    assert "rev2: violating (recruitment) → violating" in after
    assert after.index("rev1: violating") < after.index("rev2: violating")
