"""A take-down becomes a valid statement of reasons in the DSA database's format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from redline.actions import orders, statements
from redline.model import Case, Item
from redline.review import NotFound
from redline.review.decisions import Verdict, decide
from tests.review_desk import Desk

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
URL = "https://host.example/post/3"


def test_an_order_take_down_gives_a_statement_naming_the_order(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p3").values(url=URL))
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment", note="calls to travel"),
            NOW,
            four_eyes=False,
        )
        order = orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-5", NOW, NOW, [URL], "Art. 2(7)"),
            NOW,
        )
        orders.execute(connection, "user:lead1", order, URL, "disabled", NOW)
        item = int(connection.scalar(select(Item.id).where(Item.external_id == "p3")) or 0)
        statement = statements.statement_for(connection, item)
        with pytest.raises(NotFound):
            statements.statement_for(connection, 424242)
    payload = statement.payload()
    assert payload["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert payload["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert payload["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert payload["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert payload["source_identity"] == "Example authority"
    assert payload["automated_detection"] == "Yes"  # found by a bank match, decided by a person
    assert payload["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert "calls to travel" in payload["decision_facts"]
    assert payload["application_date"] == "2026-11-23"
    assert payload["puid"] == "channel-export-p3"


@pytest.mark.parametrize(("signal", "automated"), [("sample", "Yes"), ("referral", "No")])
def test_automated_detection_follows_what_brought_the_case(
    desk: Desk, signal: str, automated: str
) -> None:
    # A labelling sample was picked by the classifier's scores: automated means found it too.
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p3").values(url=URL))
        connection.execute(update(Case).where(Case.id == desk.cases["p3"]).values(signal=signal))
        decide(
            connection,
            desk.users["lead1"],
            desk.cases["p3"],
            Verdict("violating", category="recruitment"),
            NOW,
            four_eyes=False,
        )
        order = orders.register_order(
            connection,
            "user:lead1",
            orders.OrderIn("Example authority", "TCO-6", NOW, NOW, [URL], "Art. 2(7)"),
            NOW,
        )
        orders.execute(connection, "user:lead1", order, URL, "removed", NOW)
        item = int(connection.scalar(select(Item.id).where(Item.external_id == "p3")) or 0)
        payload = statements.statement_for(connection, item).payload()
    assert payload["automated_detection"] == automated
