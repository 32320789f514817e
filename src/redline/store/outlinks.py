"""Reading outlinks: each canonical URL the content points to, how often and when it was seen
(``redline outlinks``). Referral units work from this list.

Links come from two places: the ``url`` signals of texts (``redline scan`` extracts them, so one
text re-posted by many accounts counts once per item that posted it) and those of items that
are URLs themselves (URL lists). An item is seen at its posting time, or at ingest when the source
gives none.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, Select, func, select, union_all

from redline.jsontext import jsonable_dict
from redline.model import Item, Signal, Source
from redline.signals import outlinks as classes
from redline.signals import url as url_signal


@dataclass(frozen=True, slots=True)
class OutlinkRow:
    """One canonical URL and where it was seen."""

    url: str
    host: str
    host_class: str
    items: int
    first_seen: datetime
    last_seen: datetime
    sources: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return jsonable_dict(
            {
                "url": self.url,
                "host": self.host,
                "host_class": self.host_class,
                "count": self.items,
                "first_seen": self.first_seen,
                "last_seen": self.last_seen,
                "sources": self.sources,
            }
        )


def _sightings(source: str | None) -> Select[Any]:
    seen = func.coalesce(Item.posted_at, Item.ingested_at)
    columns = (
        Signal.value.label("url"),
        Item.id.label("item_id"),
        Item.source_id.label("source_id"),
        seen.label("seen"),
    )
    from_texts = (
        select(*columns)
        .join(Item, Item.text_sha256 == Signal.text_sha256)
        .where(Signal.signal_type == url_signal.SIGNAL_TYPE, Signal.text_sha256.is_not(None))
    )
    from_items = (
        select(*columns)
        .join(Item, Item.id == Signal.item_id)
        .where(Signal.signal_type == url_signal.SIGNAL_TYPE)
    )
    if source is not None:
        wanted = select(Source.id).where(Source.name == source).scalar_subquery()
        from_texts = from_texts.where(Item.source_id == wanted)
        from_items = from_items.where(Item.source_id == wanted)
    return union_all(from_texts, from_items).subquery().select()


def list_outlinks(
    engine: Engine,
    *,
    source: str | None = None,
    host_class: str | None = None,
    host: str | None = None,
    limit: int | None = None,
    placeholders: bool = False,
) -> list[OutlinkRow]:
    """Canonical outlinks, most posted first: the links to content, or with ``placeholders``
    only the platforms' stand-in pages (a suspended account, a sign-in wall), which say nothing
    of where content is and would otherwise top the list."""
    sightings = _sightings(source).subquery()
    query = (
        select(
            sightings.c.url,
            func.count(sightings.c.item_id.distinct()),
            func.min(sightings.c.seen),
            func.max(sightings.c.seen),
        )
        .group_by(sightings.c.url)
        .order_by(func.count(sightings.c.item_id.distinct()).desc(), sightings.c.url)
    )
    rows: list[OutlinkRow] = []
    with engine.connect() as connection:
        # Host and class are derived from the URL here, so a newer host list reclassifies old
        # links; filtering on them happens after the aggregate for the same reason.
        for url, items, first, last in connection.execute(query):
            link_host = urlsplit(url).hostname or ""
            link_class = classes.classify(url)
            if host_class is not None and link_class != host_class:
                continue
            if host is not None and link_host != host and not link_host.endswith("." + host):
                continue
            if classes.is_placeholder(url) != placeholders:
                continue
            rows.append(OutlinkRow(url, link_host, link_class, items, first, last, []))
            if limit is not None and len(rows) == limit:
                break
        by_url: dict[str, list[str]] = defaultdict(list)
        wanted = [row.url for row in rows]
        for start in range(0, len(wanted), 500):
            pairs = connection.execute(
                select(sightings.c.url, Source.name)
                .join(Source, Source.id == sightings.c.source_id)
                .where(sightings.c.url.in_(wanted[start : start + 500]))
                .distinct()
                .order_by(Source.name)
            )
            for url, name in pairs:
                by_url[url].append(name)
    for row in rows:
        row.sources.extend(by_url[row.url])
    return rows
