"""A signed hash list between organisations (on SQLite and PostgreSQL): the publisher signs a
list file with `redline exchange sign`, the subscriber reads it from a file or over HTTP into a
bank, with each change (added, relabelled, withdrawn) arriving once; a list altered after it
was signed, signed by another key or not signed at all is refused with its reason and nothing
of it stored."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from redline.banks import create_bank
from redline.config import Settings
from redline.exchanges import run, signedlist, signing
from redline.model import Bank, BankEntry
from redline.model.base import utcnow
from tests.conftest import CliResult
from tests.exchanges.local_http import serving

PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c"
MD5_A = "a" * 32


def listed(*entries: dict[str, Any]) -> bytes:
    document = {"format": signedlist.FORMAT, "organisation": "Example NGO", "entries": entries}
    return json.dumps(document, indent=1).encode()


FIRST = listed(
    {"id": "e1", "signals": {"pdq": [PDQ_A]}, "labels": ["Glorification of Terrorist Acts"]},
    {"id": "e2", "signals": {"md5": [MD5_A]}, "labels": ["branded_terrorist_publication"]},
    {"id": "e3", "signals": {"tmk": ["00ff"]}},  # a hash redline has no signal for
)
SECOND = listed(
    {"id": "e1", "signals": {"pdq": [PDQ_A]}, "labels": ["Imminent Credible Threat"]},
    {"id": "e2", "signals": {"md5": [MD5_A]}, "deleted": True},
    {"id": "e3", "signals": {"tmk": ["00ff"]}},
    {"id": "e4", "signals": {"pdq": [PDQ_B]}},
)


def entries(engine: Engine) -> dict[str, tuple[bool, str | None, str | None]]:
    """The bank's entries by hash: (enabled, category, tags)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(BankEntry.id, BankEntry.enabled, BankEntry.category, BankEntry.tags)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Bank.name == "shared")
        ).all()
    return {str(row.id): (row.enabled, row.category, row.tags) for row in rows}


@pytest.fixture
def publisher(cli: Callable[..., CliResult], tmp_path: Path, engine: Engine) -> Path:
    """This instance's key (the publisher's) and the first list, signed, in a folder; a bank
    ``shared`` to subscribe."""
    made = cli("exchange", "key")
    assert made.code == 0 and made.out.startswith("ed25519:"), made.err
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "list.json").write_bytes(FIRST)
    signed = cli("exchange", "sign", str(folder / "list.json"))
    assert signed.code == 0, signed.err
    with engine.begin() as connection:
        create_bank(connection, "shared", actor="lead", now=utcnow())
    return folder


def fetch(cli: Callable[..., CliResult]) -> CliResult:
    return cli("exchange", "fetch", "ngo")


