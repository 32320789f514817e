"""`redline exchange`: usage errors are one line and exit code 2; list and status as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from redline.banks import create_bank
from redline.exchanges import signing
from redline.model.base import utcnow
from tests.conftest import CliResult

URL = "https://redline.partner.example/api/v1/feeds/tvec"
KEY = signing.public_text(Ed25519PrivateKey.generate())


def test_usage_errors_exit_2_with_one_line(engine: Engine, cli: Callable[..., CliResult]) -> None:
    with engine.begin() as connection:
        create_bank(connection, "shared", actor="lead", now=utcnow())
    good = ["--url", URL, "--token", "rl_x", "--public-key", KEY]
    to_shared = ["add", "p", "--bank", "shared"]
    bad_key = ["--url", URL, "--token", "rl_x", "--public-key", "ed25519:AAAA"]
    bad_url = ["--url", "ftp://x/y", "--token", "rl_x", "--public-key", KEY]
    for args, said in [
        (["add", "p", "--bank", "nope", *good], "no bank called 'nope'"),
        ([*to_shared, *bad_key], "not an Ed25519 public key"),
        ([*to_shared, *bad_url], "the feed URL must be"),
        ([*to_shared, "--type", "gossip", *good], "unknown exchange 'gossip'"),
        (to_shared, "the feed URL must be"),
        ([*to_shared, "--kind", "threatexchange", "--token", "1|x"], "privacy_group must be"),
        ([*to_shared, "--kind", "tat", "--username", "u"], "needs a username and password"),
        (["status", "nope"], "no exchange called 'nope'"),
        (["fetch", "nope"], "no exchange called 'nope'"),
    ]:
        result = cli("exchange", *args)
        assert result.code == 2, (args, result.err)
        assert said in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert cli("exchange", "add", "p", "--bank", "shared", *good).code == 0
    taken = cli("exchange", "add", "p", "--bank", "shared", *good)
    assert taken.code == 2 and "already exists" in taken.err


def test_list_and_status_as_json_never_show_the_token(
    engine: Engine, cli: Callable[..., CliResult]
) -> None:
    with engine.begin() as connection:
        create_bank(connection, "shared", actor="lead", now=utcnow())
    args = ["--url", URL, "--token", "rl_secret_value", "--public-key", KEY]
    assert cli("exchange", "add", "p", "--bank", "shared", *args).code == 0
    listed = cli("exchange", "list", "--json")
    status = cli("exchange", "status", "p", "--json")
    assert "rl_secret_value" not in listed.out + status.out
    (one,) = json.loads(listed.out)
    assert json.loads(status.out) == one
    assert one["bank"] == "shared" and one["kind"] == "redline"
    assert one["settings"] == {
        "url": URL,
        "token": "(hidden)",
        "public_key": KEY,
        "allow_private": False,
    }
    assert (one["checkpoint"], one["fetched_at"], one["last_error"]) == (None, None, None)
    assert "never" in cli("exchange", "list").out


def test_threatexchange_and_tat_are_added_with_their_own_options(
    engine: Engine, cli: Callable[..., CliResult]
) -> None:
    with engine.begin() as connection:
        create_bank(connection, "te", actor="lead", now=utcnow())
    te = ["--kind", "threatexchange", "--privacy-group", "303636684709969"]
    added = cli("exchange", "add", "te", "--bank", "te", *te, "--token", "1234|te-secret", "--json")
    assert added.code == 0, added.err
    assert json.loads(added.out)["settings"] == {
        "privacy_group": "303636684709969",
        "token": "(hidden)",
        "graph_url": "https://graph.facebook.com/v21.0",
        "allow_private": False,
    }
    tat = ["--kind", "tat", "--username", "me@example.org", "--password", "tat-secret"]
    assert cli("exchange", "add", "tat", "--bank", "te", *tat).code == 0
    listed = cli("exchange", "list", "--json").out
    assert "te-secret" not in listed and "tat-secret" not in listed
    assert [e["kind"] for e in json.loads(listed)] == ["tat", "threatexchange"]
