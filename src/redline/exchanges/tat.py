"""Tech Against Terrorism's hash list: PDQ and MD5 hashes of content made by designated
terrorist entities, each with the ideology of the group that made it.

Two ways in, one entry shape:

* **the hash list API**, as python-threatexchange's ``TATHashListAPI`` uses it (TAT's own
  documentation is for its members): ``POST {api}token-auth/tcap/`` with the username and
  password answers ``{"token": ...}``; ``GET {api}api/hash-list/v2/all?order=asc&after=CHECKPOINT``
  with ``Authorization: Bearer <token>`` answers a page ``{"count", "next", "previous",
  "checkpoint", "results": [...]}``, ``next`` being the following page's URL (none on the last)
  and ``checkpoint`` where the page ends (``"1704085200,124"``: a time and an id), which is
  what the next fetch asks ``after``;
* **a file** (``path``, on this machine: a list a member downloaded, or a mirror) in the same
  shape: one JSON page as above, a JSON list of entries, or CSV with the entries' field names
  as its header. A file holds the whole list; a fetch takes the entries updated after the
  checkpoint (the latest ``updated_on`` read).

Each entry: ``id``, ``hash_digest``, ``algorithm`` (``PDQ`` or ``MD5``), ``ideology``
(``islamist``, ``far-right``), ``file_type`` (``mp4``, ``jpg``...), ``deleted``, ``updated_on``
(a Unix time) and ``created_on``. A PDQ is a ``pdq`` signal; an MD5 of a video file type a
``video_md5`` (as python-threatexchange reads it) and of any other file an ``md5``; another
algorithm is skipped and counted. The ideology travels as a label (``labels``).

What leaves the instance: the username and password, to TAT's token endpoint, and the token
and checkpoint to its hash list. Nothing else, and nothing in file mode.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from redline.errors import Invalid
from redline.exchanges.base import Batch, ExchangeRefused, SharedEntry
from redline.exchanges.fetching import request_json
from redline.exchanges.labels import tat_labels, travelled

API: Final = "https://app.terrorismanalytics.org/"
AUTHENTICATE: Final = "token-auth/tcap/"
HASH_LIST: Final = "api/hash-list/v2/all"
MAX_PAGES: Final = 200
MAX_FILE: Final = 200_000_000
# python-threatexchange's video file types: an MD5 of one of these is a video MD5.
VIDEO_TYPES: Final = frozenset({"mov", "m4v", "mp4", "webm"})
FIELDS: Final = ("id", "hash_digest", "algorithm", "ideology", "file_type", "deleted", "updated_on")
_SETTINGS: Final = frozenset({"api_url", "username", "password", "path", "allow_private"})


class TechAgainstTerrorism:
    """TAT's hash list. Settings: ``username`` and ``password`` (TAT's hash list API, at
    ``api_url``, ``https://app.terrorismanalytics.org/`` when left out, ``allow_private`` for a
    private address), or ``path`` (a file of the list on this machine) instead."""

    name: ClassVar[str] = "tat"
    description: ClassVar[str] = "Tech Against Terrorism's hash list (its API, or a file of it)"
    secret_settings: ClassVar[frozenset[str]] = frozenset({"password"})

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings as stored; Invalid naming what is missing or wrong."""
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise Invalid(f"unknown settings for the TAT hash list: {', '.join(sorted(unknown))}")
        path = str(settings.get("path") or "").strip()
        username = str(settings.get("username") or "").strip()
        password = str(settings.get("password") or "")
        if path:
            if username or password or settings.get("api_url"):
                raise Invalid("a TAT hash list is either a file (path) or the API, not both")
            if not Path(path).is_absolute():
                raise Invalid(f"path must be absolute, not {path!r}")
            return {"path": path}
        if not username or not password:
            raise Invalid("the TAT hash list API needs a username and password (or a path)")
        api = str(settings.get("api_url") or API)
        api = api if api.endswith("/") else api + "/"
        parts = urlsplit(api)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
            raise Invalid(f"api_url must be http(s)://host/, not {api!r}")
        return {
            "api_url": api,
            "username": username,
            "password": password,
            "allow_private": bool(settings.get("allow_private", False)),
        }

    def checkpoint_time(self, checkpoint: str) -> int | None:
        """The checkpoint's time: the API's ``"1704085200,124"`` or a file's ``updated_on``."""
        try:
            return int(float(checkpoint.partition(",")[0]))
        except (ValueError, OverflowError):
            return None

    def fetch(self, settings: Mapping[str, Any], checkpoint: str | None) -> Batch:
        """Every entry updated after ``checkpoint``, as one batch."""
        if settings.get("path"):
            return _from_file(Path(str(settings["path"])), checkpoint)
        return _from_api(settings, checkpoint)


