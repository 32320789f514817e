"""redline-to-redline federation: one instance publishes a bank as a signed, incremental feed
(``GET /api/v1/feeds/{bank}?after=<checkpoint>``), another subscribes to it as an exchange.

The feed is read from the bank's change log (``bank_changes``), whose ids are the checkpoints:
a page holds the entries changed after ``after``, each once and as it is now (added since the
checkpoint, relabelled, or removed: deleted or disabled), and the checkpoint to ask from next.
What leaves the publisher is each entry's id, hashes and labels (category, tags and the
organisation that shared it); never media, notes, provenance, nor who added it.

The body is JSON, signed with the publisher's Ed25519 key over its exact bytes (``signing``).
The subscriber checks the signature before it reads anything, then that the page answers what it
asked (this bank, from its own checkpoint: an older page replayed is refused), and only then
hands the entries on to be stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Final
from urllib.parse import unquote, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, select

from redline import __version__
from redline.banks.manage import UnknownBank
from redline.errors import Invalid
from redline.exchanges import signing
from redline.exchanges.base import Batch, ExchangeRefused, SharedEntry
from redline.model import Bank, BankChange, BankEntry, BankSignal
from redline.safefetch import FetchFailed, fetch

FORMAT: Final = "redline-bank-feed/1"
PAGE: Final = 1000  # changes a page reads
MAX_PAGES: Final = 50  # pages one fetch reads before it stores them and stops for this time
MAX_BODY: Final = 20_000_000
USER_AGENT: Final = f"redline-exchange/{__version__}"
_LABELS: Final = ("category", "tags", "source_org")


def publish(
    connection: Connection, bank: str, after: int, *, organisation: str, limit: int = PAGE
) -> bytes:
    """The feed page of ``bank`` after checkpoint ``after``: the JSON body, as it is signed and
    sent. UnknownBank when there is no such bank."""
    bank_id = connection.scalar(select(Bank.id).where(Bank.name == bank))
    if bank_id is None:
        raise UnknownBank(f"no bank called {bank!r}")
    changes = connection.execute(
        select(BankChange.id, BankChange.entry_id, BankChange.change)
        .where(BankChange.bank_id == bank_id, BankChange.id > after)
        .order_by(BankChange.id)
        .limit(limit + 1)
    ).all()
    more = len(changes) > limit
    changes = changes[:limit]
    checkpoint = changes[-1].id if changes else after
    # Each entry once, in the order of its last change; "added" when it came in this page.
    last: dict[int, int] = {}
    new: set[int] = set()
    for change in changes:
        last.pop(change.entry_id, None)
        last[change.entry_id] = change.id
        if change.change == "add":
            new.add(change.entry_id)
    ids = list(last)
    live = {
        row.id: row
        for row in connection.execute(
            select(BankEntry.id, BankEntry.category, BankEntry.tags, BankEntry.source_org).where(
                BankEntry.id.in_(ids), BankEntry.bank_id == bank_id, BankEntry.enabled
            )
        )
    }
    hashes: dict[int, dict[str, list[str]]] = {}
    for entry_id, kind, value in connection.execute(
        select(BankSignal.entry_id, BankSignal.signal_type, BankSignal.value)
        .where(BankSignal.entry_id.in_(list(live)))
        .order_by(BankSignal.id)
    ):
        hashes.setdefault(entry_id, {}).setdefault(kind, []).append(value)
    added: list[dict[str, Any]] = []
    relabelled: list[dict[str, Any]] = []
    removed: list[int] = []
    for entry_id in ids:
        row = live.get(entry_id)
        if row is None:
            removed.append(entry_id)
            continue
        shared = {
            "id": entry_id,
            "signals": hashes.get(entry_id, {}),
            "category": row.category,
            "tags": row.tags,
            "source_org": row.source_org or organisation or None,
        }
        (added if entry_id in new else relabelled).append(shared)
    page = {
        "format": FORMAT,
        "organisation": organisation or None,
        "bank": bank,
        "after": after,
        "checkpoint": checkpoint,
        "more": more,
        "added": added,
        "relabelled": relabelled,
        "removed": removed,
    }
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RedlineFeed:
    """Another redline instance's bank feed. Settings: ``url`` (the feed,
    ``https://host/api/v1/feeds/BANK``), ``token`` (an API token of theirs with the
    ``feeds:read`` scope), ``public_key`` (``ed25519:...``, from their ``redline exchange key``)
    and ``allow_private`` (the publisher is on a private network: its address is not refused)."""

    name: ClassVar[str] = "redline"
    description: ClassVar[str] = "another redline instance's signed bank feed"
    secret_settings: ClassVar[frozenset[str]] = frozenset({"token"})

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings as stored; Invalid naming what is missing or wrong."""
        unknown = set(settings) - {"url", "token", "public_key", "allow_private"}
        if unknown:
            raise Invalid(f"unknown settings for a redline feed: {', '.join(sorted(unknown))}")
        url = str(settings.get("url") or "")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise Invalid(f"the feed URL must be http(s)://host/api/v1/feeds/BANK, not {url!r}")
        if parts.query or parts.fragment or not _bank_of(url):
            raise Invalid(f"the feed URL must end with the bank's name, not {url!r}")
        token = str(settings.get("token") or "")
        if not token or not token.isascii() or not token.isprintable() or " " in token:
            raise Invalid("a token is needed: an API token of the publisher's (feeds:read)")
        key = str(settings.get("public_key") or "")
        signing.parse_public(key)
        return {
            "url": url,
            "token": token,
            "public_key": key.strip(),
            "allow_private": bool(settings.get("allow_private", False)),
        }

    def fetch(self, settings: Mapping[str, Any], checkpoint: str | None) -> Batch:
        """Every page after ``checkpoint`` (up to ``MAX_PAGES``), checked, as one batch."""
        public = signing.parse_public(str(settings["public_key"]))
        after = _checkpoint(checkpoint or "0")
        pages: list[dict[str, Any]] = []
        while len(pages) < MAX_PAGES:
            pages.append(_page(settings, public, after))
            after = pages[-1]["checkpoint"]
            if not pages[-1]["more"]:
                break
        return batch_of(pages)


