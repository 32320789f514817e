"""The ThreatExchange client against a local Graph API (on SQLite and PostgreSQL): a privacy
group's ``threat_updates`` fetched page by page through ``paging.next``, then incrementally from
the checkpoint; deletes, owners' NON_MALICIOUS and unknown indicator types; a 500 retried; a
malformed page, a failing source and a next page on another host refused with the reason
recorded and nothing stored; reviewer feedback as reactions; the token never shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import Engine, select, text

from redline.banks import manage as banks
from redline.config import get_settings
from redline.errors import Invalid
from redline.exchanges import fetching, run
from redline.exchanges.base import Feedback, TakesFeedback
from redline.exchanges.threatexchange import FIELDS, ThreatExchange
from redline.model import BankEntry, BankSignal, Exchange, ExchangeEntry
from tests.exchanges.local_http import JsonHandler, serving
from tests.helpers import only_on

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TOKEN = "1234567890|s3cr3tAppTokenValue_abcdef"
GROUP = "303636684709969"
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"
MD5_A, MD5_B = "a" * 32, "b" * 32
TMK = "0" * 256  # a TMK+PDQF hash is long binary; redline has no signal for it


def descriptor(
    number: int, tags: list[str], status: str = "MALICIOUS", owner: int | None = 494491891138576
) -> dict[str, Any]:
    """One owner's opinion, as threat_updates nests it under ``descriptors``."""
    found: dict[str, Any] = {
        "id": str(number),
        "status": status,
        "tags": tags,
        "reactions": [{"key": "HELPFUL", "value": "111,222"}],
    }
    if owner is not None:
        found["owner"] = {"id": str(owner)}
    return found


def update(
    number: int,
    kind: str,
    indicator: str,
    when: int,
    descriptors: list[dict[str, Any]] | None = None,
    *,
    delete: bool = False,
) -> dict[str, Any]:
    """One indicator as ``/threat_updates`` answers it."""
    found: dict[str, Any] = {
        "id": str(number),
        "indicator": indicator,
        "type": kind,
        "last_updated": when,
        "should_delete": delete,
    }
    if descriptors is not None:
        found["descriptors"] = {"data": descriptors}
    return found


class GraphApi:
    """The Graph API's threat_updates of one privacy group, two updates a page, its next URL
    with an ``after`` cursor as Graph writes them; and an indicator's descriptors and reactions
    to them."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, list[str]], bytes]] = []
        self.statuses: list[int] = []  # answered first, one a request, before the real answer
        self.malformed_page: int | None = None
        self.next_host: str | None = None
        self.page = 2
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}/v21.0"

    def _handler(self) -> type[JsonHandler]:
        api = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                api.requests.append(("GET", parts.path, query, b""))
                if api.statuses:
                    self._answer(api.statuses.pop(0), {"error": {"message": "try again"}})
                    return
                if query.get("access_token") != [TOKEN]:
                    self._answer(400, {"error": {"message": "Invalid OAuth access token"}})
                    return
                if parts.path == f"/v21.0/{GROUP}/threat_updates/":
                    self._answer(200, api.threat_updates(query))
                elif parts.path.startswith("/v21.0/") and parts.path.count("/") == 3:
                    number = parts.path.split("/")[2]
                    found = next((u for u in api.updates if u["id"] == number), None)
                    self._answer(200, {"id": number, "descriptors": found["descriptors"]})
                else:
                    self._answer(404, {"error": {"message": "Unknown path"}})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                api.requests.append(("POST", parts.path, parse_qs(parts.query), body))
                self._answer(200, {"success": True})

        return Handler

    def threat_updates(self, query: dict[str, list[str]]) -> dict[str, Any]:
        start = int(query.get("start_time", ["0"])[0])
        stop = int(query["stop_time"][0])
        window = [u for u in self.updates if start <= u["last_updated"] <= stop]
        window.sort(key=lambda u: u["last_updated"])
        offset = int(query.get("after", ["0"])[0])
        number = offset // self.page + 1
        page: dict[str, Any] = {"data": window[offset : offset + self.page]}
        if number == self.malformed_page:
            page = {"data": {"not": "a list"}}
        if offset + self.page < len(window):
            asked = {k: v[0] for k, v in query.items()}
            host = self.next_host or self.base
            following = f"{host}/{GROUP}/threat_updates/?" + urlencode(
                {**asked, "after": offset + self.page}
            )
            page["paging"] = {"cursors": {"after": str(offset + self.page)}, "next": following}
        return page

    def pages_asked(self) -> list[dict[str, list[str]]]:
        return [q for method, path, q, _ in self.requests if path.endswith("/threat_updates/")]


@pytest.fixture
def graph() -> Iterator[GraphApi]:
    api = GraphApi()
    with serving(api.server):
        yield api


@pytest.fixture
def exchange(engine: Engine, graph: GraphApi, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(fetching, "BACKOFF", 0.01)
    with engine.begin() as connection:
        banks.create_bank(connection, "te", actor="lead", now=NOW)
        run.add_exchange(
            connection,
            "te-tvec",
            "te",
            "threatexchange",
            {
                "privacy_group": GROUP,
                "token": TOKEN,
                "graph_url": graph.base,
                "allow_private": True,
            },
            actor="lead",
            now=NOW,
        )
    return engine


def fetch(engine: Engine) -> run.FetchOutcome:
    with engine.begin() as connection:
        return run.fetch(connection, "te-tvec", NOW)


def entries(engine: Engine) -> dict[str, dict[str, Any]]:
    """The bank's entries by their indicator id at ThreatExchange."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ExchangeEntry.remote_id,
                BankEntry.id,
                BankEntry.enabled,
                BankEntry.category,
                BankEntry.tags,
                BankEntry.source_org,
            ).join(BankEntry, BankEntry.id == ExchangeEntry.entry_id)
        ).all()
        signals = connection.execute(select(BankSignal.entry_id, BankSignal.signal_type)).all()
    kinds = {entry_id: kind for entry_id, kind in signals}
    return {
        r.remote_id: {
            "enabled": r.enabled,
            "category": r.category,
            "tags": r.tags,
            "source_org": r.source_org,
            "signal": kinds.get(r.id),
        }
        for r in rows
    }


