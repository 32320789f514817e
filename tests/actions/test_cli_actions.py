"""`redline order`, `redline service` and `redline referral` from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import update

from redline.model import Item
from redline.model.base import utcnow
from redline.review.decisions import Verdict, decide
from tests.conftest import CliResult
from tests.review_desk import Desk

URL = "https://host.example/post/1"


def test_an_order_is_registered_listed_executed_and_reported(
    cli: Callable[..., CliResult], desk: Desk
) -> None:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URL))
    common = (
        "--authority",
        "Example authority",
        "--issued",
        "2026-11-23T09:55:00+01:00",
        "--received",
        "2026-11-23T10:00:00+01:00",
        "--url",
        URL,
        "--reasons",
        "Art. 2(7)",
    )
    made = cli("order", "register", "--reference", "TCO-1", *common, "--json")
    assert made.code == 0, made.err
    order = json.loads(made.out)
    assert order["deadline_at"] == "2026-11-23T10:00:00+00:00" and order["status"] == "received"
    listed = json.loads(cli("order", "list", "--open", "--json").out)
    assert [o["reference"] for o in listed] == ["TCO-1"]
    assert cli("order", "execute", str(order["id"]), URL, "--action", "disabled").code == 0
    report = cli("order", "report", str(order["id"]), "--provider", "Example host")
    assert f"{URL}: disabled at" in report.out and "Status: executed" in report.out
    duplicate = cli("order", "register", "--reference", "TCO-1", *common)
    assert duplicate.code == 1 and "registered already" in duplicate.err
    naive = cli(
        "order",
        "register",
        "--reference",
        "TCO-2",
        "--authority",
        "A",
        "--issued",
        "2026-11-23T09:55",
        "--received",
        "2026-11-23T10:00",
        "--url",
        URL,
        "--reasons",
        "x",
    )
    assert naive.code == 2 and "no UTC offset" in naive.err
    assert len(naive.err.strip().splitlines()) == 1
    unknown = cli(
        "order",
        "register",
        "--reference",
        "TCO-3",
        *common[:-4],
        "--url",
        "https://host.example/unknown",
        "--reasons",
        "x",
    )
    assert unknown.code == 2 and "no item with this URL" in unknown.err


def test_a_referral_is_drafted_shown_and_sent(cli: Callable[..., CliResult], desk: Desk) -> None:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p3").values(url=URL))
        decide(
            connection,
            desk.users["rev1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            utcnow(),
            four_eyes=False,
        )
    added = cli(
        "service", "add", "Host", "--domain", "host.example", "--contact", "abuse@host.example"
    )
    assert added.code == 0
    assert json.loads(cli("service", "list", "--json").out)[0]["domains"] == ["host.example"]
    created = json.loads(cli("referral", "create", str(desk.cases["p3"]), "--json").out)
    (referral,) = created["referrals"]
    text = cli("referral", "show", str(referral), "--format", "text", "--sender", "Unit X")
    assert "To: abuse@host.example" in text.out and "Unit X has found content" in text.out
    assert cli("referral", "status", str(referral), "sent").code == 0
    refused = cli("referral", "status", str(referral), "draft")
    assert refused.code == 1 and "cannot become draft" in refused.err
    listed = json.loads(cli("referral", "list", "--status", "sent", "--json").out)
    assert [r["id"] for r in listed] == [referral] and listed[0]["sent_at"]
    assert cli("referral", "show", str(referral), "--format", "xml").code == 2
