"""`redline user` and `redline token` from the command line."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest

from redline.config import Settings
from tests.conftest import CliResult


def test_add_a_user_with_a_random_password_shown_once(
    cli: Callable[..., CliResult], settings: Settings
) -> None:
    added = cli("user", "add", "admin", "--role", "admin", "--random-password")
    assert added.code == 0
    password = added.out.split("Password (shown once, write it down): ")[1].strip()
    assert len(password) >= 20
    again = cli("user", "add", "admin", "--role", "admin", "--random-password", "--if-missing")
    assert again.code == 0 and "Password" not in again.out and "exists already" in again.err
    listed = json.loads(cli("user", "list", "--json").out)
    assert [(u["username"], u["role"], u["disabled"]) for u in listed] == [
        ("admin", "admin", False)
    ]
    assert password not in json.dumps(listed)


def test_password_from_stdin_and_usage_errors(
    cli: Callable[..., CliResult], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli("user", "add", "alice", "--password-stdin").code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    short = cli("user", "add", "bob", "--password-stdin")
    assert short.code == 2 and "password too short" in short.err
    assert len(short.err.strip().splitlines()) == 1
    role = cli("user", "add", "carol", "--role", "boss", "--random-password")
    assert role.code == 2 and "unknown role" in role.err
    taken = cli("user", "add", "alice", "--random-password")
    assert taken.code == 1 and "exists already" in taken.err
    assert cli("user", "disable", "nobody").code == 1
    assert cli("user", "disable", "alice").code == 0
    assert json.loads(cli("user", "list", "--json").out)[0]["disabled"] is True


def test_tokens_are_printed_once_listed_without_secret_and_revoked(
    cli: Callable[..., CliResult], settings: Settings
) -> None:
    assert cli("user", "add", "bot", "--random-password").code == 0
    created = cli(
        "token",
        "create",
        "--user",
        "bot",
        "--name",
        "sync",
        "--scope",
        "cases:read",
        "--scope",
        "banks:read",
    )
    assert created.code == 0
    secret = created.out.strip()
    assert secret.startswith("rl_")
    listed = json.loads(cli("token", "list", "--json").out)
    assert listed[0]["scopes"] == ["banks:read", "cases:read"] and secret not in json.dumps(listed)
    assert cli("token", "revoke", str(listed[0]["id"])).code == 0
    assert cli("token", "revoke", str(listed[0]["id"])).code == 1
    bad = cli("token", "create", "--user", "bot", "--name", "x", "--scope", "all")
    assert bad.code == 2 and "unknown or no scopes" in bad.err


def test_weak_passwords_are_refused_and_random_ones_are_strong(
    cli: Callable[..., CliResult], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zxcvbn import zxcvbn

    monkeypatch.setattr("sys.stdin", io.StringIO("password1234\n"))
    weak = cli("user", "add", "boss", "--role", "admin", "--password-stdin")
    assert weak.code == 2 and "password too weak for an admin" in weak.err
    assert "very common password" in weak.err and len(weak.err.strip().splitlines()) == 1
    for _ in range(20):  # every generated password is an admin's: the strictest score
        made = (
            cli("user", "passwd", "alice", "--random-password")
            if _
            else cli("user", "add", "alice", "--role", "admin", "--random-password")
        )
        assert made.code == 0, made.err
        password = made.out.split("Password (shown once, write it down): ")[1].strip()
        assert zxcvbn(password)["score"] == 4
    monkeypatch.setattr("sys.stdin", io.StringIO("password1234\n"))
    refused = cli("user", "passwd", "alice", "--password-stdin")
    assert refused.code == 2 and "too weak" in refused.err
