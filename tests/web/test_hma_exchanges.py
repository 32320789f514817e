"""HMA 2.0's exchange routes as its clients call them (on SQLite and PostgreSQL): the list of
exchange names, the APIs, one exchange's configuration and its fetch status with HMA's
``FetchStatus`` fields; unknown names 404; the same token rules as the other ``/c`` routes; and
never a token or password in any answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from redline.banks import create_bank
from redline.exchanges import run
from redline.review.accounts import add_user
from redline.review.tokens import create_token

if TYPE_CHECKING:
    from tests.web.conftest import ClientFactory

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TE_TOKEN = "1234567890|te-secret-app-token-value"
TAT_PASSWORD = "tat-secret-password"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def seed(client: TestClient, folder: Path) -> None:
    """A ThreatExchange subscription never fetched, a TAT API one whose fetch was refused, and
    a TAT file one fetched once."""
    listed = folder / "tat.json"
    entries = [
        {"id": 1, "hash_digest": PDQ, "algorithm": "PDQ", "ideology": "islamist",
         "file_type": "jpg", "deleted": False, "updated_on": 1_764_000_001},
        {"id": 2, "hash_digest": "a" * 32, "algorithm": "MD5", "ideology": "far-right",
         "file_type": "mp4", "deleted": True, "updated_on": 1_764_000_002},
        {"id": 3, "hash_digest": "b" * 40, "algorithm": "SHA1", "ideology": "islamist",
         "file_type": "png", "deleted": False, "updated_on": 1_764_000_003},
    ]  # fmt: skip
    listed.write_text(json.dumps({"results": entries}))
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        create_bank(connection, "SHARED", actor="lead", now=NOW)
        settings: dict[str, dict[str, Any]] = {
            "te-tvec": {"kind": "threatexchange", "privacy_group": "303636684709969",
                        "token": TE_TOKEN},
            "tat-api": {"kind": "tat", "username": "me@example.org", "password": TAT_PASSWORD,
                        "api_url": "http://127.0.0.1:9/", "allow_private": True},
            "tat-file": {"kind": "tat", "path": str(listed)},
        }  # fmt: skip
        for name, given in settings.items():
            kind = given.pop("kind")
            run.add_exchange(connection, name, "SHARED", kind, given, actor="lead", now=NOW)
    for name in ("tat-api", "tat-file"):
        with engine.begin() as connection:
            run.fetch(connection, name, NOW)


def test_hma_clients_list_and_read_exchanges(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/hma/c/exchanges").json() == []
    seed(client, tmp_path)
    assert client.get("/hma/c/exchanges").json() == ["tat-api", "tat-file", "te-tvec"]
    assert client.get("/hma/c/exchanges/apis").json() == [
        "fb_threatexchange",
        "redline",
        "signed-list",
        "tat",
    ]
    assert client.get("/hma/c/exchange/te-tvec").json() == {
        "name": "te-tvec",
        "api": "fb_threatexchange",
        "enabled": True,
        "bank": "SHARED",
        "privacy_group": "303636684709969",
        "graph_url": "https://graph.facebook.com/v21.0",
        "allow_private": False,
    }
    never = client.get("/hma/c/exchange/te-tvec/status").json()
    assert never == {
        "checkpoint_ts": None,
        "running_fetch_start_ts": None,
        "last_fetch_complete_ts": None,
        "last_fetch_succeeded": None,
        "up_to_date": False,
        "fetched_items": 0,
        "checkpoint": None,
        "last_fetch_ts": None,
        "last_error": None,
        "added": 0,
        "relabelled": 0,
        "removed": 0,
    }
    fetched = client.get("/hma/c/exchange/tat-file/status").json()
    assert fetched["checkpoint_ts"] == 1_764_000_003 and fetched["checkpoint"] == "1764000003.0"
    assert fetched["last_fetch_complete_ts"] == int(NOW.timestamp())
    assert fetched["last_fetch_succeeded"] is True and fetched["up_to_date"] is True
    assert (fetched["fetched_items"], fetched["added"], fetched["removed"]) == (1, 1, 0)
    refused = client.get("/hma/c/exchange/tat-api/status").json()
    assert refused["last_fetch_succeeded"] is False and refused["up_to_date"] is False
    assert refused["last_error"].startswith("fetching TAT's token endpoint failed")
    assert refused["checkpoint_ts"] is None and refused["fetched_items"] == 0
    everything = "".join(
        client.get(path).text
        for name in ("te-tvec", "tat-api", "tat-file")
        for path in (f"/hma/c/exchange/{name}", f"/hma/c/exchange/{name}/status")
    )
    assert TE_TOKEN not in everything and TAT_PASSWORD not in everything
    assert "(hidden)" not in everything and "password" not in everything


def test_unknown_exchanges_are_404_in_hmas_shape(client: TestClient) -> None:
    for name in ("NOPE", "bad name", "x" * 300, "nul%00"):
        for path in (f"/hma/c/exchange/{name}", f"/hma/c/exchange/{name}/status"):
            response = client.get(path)
            assert response.status_code == 404, path
            said = name.replace("%00", "\x00")
            assert response.json() == {"message": f"Exchange '{said}' not found"}


def test_the_same_tokens_as_the_other_curation_routes(make_client: ClientFactory) -> None:
    client = make_client()
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.engine.begin() as connection:
        add_user(connection, "ops", "lead", "amber lantern over quiet ferry", "test")
        reads_items = create_token(connection, "ops", "items", ["items:write"], "test")
    bare = TestClient(client.app)
    assert bare.get("/hma/c/exchanges").status_code == 401
    wrong = {"Authorization": f"Bearer {reads_items}"}
    assert bare.get("/hma/c/exchanges", headers=wrong).status_code == 403
    assert bare.get("/hma/c/exchanges", headers=client.headers).status_code == 200
    assert make_client(hma_auth=False).get("/hma/c/exchanges").status_code == 200