def seed(graph: GraphApi) -> None:
    graph.updates = [
        update(
            1,
            "HASH_PDQ",
            PDQ_A,
            1_700_000_001,
            [descriptor(11, ["glorification_of_terrorist_acts"])],
        ),
        update(2, "HASH_MD5", MD5_A, 1_700_000_002, [descriptor(21, ["Content Incident"])]),
        update(3, "HASH_TMK", TMK, 1_700_000_003, [descriptor(31, [])]),
        update(4, "HASH_VIDEO_MD5", MD5_B, 1_700_000_004, [descriptor(41, ["recruitment"])]),
        update(5, "URI", "https://example.org/x", 1_700_000_005, [descriptor(51, [])]),
        # every owner says it is not malicious: not banked
        update(6, "HASH_PDQ", PDQ_B, 1_700_000_006, [descriptor(61, [], "NON_MALICIOUS")]),
        # a tombstone for an indicator never seen here
        update(7, "HASH_PDQ", PDQ_B, 1_700_000_007, None, delete=True),
    ]


def test_a_first_fetch_reads_every_page_and_banks_what_redline_can_match(
    exchange: Engine, graph: GraphApi
) -> None:
    seed(graph)
    done = fetch(exchange)
    assert done.error is None
    assert (done.added, done.removed, done.quarantined) == (3, 0, 0)
    assert done.skipped == {
        "type HASH_TMK (no redline signal)": 1,
        "type URI (no redline signal)": 1,
    }
    found = entries(exchange)
    assert set(found) == {"1", "2", "4"}
    assert found["1"]["signal"] == "pdq"
    assert found["1"]["category"] == "support_glorification"
    assert found["1"]["tags"] == "te:glorification_of_terrorist_acts"
    assert found["2"] == {
        "enabled": True,
        "category": "other_tvec",
        "tags": "te:content_incident",
        "source_org": f"ThreatExchange privacy group {GROUP}",
        "signal": "md5",
    }
    assert found["4"]["signal"] == "video_md5" and found["4"]["category"] == "recruitment"
    asked = graph.pages_asked()
    assert len(asked) == 4  # seven updates, two a page
    first = asked[0]
    assert first["fields"] == [FIELDS] and first["access_token"] == [TOKEN]
    assert "start_time" not in first and first["limit"] == ["500"]
    assert [q.get("after") for q in asked] == [None, ["2"], ["4"], ["6"]]
    # every page asks the same window (stop_time), and the checkpoint is its end
    assert {q["stop_time"][0] for q in asked} == {done.checkpoint}
    with exchange.connect() as connection:
        status = run.get_exchange(connection, "te-tvec")
    assert status.added == 3 and status.last_error is None
    assert status.settings["token"] == run.HIDDEN


