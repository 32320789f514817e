"""Meta's ThreatExchange: the indicators of one privacy group, fetched incrementally from the
Graph API's ``/{privacy_group}/threat_updates`` as python-threatexchange's
``FBThreatExchangeSignalExchangeAPI`` reads it.

A fetch asks ``GET {graph}/{privacy_group}/threat_updates/`` with ``access_token``,
``start_time`` (the checkpoint: the ``last_updated`` time reached so far; none the first time),
``stop_time`` (now, so every page answers the same window), ``limit`` and ``fields``, and follows
each page's ``paging.next`` URL (on the same host only: it carries the token) until there is
none. Each update is one indicator: its ``id`` (the entry's id here), ``indicator`` (the hash),
``type`` (``HASH_PDQ``, ``HASH_MD5``...), ``last_updated``, ``should_delete`` and its
``descriptors`` (each owner's opinion: ``status``, ``tags``, ``reactions``).

An indicator is removed when ThreatExchange says to delete it, when no descriptor of it is
visible (python-threatexchange's reading of ThreatExchange issue 834) or when every owner marks
it ``NON_MALICIOUS``; otherwise it is banked with the tags of the descriptors that do not, as
labels (``labels``). Types redline has no signal for (``HASH_TMK``, ``URI``...) are skipped and
counted by type. The checkpoint moves to ``stop_time`` once the last page is read; a fetch cut
short by ``MAX_PAGES`` moves it to the latest ``last_updated`` read, and the next fetch goes on
from there (``start_time`` is inclusive: an update read twice changes nothing).

What leaves the instance: the token and privacy group id, to Graph API; with feedback, a
reaction (``HELPFUL`` or ``DISAGREE_WITH_TAGS``) on the indicator's descriptors. Never media.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar, Final
from urllib.parse import urlencode, urlsplit

from redline.errors import Invalid
from redline.exchanges.base import Batch, ExchangeRefused, Feedback, SharedEntry
from redline.exchanges.fetching import request_json
from redline.exchanges.labels import travelled

GRAPH_API: Final = "https://graph.facebook.com/v21.0"
PAGE_SIZE: Final = 500
MAX_PAGES: Final = 200  # pages one fetch reads before it stores them and stops for this time
# The descriptor fields python-threatexchange asks for with each update.
FIELDS: Final = (
    "indicator,type,last_updated,should_delete,descriptors{id,reactions,owner{id},tags,status}"
)
# ThreatExchange's indicator types with a redline signal type; every other type is skipped.
SIGNAL_TYPES: Final[dict[str, str]] = {
    "HASH_PDQ": "pdq",
    "HASH_MD5": "md5",
    "HASH_VIDEO_MD5": "video_md5",
    "HASH_SHA256": "sha256",
}
# Reactions python-threatexchange reads as opinions: HELPFUL agrees, DISAGREE_WITH_TAGS not.
CONFIRM: Final = "HELPFUL"
DECONFIRM: Final = "DISAGREE_WITH_TAGS"
_SETTINGS: Final = frozenset({"privacy_group", "token", "graph_url", "allow_private"})


class ThreatExchange:
    """A ThreatExchange privacy group. Settings: ``privacy_group`` (its id), ``token`` (the
    app's access token, ``app_id|secret``), ``graph_url`` (Graph API's versioned base URL,
    ``https://graph.facebook.com/v21.0`` when left out) and ``allow_private``."""

    name: ClassVar[str] = "threatexchange"
    description: ClassVar[str] = "a ThreatExchange privacy group's indicators (Graph API)"
    secret_settings: ClassVar[frozenset[str]] = frozenset({"token"})

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings as stored; Invalid naming what is missing or wrong."""
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise Invalid(f"unknown settings for ThreatExchange: {', '.join(sorted(unknown))}")
        group = str(settings.get("privacy_group") or "").strip()
        if not group.isdigit() or len(group) > 30:
            raise Invalid(f"privacy_group must be a ThreatExchange privacy group id, not {group!r}")
        token = str(settings.get("token") or "").strip()
        app, bar, secret = token.partition("|")
        if not (app.isdigit() and bar and secret and token.isascii() and token.isprintable()):
            raise Invalid("token must be a ThreatExchange app access token: app_id|secret")
        if " " in token or "&" in token or "#" in token:
            raise Invalid("token must be a ThreatExchange app access token: app_id|secret")
        graph = str(settings.get("graph_url") or GRAPH_API).rstrip("/")
        parts = urlsplit(graph)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
            raise Invalid(f"graph_url must be http(s)://host/version, not {graph!r}")
        return {
            "privacy_group": group,
            "token": token,
            "graph_url": graph,
            "allow_private": bool(settings.get("allow_private", False)),
        }

    def fetch(self, settings: Mapping[str, Any], checkpoint: str | None) -> Batch:
        """Every update after ``checkpoint`` (up to ``MAX_PAGES`` pages) as one batch."""
        start = _checkpoint(checkpoint)
        stop = int(time.time())
        token = str(settings["token"])
        graph = str(settings["graph_url"])
        query = {"access_token": token, "limit": PAGE_SIZE, "fields": FIELDS, "stop_time": stop}
        if start is not None:
            query["start_time"] = start
        url: str | None = f"{graph}/{settings['privacy_group']}/threat_updates/?{urlencode(query)}"
        updates: dict[str, dict[str, Any]] = {}
        latest = start or 0
        pages = 0
        while url is not None and pages < MAX_PAGES:
            pages += 1
            page = request_json(
                url,
                what=f"threat_updates page {pages}",
                allow_private=bool(settings.get("allow_private")),
                secrets=(token,),
            )
            data, url = _read_page(page, pages, graph, token)
            for update in data:
                updates.pop(update["id"], None)  # the later update of an indicator stands
                updates[update["id"]] = update
                latest = max(latest, update["last_updated"])
        done = url is None
        organisation = f"ThreatExchange privacy group {settings['privacy_group']}"
        return _batch(list(updates.values()), str(stop if done else latest), organisation)

    def checkpoint_time(self, checkpoint: str) -> int | None:
        """The checkpoint as a Unix time (it is one: the last ``stop_time`` read to)."""
        return int(checkpoint) if checkpoint.isdigit() else None

    def report_feedback(self, settings: Mapping[str, Any], feedback: list[Feedback]) -> None:
        """Reviewers' confirmations and deconfirmations (``exchanges.run.send_feedback``), each
        as reactions on its indicator's descriptors (``report``)."""
        for given in feedback:
            self.report(settings, given.remote_id, given.kind == "confirm")

    def report(self, settings: Mapping[str, Any], remote_id: str, confirmed: bool) -> int:
        """Tell ThreatExchange what a reviewer decided about indicator ``remote_id``: a
        ``HELPFUL`` reaction on each of its descriptors when confirmed, ``DISAGREE_WITH_TAGS``
        when not; the number of descriptors reacted to. ExchangeRefused when it failed."""
        if not remote_id.isdigit():
            raise ExchangeRefused(f"{remote_id[:40]!r} is not a ThreatExchange indicator id")
        token = str(settings["token"])
        graph = str(settings["graph_url"])
        private = bool(settings.get("allow_private"))
        query = urlencode({"access_token": token, "fields": "descriptors{id,owner{id}}"})
        found = request_json(
            f"{graph}/{remote_id}/?{query}",
            what=f"indicator {remote_id}",
            allow_private=private,
            secrets=(token,),
        )
        descriptors = _descriptors(found if isinstance(found, dict) else {})
        reaction = CONFIRM if confirmed else DECONFIRM
        for descriptor in descriptors:
            request_json(
                f"{graph}/{descriptor['id']}/?{urlencode({'access_token': token})}",
                what=f"a reaction to descriptor {descriptor['id']}",
                allow_private=private,
                secrets=(token,),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                post=urlencode({"reactions": reaction}).encode("ascii"),
            )
        return len(descriptors)


def _checkpoint(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise ExchangeRefused(f"the stored checkpoint {text[:40]!r} is not a ThreatExchange time")
    return int(text)


def _read_page(
    page: Any, number: int, graph: str, token: str
) -> tuple[list[dict[str, Any]], str | None]:
    """A page's updates, each checked and made plain, and the next page's URL (None: the
    last); ExchangeRefused saying what is wrong with a malformed page."""
    where = f"threat_updates page {number}"
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise ExchangeRefused(f"{where} is malformed: no list of updates (data)")
    paging = page.get("paging") or {}
    following = paging.get("next") if isinstance(paging, dict) else None
    if following is not None:
        if not isinstance(following, str):
            raise ExchangeRefused(f"{where} is malformed: paging.next is not a URL")
        if urlsplit(following).netloc != urlsplit(graph).netloc:
            # The next URL carries the token: it goes to ThreatExchange's host and no other
            # (and the URL is not repeated in the reason, which is stored and shown).
            host = urlsplit(following).netloc or "(none)"
            raise ExchangeRefused(f"{where} points its next page to another host: {host[:100]}")
    data: list[dict[str, Any]] = []
    for position, raw in enumerate(page["data"]):
        data.append(_update(raw, f"{where}, update {position + 1}"))
    return data, following


def _update(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ExchangeRefused(f"{where} is malformed: not an object")
    remote_id, kind, indicator = raw.get("id"), raw.get("type"), raw.get("indicator")
    if not isinstance(remote_id, str | int) or isinstance(remote_id, bool) or not str(remote_id):
        raise ExchangeRefused(f"{where} is malformed: no id")
    if not isinstance(kind, str) or not isinstance(indicator, str):
        raise ExchangeRefused(
            f"{where} (id {str(remote_id)[:40]}) is malformed: no type or indicator"
        )
    updated = raw.get("last_updated")
    if isinstance(updated, str) and updated.isdigit():
        updated = int(updated)
    if not isinstance(updated, int) or isinstance(updated, bool):
        raise ExchangeRefused(f"{where} (id {str(remote_id)[:40]}) has no last_updated time")
    if not isinstance(raw.get("should_delete", False), bool):
        raise ExchangeRefused(
            f"{where} (id {str(remote_id)[:40]}) has a should_delete not true/false"
        )
    return {
        "id": str(remote_id)[:200],
        "type": kind,
        "indicator": indicator,
        "last_updated": updated,
        "should_delete": bool(raw.get("should_delete", False)),
        "descriptors": _descriptors(raw),
    }


def _descriptors(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The visible descriptors of an indicator (those with an owner: ThreatExchange sometimes
    shows one without, which python-threatexchange drops), each with its tags as a list."""
    found = raw.get("descriptors")
    listed = found.get("data") if isinstance(found, dict) else None
    descriptors: list[dict[str, Any]] = []
    for descriptor in listed if isinstance(listed, list) else []:
        if not isinstance(descriptor, dict) or not isinstance(descriptor.get("owner"), dict):
            continue
        if not isinstance(descriptor.get("id"), str | int) or not str(descriptor["id"]).isdigit():
            continue
        tags = descriptor.get("tags") or []
        if isinstance(tags, dict):  # the Graph API's edge form: {"data": [{"text": ...}]}
            tags = [t.get("text") for t in tags.get("data") or [] if isinstance(t, dict)]
        descriptors.append(
            {
                "id": str(descriptor["id"]),
                "status": descriptor.get("status"),
                "tags": [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
            }
        )
    return descriptors


def _batch(updates: list[dict[str, Any]], checkpoint: str, organisation: str) -> Batch:
    batch = Batch(checkpoint=checkpoint, organisation=organisation)
    for update in updates:
        kind = SIGNAL_TYPES.get(update["type"])
        if kind is None:
            reason = f"type {update['type'][:40]} (no redline signal)"
            batch.skipped[reason] = batch.skipped.get(reason, 0) + 1
            continue
        opinions = [d for d in update["descriptors"] if d["status"] != "NON_MALICIOUS"]
        if update["should_delete"] or not opinions:
            batch.removed.append(update["id"])
            continue
        labels = sorted({tag for d in opinions for tag in d["tags"]})
        category, tags = travelled("te", labels)
        batch.added.append(
            SharedEntry(update["id"], {kind: [update["indicator"].strip().lower()]}, category, tags)
        )
    return batch
