"""What the console shows beside an order's URLs: the item each names, its case when a signal
opened one, and the media a blurred preview can show; and a NUL in a field is refused as bad
input rather than reaching the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, select, update

from redline.actions import orders
from redline.model import Case, Item, ItemMedia, Media
from redline.review import Invalid
from tests.actions.test_orders import order
from tests.review_desk import Desk

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
URLS = ["https://host.example/post/1", "https://host.example/post/2"]


def _give_media(connection: Connection, item_id: int, kind: str, sha256: str) -> None:
    connection.execute(
        Media.__table__.insert(),
        {"sha256": sha256, "md5": "0" * 32, "kind": kind, "size": 1, "path": f"x/{sha256}"},
    )
    connection.execute(
        ItemMedia.__table__.insert(),
        {"item_id": item_id, "media_sha256": sha256, "position": 0},
    )


def test_each_url_names_its_item_case_and_previewable_media(desk: Desk) -> None:
    with desk.engine.begin() as connection:
        items = dict(connection.execute(select(Item.external_id, Item.id)).all())
        for external, url in zip(("p1", "p2"), URLS, strict=True):
            connection.execute(update(Item).where(Item.id == items[external]).values(url=url))
        # p2's case is gone: an item the store holds that no signal flagged.
        connection.execute(Case.__table__.delete().where(Case.id == desk.cases["p2"]))
        _give_media(connection, items["p1"], "image", "a" * 64)
        _give_media(connection, items["p2"], "file", "b" * 64)
        order_id = orders.register_order(connection, "user:lead1", order(URLS, RECEIVED), RECEIVED)
        found = orders.ordered_items(connection, [orders.get_order(connection, order_id)])
        assert orders.ordered_items(connection, []) == {}
    assert found == {
        items["p1"]: {
            "item_id": items["p1"],
            "case_id": desk.cases["p1"],
            "case_status": "open",
            "previews": ["a" * 64],
        },
        items["p2"]: {"item_id": items["p2"], "case_id": None, "case_status": None, "previews": []},
    }


@pytest.mark.parametrize("field", ["authority", "reference", "reasons", "signed_by"])
def test_a_nul_in_a_field_is_bad_input(desk: Desk, field: str) -> None:
    with desk.engine.begin() as connection:
        connection.execute(update(Item).where(Item.external_id == "p1").values(url=URLS[0]))
        fine = order(URLS[:1], RECEIVED)
        values = {name: getattr(fine, name) for name in fine.__slots__}  # type: ignore[attr-defined]
        values[field] = "text\x00more"
        with pytest.raises(Invalid, match=f"{field} contains a NUL"):
            orders.register_order(connection, "user:lead1", orders.OrderIn(**values), RECEIVED)