def batch_of(pages: list[dict[str, Any]]) -> Batch:
    """Pages read one after the other (by ``read_page``) as one batch: each entry once, as the
    last page says it is; an entry added in one page and relabelled in a later one is added."""
    entries: dict[str, tuple[str, SharedEntry | None]] = {}
    organisation: str | None = None
    for page in pages:
        if isinstance(page.get("organisation"), str):
            organisation = page["organisation"]
        for kind in ("added", "relabelled"):
            for shared in page[kind]:
                entry = _shared_entry(shared)
                earlier = entries.get(entry.remote_id, ("", None))[0]
                entries[entry.remote_id] = ("added" if earlier == "added" else kind, entry)
        for remote_id in page["removed"]:
            entries[_remote_id(remote_id)] = ("removed", None)
    return Batch(
        checkpoint=str(pages[-1]["checkpoint"]),
        added=[e for kind, e in entries.values() if kind == "added" and e is not None],
        relabelled=[e for kind, e in entries.values() if kind == "relabelled" and e is not None],
        removed=[remote_id for remote_id, (kind, _) in entries.items() if kind == "removed"],
        organisation=organisation,
    )


def _bank_of(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])


def _checkpoint(text: str) -> int:
    if not text.isdigit():
        raise ExchangeRefused(f"the stored checkpoint {text[:40]!r} is not a redline feed's")
    return int(text)


def _page(settings: Mapping[str, Any], public: Ed25519PublicKey, after: int) -> dict[str, Any]:
    """One page, fetched, its signature checked, then read and matched to what was asked."""
    url = f"{settings['url']}?{urlencode({'after': after})}"
    try:
        answer = fetch(
            url,
            user_agent=USER_AGENT,
            allow_private=bool(settings.get("allow_private")),
            headers={"Authorization": f"Bearer {settings['token']}"},
            max_redirects=0,  # the token is for the publisher, not wherever it points
            max_bytes=MAX_BODY,
            timeout=30.0,
            keep_body=True,
        )
    except FetchFailed as error:
        raise ExchangeRefused(f"fetching the feed failed: {error}") from None
    if answer.status != 200:
        why = {401: " (the token was refused)", 403: " (the token may not read feeds)"}
        raise ExchangeRefused(
            f"the publisher answered HTTP {answer.status}{why.get(answer.status, '')}"
        )
    body = answer.body or b""
    if len(body) >= MAX_BODY:
        raise ExchangeRefused(f"a feed page is larger than {MAX_BODY:,} bytes")
    signature = next((v for k, v in answer.headers if k == signing.HEADER.lower()), None)
    return read_page(body, signature, public, bank=_bank_of(str(settings["url"])), after=after)


def read_page(
    body: bytes, signature: str | None, public: Ed25519PublicKey, *, bank: str, after: int
) -> dict[str, Any]:
    """A feed page, once its signature is the publisher's over exactly ``body`` and it answers
    what was asked (``bank``, from checkpoint ``after``); ExchangeRefused saying why not."""
    signing.verify(public, body, signature)  # before anything of the body is read
    try:
        page = json.loads(body)
    except ValueError:
        raise ExchangeRefused("the feed is signed but is not JSON") from None
    if not isinstance(page, dict) or page.get("format") != FORMAT:
        raise ExchangeRefused(f"the feed is not a {FORMAT} page")
    if page.get("bank") != bank:
        raise ExchangeRefused(
            f"the feed is of bank {str(page.get('bank'))[:100]!r}, not the one subscribed to"
        )
    if page.get("after") != after:
        raise ExchangeRefused(
            f"the feed answers from checkpoint {str(page.get('after'))[:40]}, not {after}:"
            " an older page replayed"
        )
    checkpoint = page.get("checkpoint")
    if not isinstance(checkpoint, int) or isinstance(checkpoint, bool) or checkpoint < after:
        raise ExchangeRefused(
            f"the feed's next checkpoint {str(checkpoint)[:40]} is behind {after}"
        )
    for kind in ("added", "relabelled", "removed"):
        if not isinstance(page.get(kind), list):
            raise ExchangeRefused(f"the feed has no list of {kind} entries")
    if not isinstance(page.get("more"), bool):
        raise ExchangeRefused("the feed does not say whether more pages follow")
    return page


def _remote_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value):
        raise ExchangeRefused(f"a feed entry has no usable id: {str(value)[:40]!r}")
    return str(value)[:200]


def _shared_entry(shared: object) -> SharedEntry:
    if not isinstance(shared, dict):
        raise ExchangeRefused("a feed entry is not an object")
    signals = shared.get("signals")
    if not isinstance(signals, dict) or not all(
        isinstance(kind, str)
        and isinstance(values, list)
        and all(isinstance(v, str) for v in values)
        for kind, values in signals.items()
    ):
        raise ExchangeRefused(f"feed entry {shared.get('id')!r} has no readable signals")
    labels = {key: shared.get(key) for key in _LABELS}
    if not all(value is None or isinstance(value, str) for value in labels.values()):
        raise ExchangeRefused(f"feed entry {shared.get('id')!r} has labels that are not text")
    return SharedEntry(
        _remote_id(shared.get("id")),
        {kind: list(values) for kind, values in signals.items()},
        labels["category"],
        labels["tags"],
        labels["source_org"],
    )
