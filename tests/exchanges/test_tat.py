"""Tech Against Terrorism's hash list (on SQLite and PostgreSQL): through a local server that
answers the API as python-threatexchange's TAT client calls it (a token for the username and
password, then pages after a checkpoint), and from a file of the list in JSON or CSV; PDQ and
MD5 banked with the ideology as a label, other algorithms skipped and counted, deletions
applied, bad credentials and malformed pages refused with nothing stored."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import Engine, select, update

from redline.banks import manage as banks
from redline.errors import Invalid
from redline.exchanges import fetching, run
from redline.exchanges.tat import TechAgainstTerrorism
from redline.model import BankEntry, BankSignal, Exchange, ExchangeEntry
from tests.exchanges.local_http import JsonHandler, serving

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
USER, PASSWORD, JWT = "analyst@platform.example", "correct horse battery", "eyJhbGciOi.tcap.jwt"
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"
MD5_A, MD5_B = "a" * 32, "b" * 32


def entry(
    number: int,
    digest: str,
    algorithm: str,
    ideology: str,
    file_type: str,
    updated: float,
    *,
    deleted: bool = False,
) -> dict[str, Any]:
    """One hash list entry, with the fields python-threatexchange's TATHashListEntry reads."""
    return {
        "id": number,
        "hash_digest": digest,
        "algorithm": algorithm,
        "ideology": ideology,
        "file_type": file_type,
        "deleted": deleted,
        "updated_on": updated,
        "created_on": "2026-11-01T10:00:00Z",
    }


LIST = [
    entry(101, PDQ_A, "PDQ", "islamist", "jpg", 1_764_000_001.5),
    entry(102, MD5_A, "MD5", "far-right", "mp4", 1_764_000_002.0),
    entry(103, "c" * 40, "SHA1", "islamist", "png", 1_764_000_003.0),
    entry(104, MD5_B, "MD5", "islamist", "pdf", 1_764_000_004.0),
]


class TatApi:
    """TAT's hash list API: a token for the right username and password, then the list in
    pages of two after a checkpoint ``updated_on,id``, ``next`` carrying limit and offset."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.asked: list[dict[str, list[str]]] = []
        self.malformed = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}/"

    def _handler(self) -> type[JsonHandler]:
        api = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                form = parse_qs(body.decode())
                if self.path != "/token-auth/tcap/":
                    self._answer(404, {"detail": "Not found."})
                elif form.get("username") == [USER] and form.get("password") == [PASSWORD]:
                    self._answer(200, {"token": JWT, "user": {"email": USER}})
                else:
                    self._answer(401, {"detail": "Invalid credentials"})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if self.headers.get("Authorization") != f"Bearer {JWT}":
                    self._answer(401, {"error": "Authentication credentials were not provided."})
                elif parts.path != "/api/hash-list/v2/all":
                    self._answer(404, {"error": "Not found."})
                else:
                    query = parse_qs(parts.query, keep_blank_values=True)
                    api.asked.append(query)
                    self._answer(200, api.page(query))

        return Handler

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        after = query.get("after", [""])[0]
        since = (float(after.split(",")[0]), int(after.split(",")[1])) if after else (0.0, 0)
        listed = sorted(self.entries, key=lambda e: (e["updated_on"], e["id"]))
        listed = [e for e in listed if (e["updated_on"], e["id"]) > since]
        offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", ["2"])[0])
        results = listed[offset : offset + limit]
        more = offset + limit < len(listed)
        last = results[-1] if results else None
        if self.malformed:
            return {"count": len(listed), "next": None, "checkpoint": "", "results": "nope"}
        return {
            "count": len(listed),
            "next": f"{self.base}api/hash-list/v2/all?"
            + urlencode({"limit": limit, "offset": offset + limit})
            if more
            else None,
            "previous": None,
            "checkpoint": f"{last['updated_on']},{last['id']}" if last else "",
            "results": results,
        }


@pytest.fixture
def tat() -> Iterator[TatApi]:
    api = TatApi()
    with serving(api.server):
        yield api


def subscribe(engine: Engine, settings: dict[str, Any]) -> None:
    with engine.begin() as connection:
        banks.create_bank(connection, "tat", actor="lead", now=NOW)
        run.add_exchange(connection, "tat-list", "tat", "tat", settings, actor="lead", now=NOW)


def fetch(engine: Engine) -> run.FetchOutcome:
    with engine.begin() as connection:
        return run.fetch(connection, "tat-list", NOW)


def banked(engine: Engine) -> dict[str, tuple[bool, str | None, str | None, str]]:
    """(enabled, category, tags, signal type) by TAT's entry id."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ExchangeEntry.remote_id,
                BankEntry.enabled,
                BankEntry.category,
                BankEntry.tags,
                BankSignal.signal_type,
            )
            .join(BankEntry, BankEntry.id == ExchangeEntry.entry_id)
            .join(BankSignal, BankSignal.entry_id == BankEntry.id)
        ).all()
    return {r.remote_id: (r.enabled, r.category, r.tags, r.signal_type) for r in rows}