def test_the_next_fetch_asks_from_the_checkpoint_and_applies_relabels_and_deletes(
    exchange: Engine, graph: GraphApi
) -> None:
    seed(graph)
    first = fetch(exchange)
    assert first.checkpoint is not None
    later = int(first.checkpoint)
    graph.updates = [
        update(
            1,
            "HASH_PDQ",
            PDQ_A,
            later,
            [
                descriptor(11, ["imminent_credible_threat"]),
                descriptor(12, ["ignored"], "NON_MALICIOUS"),
            ],
        ),
        update(2, "HASH_MD5", MD5_A, later, None, delete=True),
    ]
    graph.requests.clear()
    # the checkpoint's second itself is asked again: start_time is inclusive
    done = fetch(exchange)
    (asked,) = graph.pages_asked()
    assert asked["start_time"] == [first.checkpoint]
    assert (done.added, done.relabelled, done.removed) == (0, 1, 1)
    found = entries(exchange)
    assert found["1"]["category"] == "threat_incitement"
    assert found["1"]["tags"] == "te:imminent_credible_threat"
    assert found["2"]["enabled"] is False
    again = fetch(exchange)  # the same window again changes nothing
    assert (again.added, again.relabelled, again.removed) == (0, 0, 0)


def test_a_500_is_retried(exchange: Engine, graph: GraphApi) -> None:
    seed(graph)
    graph.statuses = [500, 503]
    done = fetch(exchange)
    assert done.error is None and done.added == 3
    assert len(graph.pages_asked()) == 6  # two refused, then four pages


def test_a_source_that_keeps_failing_is_refused_with_nothing_stored(
    exchange: Engine, graph: GraphApi
) -> None:
    seed(graph)
    graph.statuses = [500] * 5
    done = fetch(exchange)
    assert done.error == "threat_updates page 1: the source answered HTTP 500 after 5 tries"
    assert entries(exchange) == {}
    with exchange.connect() as connection:
        status = run.get_exchange(connection, "te-tvec")
    assert status.checkpoint is None and status.last_error == done.error


def test_a_malformed_page_refuses_the_whole_fetch(exchange: Engine, graph: GraphApi) -> None:
    seed(graph)
    graph.malformed_page = 2
    done = fetch(exchange)
    assert done.error == "threat_updates page 2 is malformed: no list of updates (data)"
    assert entries(exchange) == {}  # page 1 was fine, and is not stored either
    with exchange.connect() as connection:
        status = run.get_exchange(connection, "te-tvec")
    assert status.checkpoint is None and status.added == 0
    assert status.last_error == done.error and status.tried_at is not None
    graph.malformed_page = None
    assert fetch(exchange).added == 3  # the next fetch asks for the same updates again


def test_a_next_page_on_another_host_is_refused_without_showing_the_token(
    exchange: Engine, graph: GraphApi
) -> None:
    seed(graph)
    graph.next_host = "http://collector.example/v21.0"
    done = fetch(exchange)
    assert (
        done.error
        == "threat_updates page 1 points its next page to another host: collector.example"
    )
    assert entries(exchange) == {}


def test_secrets_are_hidden_in_reasons_however_a_url_writes_them() -> None:
    reason = f"GET http://x/?access_token=1234567890%7Cs3cr3tAppTokenValue_abcdef: {TOKEN}"
    assert fetching.hide(reason, [TOKEN]) == "GET http://x/?access_token=(hidden): (hidden)"


def test_an_update_without_a_type_is_malformed(exchange: Engine, graph: GraphApi) -> None:
    graph.updates = [{"id": "9", "indicator": PDQ_A, "last_updated": 1_700_000_000}]
    done = fetch(exchange)
    assert done.error == (
        "threat_updates page 1, update 1 (id 9) is malformed: no type or indicator"
    )


