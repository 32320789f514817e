"""``jsonable``: the one way a record's times become JSON, in every ``as_dict`` and API answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from redline.jsontext import jsonable, jsonable_dict, storable

AT = datetime(2026, 11, 23, 9, 0, 30, 123456, tzinfo=UTC)


def test_times_become_iso_8601_at_any_depth_and_the_order_stays() -> None:
    record = {"b": AT, "a": None, "urls": [{"acted_at": AT, "url": "x"}], "n": 3}
    plain = jsonable_dict(record)
    assert list(plain) == ["b", "a", "urls", "n"]
    assert json.dumps(plain) == (
        '{"b": "2026-11-23T09:00:30.123456+00:00", "a": null, '
        '"urls": [{"acted_at": "2026-11-23T09:00:30.123456+00:00", "url": "x"}], "n": 3}'
    )
    assert record["b"] is AT  # the record itself is left as it was
    assert jsonable(None) is None and jsonable(AT) == AT.isoformat()


def test_storable_escapes_what_postgresql_refuses_everywhere_in_a_document() -> None:
    document = {"id\x00": ["a\x00b", {"lone": "\ud800x"}], "n": 1, "ok": "é"}
    assert storable(document) == {"id\\x00": ["a\\x00b", {"lone": "\\ud800x"}], "n": 1, "ok": "é"}
    json.dumps(storable(document)).encode("utf-8")  # no surrogate left to fail the encoder
