"""URL lists: one item per written URL, its canonical form as a signal, bad lines quarantined."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from redline.config import Settings
from redline.model import Signal
from tests.helpers import items, quarantined, run_ingest


def test_urls_are_stored_with_canonical_signals(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    path = tmp_path / "outlinks.txt"
    path.write_text(
        "# collected from a channel\n"
        "https://example.org/doc?utm_source=channel\n"
        "HTTPS://EXAMPLE.ORG/doc\n"
        "\n"
        "https://t.co/AbC123\n"
        "not a url\n"
        "https://example.org/doc?utm_source=channel\n",
        encoding="utf-8",
    )
    summary = run_ingest(path, "links", engine, settings)
    assert (summary.format, summary.stored, summary.duplicates, summary.quarantined) == (
        "url-list",
        3,
        1,
        1,
    )
    stored = items(engine)
    assert [i["url"] for i in stored] == [
        "https://example.org/doc?utm_source=channel",
        "HTTPS://EXAMPLE.ORG/doc",
        "https://t.co/AbC123",
    ]
    with engine.connect() as connection:
        signals = connection.execute(
            select(Signal.item_id, Signal.signal_type, Signal.value, Signal.meta).order_by(
                Signal.item_id
            )
        ).all()
    assert [(s.signal_type, s.value) for s in signals] == [
        ("url", "https://example.org/doc"),
        ("url", "https://example.org/doc"),
        ("url", "https://t.co/AbC123"),
    ]
    assert signals[0].meta["original"] == "https://example.org/doc?utm_source=channel"
    assert signals[2].meta["shortener"] is True
    (bad,) = quarantined(engine)
    assert (bad.location, bad.raw) == ("line 6", b"not a url\n")
    assert bad.reason.startswith("not a URL:")