@only_on("sqlite")
def test_feedback_reacts_on_every_descriptor_of_the_indicator(
    exchange: Engine, graph: GraphApi
) -> None:
    graph.updates = [
        update(1, "HASH_PDQ", PDQ_A, 1_700_000_001, [descriptor(11, []), descriptor(12, [])]),
        # one shown without its owner (ThreatExchange's visibility bug): not reacted to
        update(2, "HASH_PDQ", PDQ_B, 1_700_000_002, [descriptor(21, [], owner=None)]),
    ]
    with exchange.connect() as connection:
        settings = connection.execute(select(Exchange.settings)).scalar_one()
    kind = ThreatExchange()
    assert kind.report(settings, "1", confirmed=False) == 2
    assert kind.report(settings, "2", confirmed=True) == 0
    posts = [(path, body) for method, path, _, body in graph.requests if method == "POST"]
    assert posts == [
        ("/v21.0/11/", b"reactions=DISAGREE_WITH_TAGS"),
        ("/v21.0/12/", b"reactions=DISAGREE_WITH_TAGS"),
    ]
    # As the scheduler's round gives reviewers' decisions to it (exchanges.run.send_feedback).
    assert isinstance(kind, TakesFeedback)
    graph.requests.clear()
    kind.report_feedback(settings, [Feedback("1", "confirm"), Feedback("2", "deconfirm")])
    posts = [(path, body) for method, path, _, body in graph.requests if method == "POST"]
    assert posts == [("/v21.0/11/", b"reactions=HELPFUL"), ("/v21.0/12/", b"reactions=HELPFUL")]


def test_settings_are_checked() -> None:
    kind = ThreatExchange()
    good = {"privacy_group": GROUP, "token": TOKEN}
    assert kind.check_settings(good)["graph_url"] == "https://graph.facebook.com/v21.0"
    for bad, said in [
        ({"token": TOKEN}, "privacy_group must be"),
        ({**good, "privacy_group": "abc"}, "privacy_group must be"),
        ({**good, "token": "no-bar"}, "app access token"),
        ({**good, "token": "x|y"}, "app access token"),
        ({**good, "graph_url": "ftp://x"}, "graph_url must be"),
        ({**good, "cursor": "1"}, "unknown settings"),
    ]:
        with pytest.raises(Invalid, match=said):
            kind.check_settings(bad)


def test_the_cli_fetch_says_what_it_skipped(exchange: Engine, graph: GraphApi, cli: Any) -> None:
    seed(graph)
    done = cli("exchange", "fetch", "te-tvec")
    assert done.code == 0, done.err
    assert "te-tvec: added 3, relabelled 0, removed 0, quarantined 0" in done.out
    assert "te-tvec: skipped 1 of type HASH_TMK (no redline signal)" in done.out
    assert "te-tvec: skipped 1 of type URI (no redline signal)" in done.out
    graph.statuses = [502] * 5
    refused = cli("exchange", "fetch", "te-tvec")
    assert refused.code == 1
    said = " ".join(refused.err.split())  # the terminal wraps long lines
    assert "refused, nothing stored: threat_updates page 1: the source answered HTTP 502" in said


def test_with_a_secret_key_the_token_is_sealed_in_the_database_and_still_used(
    sealing_key: str, exchange: Engine, graph: GraphApi
) -> None:
    """REDLINE_SECRET_KEY set: the exchange's settings are sealed as a whole (``model.sealed``),
    so a copy of the database does not give the organisation's ThreatExchange token away; the
    fetch still sends it, and listings still hide it."""
    with exchange.connect() as connection:
        stored = str(connection.execute(text("SELECT settings FROM exchanges")).scalar())
    assert "sealed:v1:" in stored
    assert TOKEN not in stored and GROUP not in stored
    seed(graph)
    done = fetch(exchange)
    assert done.error is None and done.added == 3
    assert graph.pages_asked()[0]["access_token"] == [TOKEN]
    with exchange.connect() as connection:
        status = run.get_exchange(connection, "te-tvec")
    assert status.settings["token"] == run.HIDDEN and status.settings["privacy_group"] == GROUP


def test_settings_stored_before_the_key_are_sealed_by_the_command(
    exchange: Engine, graph: GraphApi, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stored() -> str:
        with exchange.connect() as connection:
            return str(connection.execute(text("SELECT settings FROM exchanges")).scalar())

    assert TOKEN in stored()  # no key when the exchange was added
    monkeypatch.setenv("REDLINE_SECRET_KEY", "the deployment's passphrase, set after the fact")
    get_settings.cache_clear()
    done = cli("db", "seal-secrets", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["exchange_settings"] == 1
    assert "sealed:v1:" in stored() and TOKEN not in stored()
    seed(graph)
    assert fetch(exchange).added == 3
    assert graph.pages_asked()[0]["access_token"] == [TOKEN]