def test_a_signed_list_file_arrives_change_by_change_and_an_altered_one_is_refused(
    cli: Callable[..., CliResult], engine: Engine, publisher: Path
) -> None:
    key = cli("exchange", "key").out.strip()
    path = str(publisher / "list.json")
    added = cli(
        "exchange",
        "add",
        "ngo",
        "--bank",
        "shared",
        "--kind",
        "signed-list",
        "--path",
        path,
        "--public-key",
        key,
    )
    assert added.code == 0, added.err
    first = fetch(cli)
    assert first.code == 0, first.err
    with engine.connect() as connection:
        status = run.get_exchange(connection, "ngo")
    assert (status.added, status.relabelled, status.removed) == (2, 0, 0)
    stored = sorted(entries(engine).values())
    assert stored == [
        (True, "official_media_distribution", "example_ngo:branded_terrorist_publication"),
        (True, "support_glorification", "example_ngo:glorification_of_terrorist_acts"),
    ]
    assert "tmk" in first.out  # skipped, and said so
    checkpoint = status.checkpoint

    # Unchanged: nothing read again.
    again = fetch(cli)
    assert again.code == 0
    with engine.connect() as connection:
        assert run.get_exchange(connection, "ngo").checkpoint == checkpoint
    assert sorted(entries(engine).values()) == stored

    # Relabelled, withdrawn and added, signed again.
    (publisher / "list.json").write_bytes(SECOND)
    assert cli("exchange", "sign", path).code == 0
    second = fetch(cli)
    assert second.code == 0, second.err
    with engine.connect() as connection:
        status = run.get_exchange(connection, "ngo")
    assert (status.added, status.relabelled, status.removed) == (3, 1, 1)
    now_stored = sorted(entries(engine).values(), key=str)
    assert (True, "threat_incitement", "example_ngo:imminent_credible_threat") in now_stored
    assert (False, "official_media_distribution", "example_ngo:branded_terrorist_publication") in (
        now_stored
    )
    assert (True, None, None) in now_stored  # e4, no labels: no category guessed
    before = entries(engine)

    # One byte changed after signing: refused, the reason kept, nothing stored.
    tampered = SECOND.replace(b'"e4"', b'"e5"')
    (publisher / "list.json").write_bytes(tampered)
    refused = fetch(cli)
    assert refused.code == 1
    with engine.connect() as connection:
        status = run.get_exchange(connection, "ngo")
    assert status.last_error is not None and "signature does not match" in status.last_error
    assert entries(engine) == before

    # Signed by another key: refused the same way.
    other = Ed25519PrivateKey.generate()
    (publisher / "list.json.sig").write_text(signing.sign(other, tampered))
    assert fetch(cli).code == 1
    assert entries(engine) == before

    # No signature at all.
    (publisher / "list.json.sig").unlink()
    assert fetch(cli).code == 1
    with engine.connect() as connection:
        status = run.get_exchange(connection, "ngo")
    assert status.last_error == "the signed list is not signed: no list.json.sig"
    assert entries(engine) == before


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"not json", "not JSON"),
        (json.dumps({"entries": []}).encode(), "not a redline-signed-list/1 document"),
        (listed({"signals": {"pdq": [PDQ_A]}}), "has no id"),
        (listed({"id": "x", "signals": {}}), "has no signals"),
        (listed({"id": "x", "signals": {"pdq": [PDQ_A]}, "labels": "one"}), "not strings"),
        (listed({"id": "x", "signals": {"pdq": [1]}}), "has no signals"),
        (
            listed({"id": "x", "signals": {"pdq": [PDQ_A]}}, {"id": "x", "signals": {}}),
            "repeats the id",
        ),
    ],
)
def test_a_list_subscribers_would_refuse_is_not_signed(
    cli: Callable[..., CliResult], settings: Settings, tmp_path: Path, body: bytes, said: str
) -> None:
    assert cli("exchange", "key").code == 0
    bad = tmp_path / "bad.json"
    bad.write_bytes(body)
    result = cli("exchange", "sign", str(bad))
    assert result.code == 2 and said in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "bad.json.sig").exists()


@pytest.fixture
def served(publisher: Path) -> Iterator[str]:
    """The publisher's folder on a local web server."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(publisher))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/list.json"


def test_a_signed_list_is_read_over_http_and_only_with_its_signature(
    cli: Callable[..., CliResult], engine: Engine, publisher: Path, served: str
) -> None:
    key = cli("exchange", "key").out.strip()
    added = cli(
        "exchange",
        "add",
        "ngo",
        "--bank",
        "shared",
        "--kind",
        "signed-list",
        "--url",
        served,
        "--public-key",
        key,
        "--allow-private",
    )
    assert added.code == 0, added.err
    assert fetch(cli).code == 0
    assert len(entries(engine)) == 2
    # The server now serves a list the publisher never signed.
    (publisher / "list.json").write_bytes(SECOND)
    refused = fetch(cli)
    assert refused.code == 1
    with engine.connect() as connection:
        status = run.get_exchange(connection, "ngo")
    assert status.last_error is not None and "signature does not match" in status.last_error
    assert len(entries(engine)) == 2
    # Without --allow-private, a private address is refused before anything is asked.
    private = cli(
        "exchange",
        "add",
        "ngo2",
        "--bank",
        "shared",
        "--kind",
        "signed-list",
        "--url",
        served,
        "--public-key",
        key,
    )
    assert private.code == 0
    blocked = cli("exchange", "fetch", "ngo2")
    assert blocked.code == 1 and "is not public" in blocked.err