def test_the_api_is_read_page_by_page_then_after_the_checkpoint(
    engine: Engine, tat: TatApi
) -> None:
    subscribe(
        engine,
        {"username": USER, "password": PASSWORD, "api_url": tat.base, "allow_private": True},
    )
    tat.entries = list(LIST)
    done = fetch(engine)
    assert done.error is None
    assert (done.added, done.removed) == (3, 0)
    assert done.skipped == {"algorithm SHA1 (no redline signal)": 1}
    assert done.checkpoint == "1764000004.0,104"
    assert banked(engine) == {
        "101": (True, "official_media_distribution", "tat:ideology_islamist", "pdq"),
        "102": (True, "official_media_distribution", "tat:ideology_far_right", "video_md5"),
        "104": (True, "official_media_distribution", "tat:ideology_islamist", "md5"),
    }
    assert [q.get("offset") for q in tat.asked] == [None, ["2"]]
    assert all(q["after"] == [""] and q["order"] == ["asc"] for q in tat.asked)

    tat.asked.clear()
    tat.entries.append(entry(101, PDQ_A, "PDQ", "islamist", "jpg", 1_764_000_010.0, deleted=True))
    tat.entries.append(entry(105, PDQ_B, "PDQ", "far-right", "png", 1_764_000_011.0))
    again = fetch(engine)
    assert [q["after"] for q in tat.asked] == [["1764000004.0,104"]]
    assert (again.added, again.removed, again.checkpoint) == (1, 1, "1764000011.0,105")
    found = banked(engine)
    assert found["101"][0] is False and found["105"][3] == "pdq"
    with engine.connect() as connection:
        status = run.get_exchange(connection, "tat-list")
    assert status.settings["password"] == run.HIDDEN and status.added == 4


def test_bad_credentials_and_malformed_pages_are_refused_with_nothing_stored(
    engine: Engine, tat: TatApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetching, "BACKOFF", 0.01)
    subscribe(
        engine,
        {"username": USER, "password": "wrong one", "api_url": tat.base, "allow_private": True},
    )
    tat.entries = list(LIST)
    refused = fetch(engine)
    assert refused.error == (
        "TAT's token endpoint: the source answered HTTP 401 (the credentials were refused)"
    )
    with engine.begin() as connection:
        connection.execute(
            update(Exchange)
            .where(Exchange.name == "tat-list")
            .values(
                settings={
                    "username": USER,
                    "password": PASSWORD,
                    "api_url": tat.base,
                    "allow_private": True,
                }
            )
        )
    tat.malformed = True
    malformed = fetch(engine)
    assert malformed.error == "hash list page 1 is malformed: no list of results"
    assert banked(engine) == {}
    with engine.connect() as connection:
        status = run.get_exchange(connection, "tat-list")
    assert status.checkpoint is None and status.last_error == malformed.error


def test_a_file_of_the_list_in_json_then_csv(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tat-hash-list.json"
    path.write_text(json.dumps({"checkpoint": "", "results": LIST[:2]}))
    subscribe(engine, {"path": str(path)})
    first = fetch(engine)
    assert (first.added, first.checkpoint) == (2, "1764000002.0")
    # the list as CSV, one entry deleted and one new: only what changed after the checkpoint
    path.write_text("")
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(LIST[0]))
        writer.writeheader()
        writer.writerow({**LIST[0]})
        writer.writerow({**LIST[1], "deleted": "true", "updated_on": 1_764_000_020})
        writer.writerow({**LIST[3], "updated_on": 1_764_000_021})
    second = fetch(engine)
    assert (second.added, second.removed, second.relabelled) == (1, 1, 0)
    assert second.checkpoint == "1764000021.0"
    assert banked(engine)["102"][0] is False
    path.write_text("id,hash_digest\n1,abc\n")
    broken = fetch(engine)
    assert broken.error == (
        "tat-hash-list.json is missing the column(s) algorithm, ideology, file_type, deleted,"
        " updated_on"
    )


def test_settings_are_checked() -> None:
    kind = TechAgainstTerrorism()
    assert kind.check_settings({"username": "u", "password": "p"})["api_url"] == (
        "https://app.terrorismanalytics.org/"
    )
    for bad, said in [
        ({}, "needs a username and password"),
        ({"username": "u"}, "needs a username and password"),
        ({"path": "relative.json"}, "path must be absolute"),
        ({"path": "/srv/tat.json", "username": "u"}, "either a file"),
        ({"username": "u", "password": "p", "api_url": "ftp://x/"}, "api_url must be"),
        ({"token": "x"}, "unknown settings"),
    ]:
        with pytest.raises(Invalid, match=said):
            kind.check_settings(bad)
