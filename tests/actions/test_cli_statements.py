"""`redline statements export|submit`: take-downs to the DSA database's format and to a local
stand-in of its API."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from redline.actions import orders
from redline.model import Item
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide

# The local stand-in of the database's API, and its token, from the SoR client's own tests.
from tests.actions.test_sor import TOKEN, StandIn
from tests.conftest import CliResult
from tests.review_desk import Desk

URL = "https://host.example/post/3"


def take_down(desk: Desk) -> None:
    now = utcnow()
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p3").values(url=URL))
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            now,
            four_eyes=False,
        )
        order = orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-3", now, now, [URL], "Art. 2(7)"),
            now,
        )
        orders.execute(connection, "user:lead1", order, URL, "removed", now)
        assert connection.scalar(select(Item.visibility).where(Item.url == URL)) == "removed"


def test_export_writes_valid_statements(cli: Callable[..., CliResult], desk: Desk) -> None:
    take_down(desk)
    today = utcnow().date()
    done = cli("statements", "export", "--from", str(today), "--to", "2099-01-01")
    assert done.code == 0, done.err
    (statement,) = json.loads(done.out)["statements"]
    assert statement["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert statement["source_identity"] == "Example authority"


def test_submit_sends_them_to_the_api(
    cli: Callable[..., CliResult], desk: Desk, api: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_down(desk)
    monkeypatch.setenv("REDLINE_SOR_TOKEN", TOKEN)
    sent = cli(
        "statements",
        "submit",
        "--from",
        "2000-01-01",
        "--to",
        "2099-01-01",
        "--endpoint",
        api.url,
        "--json",
    )
    assert sent.code == 0, sent.err
    (outcome,) = json.loads(sent.out)["outcomes"]
    assert outcome["status"] == "created" and outcome["uuid"]
    monkeypatch.setenv("REDLINE_SOR_TOKEN", "wrong")
    refused = cli(
        "statements",
        "submit",
        "--from",
        "2000-01-01",
        "--to",
        "2099-01-01",
        "--endpoint",
        api.url,
        "--json",
    )
    assert refused.code == 1
    assert json.loads(refused.out)["outcomes"][0]["status"] == "failed"
    monkeypatch.delenv("REDLINE_SOR_TOKEN")
    missing = cli("statements", "submit", "--from", "2000-01-01", "--to", "2099-01-01")
    assert missing.code == 2 and "REDLINE_SOR_TOKEN" in missing.err