def _from_api(settings: Mapping[str, Any], checkpoint: str | None) -> Batch:
    api = str(settings["api_url"])
    private = bool(settings.get("allow_private"))
    password = str(settings["password"])
    answer = request_json(
        urljoin(api, AUTHENTICATE),
        what="TAT's token endpoint",
        allow_private=private,
        secrets=(password,),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        post=urlencode(
            {"username": settings["username"], "password": password, "resend": False}
        ).encode("utf-8"),
    )
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token or not token.isascii() or not token.isprintable():
        raise ExchangeRefused("TAT's token endpoint answered without a token")
    query = {"order": "asc", "after": checkpoint or ""}
    url: str | None = urljoin(api, HASH_LIST) + "?" + urlencode(query)
    entries: dict[str, dict[str, Any]] = {}
    at = checkpoint
    pages = 0
    while url is not None and pages < MAX_PAGES:
        pages += 1
        where = f"hash list page {pages}"
        page = request_json(
            url,
            what=where,
            allow_private=private,
            secrets=(password, token),
            headers={"Authorization": f"Bearer {token}"},
        )
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise ExchangeRefused(f"{where} is malformed: no list of results")
        for position, raw in enumerate(page["results"]):
            entry = _entry(raw, f"{where}, entry {position + 1}")
            entries.pop(entry["id"], None)
            entries[entry["id"]] = entry
        if page.get("checkpoint") not in (None, ""):
            if not isinstance(page["checkpoint"], str):
                raise ExchangeRefused(f"{where} is malformed: its checkpoint is not text")
            at = page["checkpoint"][:200]
        url = _next(page.get("next"), api, query, where)
    return _batch(list(entries.values()), at or "")


def _next(following: Any, api: str, query: Mapping[str, str], where: str) -> str | None:
    """The next page's URL, on TAT's host only (the token goes with it), asking ``after`` and
    ``order`` as the first page did when it does not say them itself."""
    if following in (None, ""):
        return None
    if not isinstance(following, str):
        raise ExchangeRefused(f"{where} is malformed: next is not a URL")
    url = urljoin(api, following)
    parts = urlsplit(url)
    if parts.netloc != urlsplit(api).netloc:
        host = parts.netloc or "(none)"
        raise ExchangeRefused(f"{where} points its next page to another host: {host[:100]}")
    asked = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in query.items():
        asked.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(asked)))


def _from_file(path: Path, checkpoint: str | None) -> Batch:
    try:
        since = float(checkpoint) if checkpoint else None
    except ValueError:
        raise ExchangeRefused(
            f"the stored checkpoint {str(checkpoint)[:40]!r} is not a file's updated_on time"
        ) from None
    try:
        if path.stat().st_size > MAX_FILE:
            raise ExchangeRefused(f"{path.name} is larger than {MAX_FILE:,} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ExchangeRefused(f"reading {path.name} failed: {error}") from None
    rows: list[Any]
    if text.lstrip()[:1] in {"{", "["}:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise ExchangeRefused(f"{path.name} is not valid JSON") from None
        found = document.get("results") if isinstance(document, dict) else document
        if not isinstance(found, list):
            raise ExchangeRefused(f"{path.name} has no list of entries (results)")
        rows = found
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise ExchangeRefused(f"{path.name} is missing the column(s) {', '.join(missing)}")
        rows = list(reader)
    entries = [_entry(raw, f"{path.name}, entry {n + 1}") for n, raw in enumerate(rows)]
    fresh = [e for e in entries if since is None or e["updated_on"] > since]
    latest = max((e["updated_on"] for e in entries), default=since or 0.0)
    return _batch(fresh, repr(latest) if entries or since is not None else "")


def _entry(raw: Any, where: str) -> dict[str, Any]:
    """One entry checked and made plain (a CSV row's text read as the API's types)."""
    if not isinstance(raw, dict):
        raise ExchangeRefused(f"{where} is malformed: not an object")
    remote_id = raw.get("id")
    if isinstance(remote_id, bool) or not isinstance(remote_id, int | str) or not str(remote_id):
        raise ExchangeRefused(f"{where} is malformed: no id")
    for key in ("hash_digest", "algorithm"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ExchangeRefused(f"{where} (id {str(remote_id)[:40]}) has no {key}")
    deleted = raw.get("deleted", False)
    if isinstance(deleted, str):
        deleted = {"true": True, "1": True, "false": False, "0": False, "": False}.get(
            deleted.strip().lower(), deleted
        )
    if not isinstance(deleted, bool):
        raise ExchangeRefused(f"{where} (id {str(remote_id)[:40]}) has deleted not true/false")
    updated = raw.get("updated_on", 0)
    try:
        updated_on = float(updated) if not isinstance(updated, bool) else None
    except (TypeError, ValueError):
        updated_on = None
    if updated_on is None or updated_on != updated_on:  # NaN
        raise ExchangeRefused(f"{where} (id {str(remote_id)[:40]}) has no updated_on time")
    return {
        "id": str(remote_id)[:200],
        "hash_digest": raw["hash_digest"].strip().lower(),
        "algorithm": raw["algorithm"].strip().upper(),
        "ideology": str(raw.get("ideology") or ""),
        "file_type": str(raw.get("file_type") or "").strip().lower().lstrip("."),
        "deleted": deleted,
        "updated_on": updated_on,
    }


def _signal(entry: Mapping[str, Any]) -> str | None:
    if entry["algorithm"] == "PDQ":
        return "pdq"
    if entry["algorithm"] == "MD5":
        return "video_md5" if entry["file_type"] in VIDEO_TYPES else "md5"
    return None


def _batch(entries: list[dict[str, Any]], checkpoint: str) -> Batch:
    batch = Batch(checkpoint=checkpoint, organisation="Tech Against Terrorism")
    for entry in entries:
        kind = _signal(entry)
        if entry["deleted"]:
            batch.removed.append(entry["id"])
        elif kind is None:
            reason = f"algorithm {entry['algorithm'][:40]} (no redline signal)"
            batch.skipped[reason] = batch.skipped.get(reason, 0) + 1
        else:
            category, tags = travelled("tat", tat_labels(entry["ideology"]))
            batch.added.append(
                SharedEntry(entry["id"], {kind: [entry["hash_digest"]]}, category, tags)
            )
    return batch
